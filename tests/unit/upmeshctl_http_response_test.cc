// upmeshctl's HTTP response parser: every framing the config API (or
// something that is not the API) may answer with.
#include <catch2/catch.hpp>

#include <string>

#include "ctl/http_client.h"

namespace upmesh::ctl {
namespace {

// Feeds `bytes` in pieces of `piece` bytes, then the end of the stream
// unless the response completed earlier.
Status ParseInPieces(const std::string& bytes, size_t piece, HttpResponseParser* parser) {
  for (size_t i = 0; i < bytes.size() && !parser->complete(); i += piece) {
    Status status = parser->Feed(bytes.data() + i, std::min(piece, bytes.size() - i));
    if (!status.ok()) return status;
  }
  return parser->complete() ? Status::Ok() : parser->FeedEof();
}

TEST_CASE("upmeshctl response parser reads Content-Length, chunked and close-delimited bodies", "[upmeshctl]") {
  struct Case {
    const char* name;
    std::string bytes;
  };
  const Case cases[] = {
      {"content-length", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n[1,2,3]"},
      {"chunked", "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "3\r\n[1,\r\n4\r\n2,3]\r\n0\r\n\r\n"},
      {"close", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[1,2,3]"},
      {"interim 100 first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Length: 7\r\n\r\n[1,2,3]"},
  };
  for (const Case& c : cases) {
    for (size_t piece : {size_t{1}, size_t{5}, c.bytes.size()}) {
      SECTION(std::string(c.name) + " in pieces of " + std::to_string(piece)) {
        HttpResponseParser parser;
        REQUIRE(ParseInPieces(c.bytes, piece, &parser).ok());
        REQUIRE(parser.complete());
        CHECK(parser.response().status == 200);
        CHECK(parser.response().reason == "OK");
        CHECK(parser.response().content_type == "application/json");
        CHECK(parser.response().body == "[1,2,3]");
      }
    }
  }
}

TEST_CASE("upmeshctl response parser keeps error statuses and ignores bytes after the response", "[upmeshctl]") {
  HttpResponseParser parser;
  std::string bytes = "HTTP/1.1 400 Bad Request\r\nContent-Length: 9\r\n\r\ncluster.xHTTP/1.1 200 OK\r\n";
  REQUIRE(parser.Feed(bytes.data(), bytes.size()).ok());
  REQUIRE(parser.complete());
  CHECK(parser.response().status == 400);
  CHECK(parser.response().body == "cluster.x");

  HttpResponseParser no_body;
  std::string accepted = "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n";
  REQUIRE(no_body.Feed(accepted.data(), accepted.size()).ok());
  CHECK(no_body.complete());
  CHECK(no_body.response().body.empty());
}

TEST_CASE("upmeshctl response parser refuses what is not a whole HTTP response", "[upmeshctl]") {
  SECTION("not HTTP") {
    HttpResponseParser parser;
    std::string bytes = "SSH-2.0-OpenSSH_9.2\r\n";
    CHECK_FALSE(parser.Feed(bytes.data(), bytes.size()).ok());
  }
  SECTION("the shared reader's rules: a bare LF, a 101, a status outside 100..599") {
    for (std::string bytes : {"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
                              "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
                              "HTTP/1.1 600 Odd\r\nContent-Length: 0\r\n\r\n"}) {
      INFO(bytes);
      HttpResponseParser parser;
      Status status = parser.Feed(bytes.data(), bytes.size());
      CHECK_FALSE(status.ok());
      CHECK_THAT(status.message(), Catch::StartsWith("not an HTTP response: "));
    }
  }
  SECTION("closed in the body") {
    HttpResponseParser parser;
    std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc";
    REQUIRE(parser.Feed(bytes.data(), bytes.size()).ok());
    Status status = parser.FeedEof();
    CHECK_FALSE(status.ok());
    CHECK_THAT(status.message(), Catch::Contains("before the answer was complete"));
  }
  SECTION("closed before anything") {
    HttpResponseParser parser;
    Status status = parser.FeedEof();
    CHECK_FALSE(status.ok());
    CHECK_THAT(status.message(), Catch::Contains("without an answer"));
  }
}

}  // namespace
}  // namespace upmesh::ctl
