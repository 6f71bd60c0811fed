// The frontend's forwarding policy: the head a backend receives for a
// request the shared reader read.
#include <catch2/catch.hpp>

#include <string>

#include "frontend/upstream_head.h"

using upmesh::http::RequestLimits;
using upmesh::http::RequestReader;

TEST_CASE("upstream head: framing rebuilt, hop-by-hop removed, forwarding fields added", "[upstream_head]") {
  RequestReader reader{RequestLimits()};
  std::string bytes =
      "POST /p HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
      "TE: trailers\r\nUpgrade: websocket\r\nX-Forwarded-For: 10.0.0.1\r\nExpect: 100-continue\r\n"
      "Via: 1.0 fred\r\nForwarded: for=10.0.0.1\r\nVia: 1.1 barney\r\nX-Forwarded-For: 10.0.0.2\r\n"
      "Transfer-Encoding: chunked\r\nX-Keep: me\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  size_t consumed = reader.Feed(bytes.data(), bytes.size());
  CHECK(consumed == bytes.size());
  REQUIRE(reader.request_ready());
  std::string head = upmesh::frontend::BuildUpstreamHead(reader.TakeRequest(), "127.0.0.1");
  CHECK(head.rfind("POST /p HTTP/1.1\r\n", 0) == 0);
  CHECK(head.find("Host: a\r\n") != std::string::npos);
  CHECK(head.find("X-Keep: me\r\n") != std::string::npos);
  CHECK(head.find("Content-Length: 3\r\n") != std::string::npos);
  // One field each: earlier hops' entries in order, then ours.
  CHECK(head.find("X-Forwarded-For: 10.0.0.1, 10.0.0.2, 127.0.0.1\r\n") != std::string::npos);
  CHECK(head.find("Via: 1.0 fred, 1.1 barney, 1.1 upmesh\r\n") != std::string::npos);
  CHECK(head.find("Forwarded: for=10.0.0.1, for=127.0.0.1\r\n") != std::string::npos);
  for (const char* once : {"Via:", "X-Forwarded-For:", "Forwarded:"}) {
    INFO(once);
    CHECK(head.find(once) == head.rfind(once));
  }
  for (const char* gone : {"Connection", "X-Secret", "Keep-Alive", "TE:", "Upgrade", "Transfer-Encoding", "Expect"}) {
    INFO(gone);
    CHECK(head.find(gone) == std::string::npos);
  }
  CHECK(head.substr(head.size() - 2) == "\r\n");
  CHECK(head.find("\r\n\r\n") == std::string::npos);  // no blank line: the receiver ends the head
}

TEST_CASE("upstream head: HTTP/1.0 client, IPv6 client address", "[upstream_head]") {
  RequestReader reader{RequestLimits()};
  std::string bytes = "GET /old HTTP/1.0\r\n\r\n";
  reader.Feed(bytes.data(), bytes.size());
  REQUIRE(reader.request_ready());
  std::string head = upmesh::frontend::BuildUpstreamHead(reader.TakeRequest(), "::1");
  CHECK(head == "GET /old HTTP/1.1\r\nVia: 1.0 upmesh\r\nX-Forwarded-For: ::1\r\nForwarded: for=\"[::1]\"\r\n");
}
