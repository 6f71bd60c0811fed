// upmeshctl status: the text made of GET /status and GET
// /configuration/cluster, whatever fields are missing, with nothing the
// mesh reports able to reach the terminal as a control character.
#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

#include "ctl/cluster_view.h"

using nlohmann::json;
using upmesh::ctl::FormatMeshStatus;

namespace {

json Status(uint64_t served, int64_t at_ms) {
  return json::parse(R"({"atMs": 0, "seq": 7, "gradualShare": 40,
    "versions": [
      {"uuid": "u2", "version": "2", "mode": "GRADUAL", "newest": true, "rolledBack": false, "health": "healthy",
       "share": {"set": 40, "actual": 38.25}},
      {"uuid": "u1", "version": 1, "mode": "INSTANT", "newest": false, "rolledBack": false, "health": "healthy",
       "share": {"set": 60, "actual": 61.75}},
      {"uuid": "u0", "version": "0.9\u001b[2J", "mode": "INSTANT", "newest": false, "rolledBack": true,
       "health": "rolledBack", "share": {"set": 0, "actual": 0}}],
    "workers": [{"id": "w1", "capacity": 256, "draining": false, "served": 0, "heardMsAgo": 120}],
    "frontends": [{"id": "f1", "endpoint": "tcp://127.0.0.1:5553", "seq": 7}]})")
      .patch(json::parse(R"([{"op": "replace", "path": "/workers/0/served", "value": )" + std::to_string(served) +
                         R"(}, {"op": "replace", "path": "/atMs", "value": )" + std::to_string(at_ms) + "}]"));
}

json Clusters() {
  return json::parse(R"([
    {"cluster": {"uuid": "u2", "version": "2"},
     "state": {"newest": true, "gradualShare": 40, "rampHeld": true,
               "window": {"requests": 500, "seconds": 10, "errorRate": 0.5, "p50Ms": 1.25, "p99Ms": 4.5,
                          "medianBodyBytes": 2048}}},
    {"cluster": {"uuid": "u1", "version": 1}, "state": {"newest": false, "window": {"requests": 0, "seconds": 10}}},
    {"cluster": {"uuid": "u0", "version": "0.9\u001b[2J"},
     "state": {"mismatches": 3, "recentMismatches": [{"worker": "w1", "atMs": 0, "differences": ["status: new 500, old 200"]}],
               "rollback": {"reason": "errorRate", "detail": "error rate 9 % vs 0 %", "atMs": 0}}}])");
}

bool Has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("upmeshctl status: versions with shares, health and window figures", "[upmeshctl]") {
  std::string text = FormatMeshStatus(Status(100, 1000), Clusters(), nullptr);
  INFO(text);
  CHECK(Has(text, "table seq 7"));
  CHECK(Has(text, "VERSION"));
  CHECK(Has(text, "2 (newest)"));
  CHECK(Has(text, "40.0 %"));
  CHECK(Has(text, "38.2 %"));  // actual, one decimal
  CHECK(Has(text, "50.0"));    // 500 requests over 10 s
  CHECK(Has(text, "0.50 %"));
  CHECK(Has(text, "1.2 ms"));
  CHECK(Has(text, "4.5 ms"));
  CHECK(Has(text, "2048 B"));
  CHECK(Has(text, "GRADUAL   version 2 at 40.0 % (held by the monitor)"));
  CHECK(Has(text, "MISMATCH  version 0.9?[2J: 3 mismatches; last: "));
  CHECK(Has(text, "differences=[\"status: new 500, old 200\"]"));
  CHECK(Has(text, "ROLLBACK  version 0.9?[2J at "));
  CHECK(Has(text, ": errorRate - error rate 9 % vs 0 %"));
  CHECK(Has(text, "tcp://127.0.0.1:5553"));
  CHECK(Has(text, "120 ms ago"));
  CHECK_FALSE(Has(text, "\x1b"));
}

TEST_CASE("upmeshctl status: workers' rate from the sample before; missing fields show as -", "[upmeshctl]") {
  std::string first = FormatMeshStatus(Status(100, 1000), Clusters(), nullptr);
  std::string next = FormatMeshStatus(Status(600, 3000), Clusters(), Status(100, 1000));
  INFO(next);
  CHECK(Has(next, "250.0  120 ms ago"));  // 500 requests in 2 s
  CHECK(Has(first, "-      120 ms ago"));
  std::string empty = FormatMeshStatus(json::object(), json::array(), nullptr);
  INFO(empty);
  CHECK(Has(empty, "no cluster versions configured"));
  CHECK(Has(empty, "no live workers"));
  CHECK(Has(empty, "no live frontends"));
  std::string odd = FormatMeshStatus(json::parse(R"({"versions": [{"uuid": 5, "share": "x"}], "workers": [{}]})"),
                                     json::parse(R"({"not": "an array"})"), json::array());
  CHECK(Has(odd, "-"));
}
