// The bounded JSON parse: size and depth are refused before anything
// recurses, errors carry a line and column, and never quote much input.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "shared/json_parse.h"

using nlohmann::json;
using upmesh::JsonLimits;
using upmesh::ParseJson;
using upmesh::Status;

namespace {

std::string ErrorOf(const std::string& text, JsonLimits limits = {1024 * 1024}) {
  json out;
  Status status = ParseJson(text, limits, &out);
  return status.ok() ? "OK" : status.message();
}

}  // namespace

TEST_CASE("ParseJson parses valid JSON like nlohmann") {
  json out;
  REQUIRE(ParseJson(R"({"a": [1, 2, {"b": "c"}]})", {1024}, &out).ok());
  CHECK(out == json::parse(R"({"a": [1, 2, {"b": "c"}]})"));
}

TEST_CASE("ParseJson gives the line and column of a syntax error") {
  CHECK(ErrorOf("{\n  \"a\": 1,\n  \"b\": 2,}") == "line 3, column 10: unexpected '}'; expected string literal");
  CHECK(ErrorOf("[1, 2").rfind("line 1, column 6: unexpected end of input", 0) == 0);
  CHECK(ErrorOf("").rfind("line 1, column 1: ", 0) == 0);
}

TEST_CASE("ParseJson refuses input over the size limit before parsing") {
  CHECK(ErrorOf(std::string(2000, ' ') + "1", {1000}) == "larger than 1000 bytes");
}

TEST_CASE("ParseJson refuses nesting deeper than the limit, quickly and without recursion") {
  CHECK(ErrorOf(std::string(64, '[') + std::string(64, ']')) == "OK");
  CHECK(ErrorOf(std::string(65, '[') + std::string(65, ']')) == "line 1, column 65: nesting deeper than 64 levels");
  CHECK(ErrorOf("{\"a\":\n" + std::string(70, '{')).rfind("line 2, column 64: nesting deeper", 0) == 0);
  // The issue's crash: 100,000 nested '[' (200 kB).
  auto start = std::chrono::steady_clock::now();
  CHECK(ErrorOf(std::string(100000, '[') + std::string(100000, ']')) ==
        "line 1, column 65: nesting deeper than 64 levels");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(100));
}

TEST_CASE("ParseJson does not count brackets inside strings") {
  std::string deep_text = "\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"";
  CHECK(ErrorOf("{\"a\": " + deep_text + "}") == "OK");
}

TEST_CASE("ParseJson quotes at most a few dozen bytes of the input, escaped") {
  std::string message = ErrorOf("[\"" + std::string(100000, 'x'));  // unterminated string
  CHECK(message.size() < 200);
  CHECK(message.find("...") != std::string::npos);
  std::string control = ErrorOf(std::string("[\"a\x01\"]"));
  CHECK(control.find('\x01') == std::string::npos);
  CHECK(control.rfind("line 1, column 4: ", 0) == 0);
}

TEST_CASE("QuoteForMessage and JsonForMessage bound what they show") {
  CHECK(upmesh::QuoteForMessage("a\"b\r\n") == "\"a\\\"b\\x0d\\x0a\"");
  CHECK(upmesh::QuoteForMessage(std::string(100, 'y')) == "\"" + std::string(64, 'y') + "\"...");
  CHECK(upmesh::JsonForMessage(json::array({1, 2, 3})) == "[1,2,3]");
  CHECK(upmesh::JsonForMessage(json::object()) == "{}");
  CHECK(upmesh::JsonForMessage(json::array({std::string(100, 'z')})) == "an array of 1");
  CHECK(upmesh::JsonForMessage(json(std::vector<int>(9, 1))) == "an array of 9");
  CHECK(upmesh::JsonForMessage(json::object({{std::string(100, 'k'), 1}})) == "an object");
  CHECK(upmesh::JsonForMessage(json(70000)) == "70000");
  CHECK(upmesh::JsonForMessage(json("x\ny")) == "\"x\\x0ay\"");
}

TEST_CASE("ParseJson cuts a number too large for a double in its message") {
  // Found by tests/fuzz/cluster_json_fuzz.cc: nlohmann's out_of_range error
  // quoted the whole number.
  std::string message = ErrorOf("[1" + std::string(5000, '9') + "]");
  CHECK(message.size() < 200);
  CHECK(message.rfind("number overflow parsing \"1999", 0) == 0);
  CHECK(message.find("\"...") != std::string::npos);
}

TEST_CASE("ParseJson's message stays short when the bad token looks like nlohmann's own text") {
  // Found by tests/fuzz/cluster_json_fuzz.cc: a token containing "'; expected "
  // made the message quote everything after it.
  std::string text = "{\"a\": \"x'; expected " + std::string(2000, 'y') + "\x06\"}";
  std::string message = ErrorOf(text);
  CHECK(message.size() < 250);
  CHECK(message.find("control character U+0006 (ACK) must be escaped") != std::string::npos);
  CHECK(ErrorOf("{\"a\": tru}") == "line 1, column 10: invalid literal; last read: \"\\\"a\\\": tru}\"");
  CHECK(ErrorOf("[1, {\"a\" 2}]") == "line 1, column 10: unexpected number literal; expected ':'");
}
