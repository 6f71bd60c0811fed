#include <catch2/catch.hpp>

#include "backend/response_options.h"

using upmesh::backend::ApplyControl;
using upmesh::backend::Defaults;
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
// The defaults after applying `query` to `current` (the start-up flags: `startup`).
Defaults Control(const char* query, Defaults current, const Defaults& startup = {}) {
  upmesh::Status status = ApplyControl(query, startup, &current);
  REQUIRE(status.ok());
  return current;
}
std::string ControlErrorOf(const char* query) {
  Defaults defaults;
  defaults.response.status = 503;
  Defaults before = defaults;
  upmesh::Status status = ApplyControl(query, {}, &defaults);
  REQUIRE_FALSE(status.ok());
  CHECK(defaults.response.status == before.response.status);  // nothing changed
  CHECK(defaults.response.delay_ms == before.response.delay_ms);
  CHECK(defaults.response.has_size == before.response.has_size);
  CHECK(defaults.error_percent == before.error_percent);
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

TEST_CASE("backend options: a default size applies unless the query says size= or echo=1", "[backend]") {
  ResponseOptions defaults;
  defaults.has_size = true;
  defaults.size = 300;
  CHECK(Parse("", defaults).size == 300);
  CHECK(Parse("size=7", defaults).size == 7);
  ResponseOptions echo = Parse("echo=1", defaults);
  CHECK(echo.echo);
  CHECK_FALSE(echo.has_size);
}

TEST_CASE("backend control: only the keys given change", "[backend]") {
  Defaults current;
  current.response.status = 201;
  current.response.delay_ms = 40;
  current.error_percent = 7;
  Defaults changed = Control("status=503&size=12", current);
  CHECK(changed.response.status == 503);
  CHECK(changed.response.has_size);
  CHECK(changed.response.size == 12);
  CHECK(changed.response.delay_ms == 40);
  CHECK(changed.error_percent == 7);

  changed = Control("delay=600000&errorPercent=100", current);
  CHECK(changed.response.delay_ms == 600000);
  CHECK(changed.error_percent == 100);
  CHECK(changed.response.status == 201);
  CHECK_FALSE(changed.response.has_size);
  CHECK(Control("", current).error_percent == 7);
}

TEST_CASE("backend control: reset=1 restores the start-up values before the other keys", "[backend]") {
  Defaults startup;
  startup.response.status = 202;
  startup.response.has_size = true;
  startup.response.size = 99;
  Defaults current = Control("status=500&delay=10&size=1&errorPercent=50", startup, startup);

  Defaults reset = Control("reset=1", current, startup);
  CHECK(reset.response.status == 202);
  CHECK(reset.response.delay_ms == 0);
  CHECK(reset.response.size == 99);
  CHECK(reset.error_percent == 0);

  // reset= goes first wherever it stands.
  Defaults reset_then_set = Control("errorPercent=20&reset=1", current, startup);
  CHECK(reset_then_set.error_percent == 20);
  CHECK(reset_then_set.response.status == 202);
  CHECK(Control("reset=0", current, startup).response.status == 500);
}

TEST_CASE("backend control: bad values, repeats and unknown keys are errors naming the key", "[backend]") {
  CHECK(ControlErrorOf("status=99") == "status: must be an integer in 100..599, got \"99\"");
  CHECK(ControlErrorOf("delay=600001").rfind("delay:", 0) == 0);
  CHECK(ControlErrorOf("size=1099511627777").rfind("size:", 0) == 0);
  CHECK(ControlErrorOf("size=").rfind("size:", 0) == 0);
  CHECK(ControlErrorOf("errorPercent=101") == "errorPercent: must be an integer in 0..100, got \"101\"");
  CHECK(ControlErrorOf("errorPercent=-1").rfind("errorPercent:", 0) == 0);
  CHECK(ControlErrorOf("reset=yes").rfind("reset:", 0) == 0);
  CHECK(ControlErrorOf("delay=1&delay=2") == "delay: given more than once");
  CHECK(ControlErrorOf("errorpercent=5").rfind("errorpercent:", 0) == 0);
  // A bad key after good ones still changes nothing (ControlErrorOf checks).
  CHECK(ControlErrorOf("reset=1&delay=5&status=abc").rfind("status:", 0) == 0);
}
