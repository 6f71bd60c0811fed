#include <catch2/catch.hpp>

#include "backend/response_options.h"

using upmesh::backend::ParseResponseOptions;
using upmesh::backend::ResponseOptions;

namespace {
ResponseOptions Parse(const char* query, ResponseOptions defaults = {}) {
  ResponseOptions options;
  upmesh::Status status = ParseResponseOptions(query, defaults, &options);
  REQUIRE(status.ok());
  return options;
}
std::string ErrorOf(const char* query) {
  ResponseOptions options;
  upmesh::Status status = ParseResponseOptions(query, {}, &options);
  REQUIRE_FALSE(status.ok());
  return status.message();
}
}  // namespace

TEST_CASE("backend options: empty query keeps the defaults", "[backend]") {
  ResponseOptions defaults;
  defaults.delay_ms = 250;
  defaults.status = 503;
  ResponseOptions options = Parse("", defaults);
  CHECK(options.delay_ms == 250);
  CHECK(options.status == 503);
  CHECK_FALSE(options.has_size);
  CHECK_FALSE(options.chunked);
}

TEST_CASE("backend options: every option parses and combines", "[backend]") {
  ResponseOptions options = Parse("size=1048576&chunked=1&delay=20&status=201&drop=1&close=1");
  CHECK(options.has_size);
  CHECK(options.size == 1048576);
  CHECK(options.chunked);
  CHECK(options.delay_ms == 20);
  CHECK(options.status == 201);
  CHECK(options.drop);
  CHECK(options.close);
  CHECK(Parse("echo=1").echo);
  CHECK_FALSE(Parse("echo=0").echo);
}

TEST_CASE("backend options: query options override the flag defaults", "[backend]") {
  ResponseOptions defaults;
  defaults.status = 500;
  defaults.delay_ms = 1000;
  ResponseOptions options = Parse("status=200&delay=0", defaults);
  CHECK(options.status == 200);
  CHECK(options.delay_ms == 0);
}

TEST_CASE("backend options: unknown keys and empty pairs are ignored", "[backend]") {
  ResponseOptions options = Parse("nocache=123&&x&size=5&");
  CHECK(options.size == 5);
}

TEST_CASE("backend options: bad values are errors naming the key", "[backend]") {
  CHECK(ErrorOf("size=abc").rfind("size:", 0) == 0);
  CHECK(ErrorOf("size=-1").rfind("size:", 0) == 0);
  CHECK(ErrorOf("size=").rfind("size:", 0) == 0);
  CHECK(ErrorOf("size=99999999999999999999999").rfind("size:", 0) == 0);
  CHECK(ErrorOf("status=99").rfind("status:", 0) == 0);
  CHECK(ErrorOf("status=600").rfind("status:", 0) == 0);
  CHECK(ErrorOf("delay=600001").rfind("delay:", 0) == 0);
  CHECK(ErrorOf("delay=+5").rfind("delay:", 0) == 0);
  CHECK(ErrorOf("chunked=yes").rfind("chunked:", 0) == 0);
  CHECK(ErrorOf("drop").rfind("drop:", 0) == 0);
  CHECK(ErrorOf("close=1&close=1").rfind("close:", 0) == 0);
  CHECK(ErrorOf("echo=1&size=10").find("echo=1") != std::string::npos);
}

TEST_CASE("backend options: status bounds are inclusive", "[backend]") {
  CHECK(Parse("status=100").status == 100);
  CHECK(Parse("status=599").status == 599);
}
