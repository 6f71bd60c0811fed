#include <catch2/catch.hpp>

#include "worker/request_head.h"

using upmesh::worker::ClientAddressOf;
using upmesh::worker::ParseRequestLine;
using upmesh::worker::RequestLineOf;

namespace {
constexpr std::string_view kHead =
    "POST /a?b=c HTTP/1.1\r\nHost: example\r\nVia: 1.1 upmesh\r\n"
    "X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\nForwarded: for=192.0.2.7\r\n";
}

TEST_CASE("The request line, method and target of a head the frontend built") {
  CHECK(RequestLineOf(kHead) == "POST /a?b=c HTTP/1.1");
  auto line = ParseRequestLine(kHead);
  CHECK(line.method == "POST");
  CHECK(line.target == "/a?b=c");
  auto bare = ParseRequestLine("GET");
  CHECK(bare.method.empty());
  CHECK(bare.target.empty());
}

TEST_CASE("The client's address is the last X-Forwarded-For entry") {
  CHECK(ClientAddressOf(kHead) == "192.0.2.7");
  CHECK(ClientAddressOf("GET / HTTP/1.1\r\nX-Forwarded-For: ::1\r\n") == "::1");
  CHECK(ClientAddressOf("GET / HTTP/1.1\r\nHost: a\r\n").empty());
}
