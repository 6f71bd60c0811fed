// The shared response reader: every response must parse the same however
// the server's bytes are split; and what the worker makes of it
// (worker/mesh_response.h): the head must follow the mesh's rules, the
// errors are worded for the 502.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "shared/http_response_reader.h"
#include "worker/mesh_response.h"

namespace {

using upmesh::http::ResponseReader;
using Result = ResponseReader::Result;

constexpr size_t kMaxBytes = 1 << 20;

struct Response {
  int status = 0;
  std::string head;
  std::string body;
  bool keep_alive = false;

  bool operator==(const Response& other) const {
    return status == other.status && head == other.head && body == other.body && keep_alive == other.keep_alive;
  }
};

struct Outcome {
  std::vector<Response> responses;
  bool error = false;
  std::string error_text;

  bool operator==(const Outcome& other) const {
    return responses == other.responses && error == other.error;
  }
};

// Feeds `raw` cut at `cuts` (ascending offsets), restarting the reader after
// each complete response, then signals EOF if `eof_at_end`.
Outcome Parse(const std::string& raw, std::vector<size_t> cuts, bool head_request, bool eof_at_end,
              size_t max_bytes = kMaxBytes) {
  ResponseReader reader;
  reader.Start(head_request, max_bytes);
  Outcome outcome;
  auto take = [&] {
    outcome.responses.push_back(
        {reader.status(), upmesh::worker::MeshResponseHead(reader, "w1"), reader.body(), reader.keep_alive()});
    reader.Start(head_request, max_bytes);
  };
  cuts.push_back(raw.size());
  size_t start = 0;
  for (size_t end : cuts) {
    while (start < end) {
      size_t consumed = 0;
      Result result = reader.Feed(raw.data() + start, end - start, &consumed);
      if (result == Result::kError) {
        outcome.error = true;
        outcome.error_text = upmesh::worker::BackendError(reader);
        return outcome;
      }
      if (result == Result::kIncomplete) REQUIRE(consumed == end - start);
      start += consumed;
      if (result == Result::kComplete) take();
    }
  }
  if (eof_at_end && reader.received_any()) {
    if (reader.FeedEof() == Result::kComplete) {
      take();
    } else {
      outcome.error = true;
      outcome.error_text = upmesh::worker::BackendError(reader);
    }
  }
  return outcome;
}

// Parses whole, then split at every offset and at every pair of offsets;
// every way must give the same outcome. Returns the whole parse.
Outcome ParseEverySplit(const std::string& raw, bool head_request = false, bool eof_at_end = false) {
  Outcome whole = Parse(raw, {}, head_request, eof_at_end);
  for (size_t i = 0; i <= raw.size(); ++i) {
    Outcome split = Parse(raw, {i}, head_request, eof_at_end);
    INFO("split at " << i << " of " << raw.size());
    REQUIRE(split == whole);
  }
  for (size_t i = 1; i < raw.size(); ++i) {
    for (size_t j = i + 1; j < raw.size(); ++j) {
      Outcome split = Parse(raw, {i, j}, head_request, eof_at_end);
      INFO("split at " << i << " and " << j << " of " << raw.size());
      REQUIRE(split == whole);
    }
  }
  return whole;
}

const char kTail[] = "Via: 1.1 upmesh\r\nX-Upmesh-Worker: w1\r\n";

}  // namespace

TEST_CASE("response reader: Content-Length body, hop-by-hop fields removed", "[response_reader]") {
  Outcome outcome = ParseEverySplit(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n"
      "Keep-Alive: timeout=5\r\nX-Backend: b1\r\n\r\nhello");
  REQUIRE(outcome.responses.size() == 1);
  const Response& r = outcome.responses[0];
  CHECK(r.status == 200);
  CHECK(r.body == "hello");
  CHECK(r.keep_alive);
  CHECK(r.head == std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Backend: b1\r\n"
                              "Content-Length: 5\r\n") + kTail);
}

TEST_CASE("response reader: chunked body with extensions and trailers is de-chunked", "[response_reader]") {
  Outcome outcome = ParseEverySplit(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\nX-A: 1\r\n\r\n"
      "5;ext=1\r\nhello\r\n7;foo=\"bar\"\r\n, world\r\n0\r\nX-Checksum: abc\r\n\r\n");
  REQUIRE(outcome.responses.size() == 1);
  const Response& r = outcome.responses[0];
  CHECK(r.body == "hello, world");
  CHECK(r.keep_alive);
  CHECK(r.head == std::string("HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 12\r\n") + kTail);
}

TEST_CASE("response reader: close-delimited body ends at EOF", "[response_reader]") {
  Outcome outcome =
      ParseEverySplit("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", false, true);
  REQUIRE(outcome.responses.size() == 1);
  const Response& r = outcome.responses[0];
  CHECK(r.body == "until the end");
  CHECK_FALSE(r.keep_alive);
  CHECK(r.head == std::string("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n") + kTail);
}

TEST_CASE("response reader: HTTP/1.0 response is not kept alive and becomes 1.1", "[response_reader]") {
  Outcome outcome = ParseEverySplit("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc");
  REQUIRE(outcome.responses.size() == 1);
  CHECK_FALSE(outcome.responses[0].keep_alive);
  // Via names the version received (RFC 9110 7.6.3).
  CHECK(outcome.responses[0].head ==
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nVia: 1.0 upmesh\r\nX-Upmesh-Worker: w1\r\n");
}

TEST_CASE("response reader: our Via entry joins the backend's Via list", "[response_reader]") {
  Outcome outcome = ParseEverySplit(
      "HTTP/1.1 200 OK\r\nVia: 1.0 fred\r\nX-A: 1\r\nVia: 1.1 barney\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(outcome.responses.size() == 1);
  CHECK(outcome.responses[0].head ==
        "HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 0\r\nVia: 1.0 fred, 1.1 barney, 1.1 upmesh\r\n"
        "X-Upmesh-Worker: w1\r\n");
}

TEST_CASE("response reader: status codes outside 100..599 are errors", "[response_reader]") {
  for (const char* status : {"003", "099", "600", "999", "000"}) {
    INFO(status);
    Outcome outcome = ParseEverySplit(std::string("HTTP/1.1 ") + status + " Odd\r\nContent-Length: 0\r\n\r\n");
    CHECK(outcome.error);
    CHECK(outcome.error_text.find("outside 100..599") != std::string::npos);
  }
  for (const char* status : {"100", "599"}) {
    INFO(status);
    Outcome outcome = ParseEverySplit(std::string("HTTP/1.1 ") + status + " Edge\r\nContent-Length: 0\r\n\r\n"
                                      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    CHECK_FALSE(outcome.error);
  }
}

TEST_CASE("response reader: status line without a reason is accepted", "[response_reader]") {
  Outcome outcome = ParseEverySplit("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx");
  REQUIRE(outcome.responses.size() == 1);
  CHECK(outcome.responses[0].head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
}

TEST_CASE("response reader: grammar errors are errors however split", "[response_reader]") {
  std::vector<std::string> bad = {
      "HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",          // bare CR in a value
      "HTTP/1.1 200 OK\r\nX:\r\r\nContent-Length: 0\r\n\r\n",              // bare CR ending a field
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",                               // lone LF
      std::string("HTTP/1.1 200 OK\r\nX: a") + '\0' + "\r\nContent-Length: 0\r\n\r\n",  // NUL
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n",  // space after size
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;a\nabc\r\n0\r\n\r\n",   // LF in an extension
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",     // data without CRLF
      "HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",                     // two spaces
      "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",                     // four digits
      "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",                       // two digits
      "HTTP/1.1 200 OK\r\n X: folded\r\nContent-Length: 0\r\n\r\n",       // obs-fold
  };
  for (const std::string& raw : bad) {
    INFO(raw);
    Outcome outcome = ParseEverySplit(raw, false, true);
    CHECK(outcome.error);
    CHECK(outcome.responses.empty());
  }
}

TEST_CASE("response reader: the size limit counts head bytes exactly, for every split", "[response_reader]") {
  struct Sized {
    std::string raw;
    size_t counted;  // header sections as received plus de-chunked body
  };
  std::string head = "HTTP/1.1 200 OK\r\nX-Pad: 0123456789\r\nContent-Length: 10\r\n\r\n";
  std::string chunked_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string interim = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n";
  std::string empty = "HTTP/1.1 204 No Content\r\nX-Pad: 0123456789\r\n\r\n";
  std::vector<Sized> cases = {
      {head + "abcdefghij", head.size() + 10},
      {chunked_head + "4\r\nabcd\r\n6;x=y\r\nefghij\r\n0\r\n\r\n", chunked_head.size() + 10},
      {interim + head + "abcdefghij", interim.size() + head.size() + 10},
      {empty, empty.size()},
  };
  for (const Sized& c : cases) {
    INFO(c.raw);
    for (size_t limit : {c.counted, c.counted - 1}) {
      Outcome whole = Parse(c.raw, {}, false, false, limit);
      CHECK(whole.error == (limit < c.counted));
      for (size_t i = 0; i <= c.raw.size(); ++i) {
        INFO("limit " << limit << ", split at " << i);
        REQUIRE(Parse(c.raw, {i}, false, false, limit) == whole);
      }
    }
  }
}

TEST_CASE("response reader: HEAD response has no body and keeps its Content-Length", "[response_reader]") {
  Outcome outcome = ParseEverySplit(
      "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: text/html\r\n\r\n", /*head_request=*/true);
  REQUIRE(outcome.responses.size() == 1);
  const Response& r = outcome.responses[0];
  CHECK(r.body.empty());
  CHECK(r.keep_alive);
  CHECK(r.head == std::string("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1234\r\n") + kTail);

  // Chunked framing announced to a HEAD request: still no body follows.
  Outcome chunked =
      ParseEverySplit("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", /*head_request=*/true);
  REQUIRE(chunked.responses.size() == 1);
  CHECK(chunked.responses[0].head == std::string("HTTP/1.1 200 OK\r\n") + kTail);
}

TEST_CASE("response reader: 204 has no body and no Content-Length", "[response_reader]") {
  Outcome outcome = ParseEverySplit("HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n");
  REQUIRE(outcome.responses.size() == 1);
  CHECK(outcome.responses[0].status == 204);
  CHECK(outcome.responses[0].keep_alive);
  CHECK(outcome.responses[0].head == std::string("HTTP/1.1 204 No Content\r\nX-A: b\r\n") + kTail);
}

TEST_CASE("response reader: 304 has no body and passes Content-Length through", "[response_reader]") {
  Outcome outcome = ParseEverySplit("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n\r\n");
  REQUIRE(outcome.responses.size() == 1);
  CHECK(outcome.responses[0].body.empty());
  CHECK(outcome.responses[0].keep_alive);
  CHECK(outcome.responses[0].head ==
        std::string("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 99\r\n") + kTail);
}

TEST_CASE("response reader: interim 1xx responses are skipped", "[response_reader]") {
  Outcome outcome = ParseEverySplit(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  REQUIRE(outcome.responses.size() == 1);
  CHECK(outcome.responses[0].status == 200);
  CHECK(outcome.responses[0].body == "ok");
  CHECK(outcome.responses[0].head == std::string("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n") + kTail);
}

TEST_CASE("response reader: two responses back to back are read one at a time", "[response_reader]") {
  Outcome outcome = ParseEverySplit(
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none"
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n");
  REQUIRE(outcome.responses.size() == 2);
  CHECK(outcome.responses[0].body == "one");
  CHECK(outcome.responses[1].status == 201);
  CHECK(outcome.responses[1].body == "two");
  CHECK(outcome.responses[1].head == std::string("HTTP/1.1 201 Created\r\nContent-Length: 3\r\n") + kTail);
}

TEST_CASE("response reader: fields named by Connection are removed, reason kept", "[response_reader]") {
  Outcome outcome = ParseEverySplit(
      "HTTP/1.1 404 Nope\r\nConnection: close, X-Private\r\nX-Private: secret\r\nX-Public: yes\r\n"
      "Upgrade: h2c\r\nProxy-Connection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(outcome.responses.size() == 1);
  CHECK_FALSE(outcome.responses[0].keep_alive);
  CHECK(outcome.responses[0].head == std::string("HTTP/1.1 404 Nope\r\nX-Public: yes\r\nContent-Length: 0\r\n") + kTail);
}

TEST_CASE("response reader: bad framing is an error however it is split", "[response_reader]") {
  const char* bad[] = {
      // Content-Length and Transfer-Encoding together (request smuggling).
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      // Two different Content-Lengths.
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      // Not a chunk size.
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      // A transfer-coding we cannot undo.
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx",
      // 101 although upmesh never asks to upgrade.
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
      // Whitespace before the colon: framing to http-parser, not to the hop-by-hop filter.
      "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      // Not HTTP at all.
      "SSH-2.0-OpenSSH_9.2\r\n",
  };
  for (const char* raw : bad) {
    INFO(raw);
    Outcome outcome = ParseEverySplit(raw, false, true);
    CHECK(outcome.error);
    CHECK(outcome.responses.empty());
  }
}

TEST_CASE("response reader: EOF before the response is complete is an error", "[response_reader]") {
  ResponseReader reader;
  reader.Start(false, kMaxBytes);
  CHECK(reader.FeedEof() == Result::kError);
  CHECK_FALSE(reader.received_any());  // the stale keep-alive case: retry allowed

  Outcome truncated = ParseEverySplit("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", false, true);
  CHECK(truncated.error);
  Outcome in_head = ParseEverySplit("HTTP/1.1 200 OK\r\nContent-Le", false, true);
  CHECK(in_head.error);
  Outcome after_interim = ParseEverySplit("HTTP/1.1 100 Continue\r\n\r\n", false, true);
  CHECK(after_interim.error);
}

TEST_CASE("response reader: responses over the size limit are errors", "[response_reader]") {
  Outcome announced = Parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", {}, false, false, 64);
  CHECK(announced.error);
  std::string chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked += "10\r\n0123456789abcdef\r\n";
  chunked += "0\r\n\r\n";
  CHECK(Parse(chunked, {}, false, false, 100).error);
  CHECK_FALSE(Parse(chunked, {}, false, false, 1000).error);
  CHECK(Parse("HTTP/1.1 200 OK\r\n\r\n" + std::string(200, 'x'), {}, false, true, 100).error);
}

TEST_CASE("response reader: a reader is reusable after an error", "[response_reader]") {
  ResponseReader reader;
  reader.Start(false, kMaxBytes);
  std::string bad = "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
  size_t consumed = 0;
  CHECK(reader.Feed(bad.data(), bad.size(), &consumed) == Result::kError);
  CHECK_FALSE(reader.error().empty());
  reader.Start(false, kMaxBytes);
  std::string good = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  REQUIRE(reader.Feed(good.data(), good.size(), &consumed) == Result::kComplete);
  CHECK(consumed == good.size());
  CHECK(reader.body() == "ok");
}

TEST_CASE("response reader: a huge Content-Length claim allocates nothing up front", "[response_reader]") {
  // Under a generous limit, a claim near SIZE_MAX must neither throw nor take
  // memory for bytes that never came: the body is read as it arrives.
  Outcome outcome = Parse("HTTP/1.1 200 OK\r\nContent-Length: 6666666666666666664\r\n\r\nhello", {}, false, true,
                          SIZE_MAX);
  CHECK(outcome.error);
  CHECK(outcome.responses.empty());
}
