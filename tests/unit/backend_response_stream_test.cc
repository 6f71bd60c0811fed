#include <catch2/catch.hpp>

#include <string>

#include "backend/response_stream.h"

using upmesh::backend::ResponseStream;
using BodyPart = ResponseStream::BodyPart;
using Ending = ResponseStream::Ending;

namespace {
// Drains a stream with a small budget so the incremental path is exercised.
std::string Drain(ResponseStream stream, size_t step = 7) {
  std::string out;
  while (!stream.Produce(&out, out.size() + step)) {
  }
  return out;
}
std::string PatternOf(size_t length) {
  std::string bytes;
  for (size_t i = 0; i < length; ++i) bytes.push_back(static_cast<char>('a' + i % 26));
  return bytes;
}
// Removes chunked framing; fails the test on malformed framing.
std::string Dechunk(const std::string& wire, bool* terminated) {
  std::string body;
  size_t at = 0;
  *terminated = false;
  while (at < wire.size()) {
    size_t line_end = wire.find("\r\n", at);
    REQUIRE(line_end != std::string::npos);
    size_t size = std::stoul(wire.substr(at, line_end - at), nullptr, 16);
    at = line_end + 2;
    if (size == 0) {
      CHECK(wire.substr(at) == "\r\n");
      *terminated = true;
      break;
    }
    body += wire.substr(at, size);
    at += size;
    if (at < wire.size()) {
      CHECK(wire.substr(at, 2) == "\r\n");
      at += 2;
    }
  }
  return body;
}
}  // namespace

TEST_CASE("backend stream: pattern body with Content-Length framing", "[backend]") {
  std::string out = Drain(
      ResponseStream::Pattern("HEAD\r\n\r\n", 100000, false, BodyPart::kAll, Ending::kKeepAlive), 4096);
  CHECK(out == "HEAD\r\n\r\n" + PatternOf(100000));
}

TEST_CASE("backend stream: text body", "[backend]") {
  CHECK(Drain(ResponseStream::Text("H\r\n\r\n", "hello world\n", false, BodyPart::kAll, Ending::kClose)) ==
        "H\r\n\r\nhello world\n");
}

TEST_CASE("backend stream: chunked bodies decode to the body, in several chunks", "[backend]") {
  for (size_t length : {0, 1, 5, 29, 1000, 300000}) {
    std::string wire =
        Drain(ResponseStream::Pattern("", length, true, BodyPart::kAll, Ending::kKeepAlive), 1000);
    bool terminated = false;
    CHECK(Dechunk(wire, &terminated) == PatternOf(length));
    CHECK(terminated);
  }
  std::string small = Drain(ResponseStream::Text("", "upmesh-backend v1 port 8001\n", true, BodyPart::kAll,
                                                 Ending::kKeepAlive));
  CHECK(small.rfind("7\r\n", 0) == 0);  // 28 bytes in four chunks of 7
}

TEST_CASE("backend stream: no body for HEAD-like responses", "[backend]") {
  CHECK(Drain(ResponseStream::Pattern("H\r\n\r\n", 5000, true, BodyPart::kNone, Ending::kKeepAlive)) ==
        "H\r\n\r\n");
}

TEST_CASE("backend stream: drop sends half the body and no terminator", "[backend]") {
  CHECK(Drain(ResponseStream::Pattern("H\r\n\r\n", 1001, false, BodyPart::kHalf, Ending::kReset)) ==
        "H\r\n\r\n" + PatternOf(500));
  bool terminated = true;
  std::string wire = Drain(ResponseStream::Pattern("", 1000, true, BodyPart::kHalf, Ending::kReset));
  CHECK(Dechunk(wire, &terminated) == PatternOf(500));
  CHECK_FALSE(terminated);
}

TEST_CASE("backend stream: chunk sizes", "[backend]") {
  CHECK(ResponseStream::ChunkSizeFor(0) == 1);
  CHECK(ResponseStream::ChunkSizeFor(28) == 7);
  CHECK(ResponseStream::ChunkSizeFor(uint64_t{1} << 30) == 64 * 1024);
}
