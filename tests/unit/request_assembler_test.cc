// The frontend's request reassembly: every request of the corpus, fed split
// at every byte offset and at every pair of offsets, gives the same requests
// as feeding it whole; each framing refusal gives its status.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "frontend/request_assembler.h"

using upmesh::frontend::Request;
using upmesh::frontend::RequestAssembler;
using upmesh::frontend::RequestLimits;

namespace {

struct Outcome {
  std::vector<std::string> requests;  // a canonical rendering of each request
  int error_status = 0;
};

std::string Render(const Request& request) {
  std::string out = request.method + " " + request.target + " 1." + std::to_string(request.version_minor) +
                    (request.keep_alive ? " keep-alive" : " close") + "\n";
  for (const auto& field : request.fields) out += field.name + ": " + field.value + "\n";
  out += "body[" + std::to_string(request.body.size()) + "]=" + request.body;
  return out;
}

// Feeds `pieces` one after another, like successive TCP reads.
Outcome FeedPieces(const std::vector<std::string>& pieces, const RequestLimits& limits = RequestLimits()) {
  RequestAssembler assembler(limits);
  Outcome outcome;
  for (const std::string& piece : pieces) {
    size_t offset = 0;
    while (offset < piece.size() && !assembler.failed()) {
      offset += assembler.Feed(piece.data() + offset, piece.size() - offset);
      if (assembler.request_ready()) outcome.requests.push_back(Render(assembler.TakeRequest()));
    }
    if (assembler.failed()) {
      outcome.error_status = assembler.error_status();
      break;
    }
  }
  return outcome;
}

Outcome FeedWhole(const std::string& bytes) { return FeedPieces({bytes}); }

struct Case {
  const char* name;
  std::string bytes;
  size_t expected_requests;
};

std::vector<Case> Corpus() {
  return {
      {"plain GET", "GET /index.html?x=1 HTTP/1.1\r\nHost: a.example\r\nAccept: */*\r\n\r\n", 1},
      {"content-length body", "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", 1},
      {"chunked with extensions and trailers",
       "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
       "5;name=value\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n",
       1},
      {"pipelined triple",
       "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
       "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
       "PUT /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n",
       3},
      {"HTTP/1.0 without host", "GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n", 1},
      {"HTTP/1.0 keep-alive", "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
      {"connection close", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 1},
      {"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 1},
  };
}

}  // namespace

TEST_CASE("corpus: whole input gives the expected requests", "[assembler]") {
  for (const Case& c : Corpus()) {
    INFO(c.name);
    Outcome whole = FeedWhole(c.bytes);
    CHECK(whole.error_status == 0);
    CHECK(whole.requests.size() == c.expected_requests);
  }
}

TEST_CASE("corpus: de-chunked bodies and versions are right", "[assembler]") {
  Outcome chunked = FeedWhole(Corpus()[2].bytes);
  REQUIRE(chunked.requests.size() == 1);
  CHECK(chunked.requests[0].find("body[11]=hello world") != std::string::npos);
  Outcome triple = FeedWhole(Corpus()[3].bytes);
  REQUIRE(triple.requests.size() == 3);
  CHECK(triple.requests[0].rfind("GET /1 1.1 keep-alive", 0) == 0);
  CHECK(triple.requests[1].find("body[3]=abc") != std::string::npos);
  CHECK(triple.requests[2].find("body[2]=xy") != std::string::npos);
  Outcome old = FeedWhole(Corpus()[4].bytes);
  REQUIRE(old.requests.size() == 1);
  CHECK(old.requests[0].rfind("GET /old 1.0 close", 0) == 0);
  Outcome old_keep = FeedWhole(Corpus()[5].bytes);
  CHECK(old_keep.requests[0].rfind("GET /old 1.0 keep-alive", 0) == 0);
  Outcome close = FeedWhole(Corpus()[6].bytes);
  CHECK(close.requests[0].rfind("GET / 1.1 close", 0) == 0);
}

TEST_CASE("corpus: every single split offset gives the same requests", "[assembler]") {
  for (const Case& c : Corpus()) {
    INFO(c.name);
    Outcome whole = FeedWhole(c.bytes);
    for (size_t i = 0; i <= c.bytes.size(); ++i) {
      Outcome split = FeedPieces({c.bytes.substr(0, i), c.bytes.substr(i)});
      INFO("split at " << i);
      REQUIRE(split.error_status == 0);
      REQUIRE(split.requests == whole.requests);
    }
  }
}

TEST_CASE("corpus: every pair of split offsets gives the same requests", "[assembler]") {
  for (const Case& c : Corpus()) {
    INFO(c.name);
    Outcome whole = FeedWhole(c.bytes);
    for (size_t i = 0; i <= c.bytes.size(); ++i) {
      for (size_t j = i; j <= c.bytes.size(); ++j) {
        Outcome split = FeedPieces({c.bytes.substr(0, i), c.bytes.substr(i, j - i), c.bytes.substr(j)});
        if (split.requests != whole.requests || split.error_status != 0) {
          FAIL("split at (" << i << ", " << j << ") differs");
        }
      }
    }
  }
}

TEST_CASE("corpus: one byte at a time gives the same requests", "[assembler]") {
  for (const Case& c : Corpus()) {
    INFO(c.name);
    std::vector<std::string> bytes;
    for (char ch : c.bytes) bytes.emplace_back(1, ch);
    CHECK(FeedPieces(bytes).requests == FeedWhole(c.bytes).requests);
  }
}

TEST_CASE("framing refusals carry their status", "[assembler]") {
  struct Refusal {
    const char* name;
    std::string bytes;
    int status;
  };
  std::vector<Refusal> refusals = {
      {"content-length with transfer-encoding",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
      {"transfer-encoding before content-length",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400},
      {"differing duplicate content-length",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400},
      {"transfer-encoding not ending in chunked",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nxxxx", 400},
      {"transfer-encoding chunked then gzip",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\nxxxx", 400},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n  two\r\n\r\n", 400},
      {"obs-fold with tab", "GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n\ttwo\r\n\r\n", 400},
      {"whitespace before colon", "GET / HTTP/1.1\r\nHost: a\r\nX-Test : v\r\n\r\n", 400},
      {"whitespace before colon on a framing field",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400},
      {"missing host", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400},
      {"two hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
      {"garbage request line", "HELLO\r\n\r\n", 400},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"unsupported expectation", "GET / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n", 417},
      {"gzip then chunked is not implemented",
       "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
      {"CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501},
  };
  for (const Refusal& refusal : refusals) {
    INFO(refusal.name);
    CHECK(FeedWhole(refusal.bytes).error_status == refusal.status);
    // The verdict does not depend on where TCP split the bytes.
    for (size_t i = 0; i <= refusal.bytes.size(); ++i) {
      Outcome split = FeedPieces({refusal.bytes.substr(0, i), refusal.bytes.substr(i)});
      INFO("split at " << i);
      REQUIRE(split.error_status == refusal.status);
      REQUIRE(split.requests.empty());
    }
  }
}

TEST_CASE("limits: 431, 414 and 413", "[assembler]") {
  RequestLimits limits;
  limits.max_header_bytes = 1024;
  limits.max_target_bytes = 64;
  limits.max_body_bytes = 100;
  std::string big_header = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n";
  CHECK(FeedPieces({big_header}, limits).error_status == 431);
  std::string long_target = "GET /" + std::string(100, 'p') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  CHECK(FeedPieces({long_target}, limits).error_status == 414);
  // Known from Content-Length before any body byte arrives.
  std::string big_body = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n";
  CHECK(FeedPieces({big_body}, limits).error_status == 413);
  std::string big_chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n64\r\n" +
                            std::string(100, 'b') + "\r\n1\r\nb\r\n0\r\n\r\n";
  CHECK(FeedPieces({big_chunked}, limits).error_status == 413);
  std::string at_limit = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'b');
  CHECK(FeedPieces({at_limit}, limits).requests.size() == 1);
}

TEST_CASE("expect 100-continue is offered once, only to HTTP/1.1 with a body pending", "[assembler]") {
  RequestAssembler assembler{RequestLimits()};
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  assembler.Feed(head.data(), head.size());
  CHECK(assembler.TakeContinueRequest());
  CHECK_FALSE(assembler.TakeContinueRequest());
  assembler.Feed("ok", 2);
  REQUIRE(assembler.request_ready());
  CHECK(assembler.TakeRequest().body == "ok");

  RequestAssembler old{RequestLimits()};
  std::string head10 = "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  old.Feed(head10.data(), head10.size());
  CHECK_FALSE(old.TakeContinueRequest());
}

TEST_CASE("upstream head: framing rebuilt, hop-by-hop removed, forwarding fields added", "[assembler]") {
  RequestAssembler assembler{RequestLimits()};
  std::string bytes =
      "POST /p HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
      "TE: trailers\r\nUpgrade: websocket\r\nX-Forwarded-For: 10.0.0.1\r\nExpect: 100-continue\r\n"
      "Transfer-Encoding: chunked\r\nX-Keep: me\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  size_t consumed = assembler.Feed(bytes.data(), bytes.size());
  CHECK(consumed == bytes.size());
  REQUIRE(assembler.request_ready());
  std::string head = upmesh::frontend::BuildUpstreamHead(assembler.TakeRequest(), "127.0.0.1");
  CHECK(head.rfind("POST /p HTTP/1.1\r\n", 0) == 0);
  CHECK(head.find("Host: a\r\n") != std::string::npos);
  CHECK(head.find("X-Keep: me\r\n") != std::string::npos);
  CHECK(head.find("Content-Length: 3\r\n") != std::string::npos);
  CHECK(head.find("X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\n") != std::string::npos);
  CHECK(head.find("Via: 1.1 upmesh\r\n") != std::string::npos);
  for (const char* gone : {"Connection", "X-Secret", "Keep-Alive", "TE:", "Upgrade", "Transfer-Encoding", "Expect"}) {
    INFO(gone);
    CHECK(head.find(gone) == std::string::npos);
  }
  CHECK(head.substr(head.size() - 2) == "\r\n");
  CHECK(head.find("\r\n\r\n") == std::string::npos);  // no blank line: the receiver ends the head
}
