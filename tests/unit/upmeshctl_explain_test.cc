// upmeshctl explain: the readable health of a version and the evidence of
// its rollback, from fixed API JSON.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "ctl/cluster_view.h"

namespace upmesh::ctl {
namespace {

using nlohmann::json;

// Local time is UTC while it lives, so that the expected text does not
// depend on the machine's time zone.
class UtcTimeZone {
 public:
  UtcTimeZone() {
    const char* zone = std::getenv("TZ");
    had_zone_ = zone != nullptr;
    if (had_zone_) saved_ = zone;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  ~UtcTimeZone() {
    if (had_zone_) {
      setenv("TZ", saved_.c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  UtcTimeZone(const UtcTimeZone&) = delete;
  UtcTimeZone& operator=(const UtcTimeZone&) = delete;

 private:
  bool had_zone_ = false;
  std::string saved_;
};

// A version the judge rolled back for its error rate, as GET
// /configuration/cluster/{id} shows it once all but one worker confirmed.
json RolledBackEntry() {
  return json::parse(R"json({
    "cluster": {"uuid": "v2", "version": 2, "servers": [{"ip": "127.0.0.1", "port": 8002}]},
    "state": {
      "requestsServed": 240, "newest": false,
      "health": "rolledBack", "healthDetail": "rolled back: gets no traffic",
      "window": {"requests": 12, "ok": 0, "clientErrors": 0, "serverErrors": 10, "refused": 0, "reset": 2,
                 "timeouts": 0, "badFraming": 0, "shielded": 12, "compared": 0, "mismatched": 0,
                 "errorRate": 100.0, "p50Ms": 0.0, "p99Ms": 0.0, "medianBodyBytes": 0, "seconds": 10},
      "rollback": {
        "uuid": "v2", "version": 2, "reason": "errorRate",
        "detail": "error rate 12.5 % vs 0.5 % on the old version, z = 8.1 (threshold: 2.0 points worse and z >= 3.0)",
        "atMs": 1717236003100, "seq": 7,
        "window": {
          "seconds": 10,
          "new": {"requests": 240, "ok": 210, "clientErrors": 0, "serverErrors": 25, "refused": 0, "reset": 5,
                  "timeouts": 0, "badFraming": 0, "shielded": 30, "compared": 0, "mismatched": 0,
                  "errorRate": 12.5, "p50Ms": 1.5, "p99Ms": 12.25, "medianBodyBytes": 512},
          "old": {"requests": 400, "ok": 398, "clientErrors": 0, "serverErrors": 2, "refused": 0, "reset": 0,
                  "timeouts": 0, "badFraming": 0, "shielded": 0, "compared": 0, "mismatched": 0,
                  "errorRate": 0.5, "p50Ms": 1.25, "p99Ms": 9.5, "medianBodyBytes": 498,
                  "uuid": "v1", "from": "baseline"}},
        "failureRun": 3,
        "thresholds": {"enabled": true, "windowSeconds": 10, "minRequests": 50, "maxErrorRateIncrease": 2.0,
                       "minZScore": 3.0, "latencyRatio": 3.0, "minLatencyIncreaseMs": 20, "sizeRatio": 4.0,
                       "minSizeDifferenceBytes": 100, "maxMismatchPercent": 10.0, "consecutiveFailures": 10,
                       "shield": true, "rampProbePercent": 5.0},
        "samples": [
          {"method": "GET", "target": "/b", "status": 500, "atMs": 1717236002950, "worker": "w2"},
          {"method": "POST", "target": "/a", "status": 502, "atMs": 1717236002900,
           "error": "connection reset by 127.0.0.1:8002", "worker": "w1"}],
        "timeline": {
          "firstFailureAtMs": 1717236002888, "decidedAtMs": 1717236003100,
          "workersApplied": [{"worker": "w1", "atMs": 1717236003103}, {"worker": "w2", "atMs": 1717236003112}],
          "allWorkersAppliedAtMs": null, "workersNotConfirmed": ["w3"]}}}})json");
}

TEST_CASE("upmeshctl explain shows a rollback's evidence", "[upmeshctl]") {
  UtcTimeZone utc;
  CHECK(FormatClusterExplanation(RolledBackEntry()) ==
        "uuid:               v2\n"
        "version:            2\n"
        "health:             rolledBack (rolled back: gets no traffic)\n"
        "window (last 10 s): 12 requests: 0 ok, 10 server errors, 2 reset\n"
        "                    error rate 100 %, p50 0 ms, p99 0 ms, median body 0 bytes, 12 shielded\n"
        "rolled back:        2024-06-01 10:00:03.100 UTC (atMs 1717236003100)\n"
        "reason:             errorRate: error rate 12.5 % vs 0.5 % on the old version, z = 8.1 "
        "(threshold: 2.0 points worse and z >= 3.0)\n"
        "thresholds:         maxErrorRateIncrease 2, minZScore 3, minRequests 50\n"
        "failures in a row:  3\n"
        "compared with:      v1, its figures from its last window with enough requests\n"
        "figures over the 10 s window before the decision:\n"
        "               new        old\n"
        "  requests     240        400\n"
        "  error rate   12.5 %     0.5 %\n"
        "  p50          1.5 ms     1.25 ms\n"
        "  p99          12.25 ms   9.5 ms\n"
        "  median body  512 bytes  498 bytes\n"
        "  shielded     30         0\n"
        "failure samples (oldest first):\n"
        "  10:00:02.900 worker w1: POST /a -> 502 (connection reset by 127.0.0.1:8002)\n"
        "  10:00:02.950 worker w2: GET /b -> 500\n"
        "timeline (from the first failure):\n"
        "  +0 ms    first failure (10:00:02.888)\n"
        "  +212 ms  decision\n"
        "  +215 ms  worker w1 applied the rollback\n"
        "  +224 ms  worker w2 applied the rollback\n"
        "  never confirmed (lost, or silent until the router stopped waiting): w3\n");
}

TEST_CASE("upmeshctl explain ends the timeline when every worker applied the rollback", "[upmeshctl]") {
  json entry = RolledBackEntry();
  json& timeline = entry["state"]["rollback"]["timeline"];
  timeline["allWorkersAppliedAtMs"] = 1717236003112;
  timeline["workersNotConfirmed"] = json::array();
  std::string text = FormatClusterExplanation(entry);
  CHECK_THAT(text, Catch::EndsWith("  +224 ms  worker w2 applied the rollback\n"
                                   "  +224 ms  all workers applied it\n"));
}

TEST_CASE("upmeshctl explain of an operator's rollback right after the decision", "[upmeshctl]") {
  json entry = RolledBackEntry();
  json& record = entry["state"]["rollback"];
  record["reason"] = "operator";
  record["detail"] = "rolled back by an operator through the API";
  record["window"]["old"] = nullptr;
  record["samples"] = json::array();
  // The workers' confirmations are merged into the record a moment later.
  record["timeline"] = {{"firstFailureAtMs", nullptr}, {"decidedAtMs", 1717236003100}};
  std::string text = FormatClusterExplanation(entry);
  CHECK_THAT(text, Catch::Contains("reason:             operator: rolled back by an operator through the API\n"
                                   "thresholds:         none: an operator rolled it back\n"));
  CHECK_THAT(text, Catch::Contains("compared with:      nothing: no older version had figures\n"));
  CHECK_THAT(text, Catch::Contains("  requests     240        -\n"));
  CHECK_THAT(text, !Catch::Contains("failure samples"));
  CHECK_THAT(text, Catch::EndsWith("timeline (from the decision; no failure in the window):\n"
                                   "  +0 ms  decision\n"
                                   "  the workers' confirmations are not recorded yet (they follow a moment after "
                                   "the decision)\n"));
}

TEST_CASE("upmeshctl explain names the thresholds each rule reads", "[upmeshctl]") {
  auto thresholds_line = [](const std::string& reason) {
    json entry = RolledBackEntry();
    entry["state"]["rollback"]["reason"] = reason;
    std::string text = FormatClusterExplanation(entry);
    size_t start = text.find("thresholds:");
    return text.substr(start, text.find('\n', start) - start);
  };
  CHECK(thresholds_line("consecutiveFailures") == "thresholds:         consecutiveFailures 10");
  CHECK(thresholds_line("latencyP99") == "thresholds:         latencyRatio 3, minLatencyIncreaseMs 20, minRequests 50");
  CHECK(thresholds_line("bodySize") == "thresholds:         sizeRatio 4, minSizeDifferenceBytes 100, minRequests 50");
  CHECK(thresholds_line("mismatchRate") == "thresholds:         maxMismatchPercent 10, minRequests 50");
  // A rule of a newer router: all of them rather than the wrong ones.
  CHECK_THAT(thresholds_line("newRule"),
             Catch::StartsWith("thresholds:         consecutiveFailures 10, enabled true, latencyRatio 3, "));
}

TEST_CASE("upmeshctl explain of a version never rolled back says so", "[upmeshctl]") {
  json entry = json::parse(R"({
    "cluster": {"uuid": "c3", "version": "1.10", "servers": [{"ip": "127.0.0.1", "port": 8003}],
                "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": 1}},
    "state": {"requestsServed": 240, "newest": true, "gradualShare": 20.0, "rampRequests": 20, "rampHeld": false,
              "health": "healthy", "healthDetail": "240 requests, error rate 0.0 % vs 0.4 %, p99 3.1 ms vs 3.0 ms",
              "window": {"requests": 240, "ok": 238, "clientErrors": 2, "serverErrors": 0, "refused": 0, "reset": 0,
                         "timeouts": 0, "badFraming": 0, "shielded": 0, "compared": 100, "mismatched": 3,
                         "errorRate": 0.0, "p50Ms": 0.5, "p99Ms": 3.1, "medianBodyBytes": 30, "seconds": 10}}})");
  CHECK(FormatClusterExplanation(entry) ==
        "uuid:               c3\n"
        "version:            1.10 (newest)\n"
        "health:             healthy (240 requests, error rate 0.0 % vs 0.4 %, p99 3.1 ms vs 3.0 ms)\n"
        "window (last 10 s): 240 requests: 238 ok, 2 client errors\n"
        "                    error rate 0 %, p50 0.5 ms, p99 3.1 ms, median body 30 bytes, 0 shielded, "
        "3 of 100 compared answers differed\n"
        "ramp held:          no\n"
        "rolled back:        no\n");
}

TEST_CASE("upmeshctl explain tolerates a router without monitoring and odd JSON", "[upmeshctl]") {
  json older =
      json::parse(R"({"cluster": {"uuid": "a", "version": 1}, "state": {"requestsServed": 3, "newest": true}})");
  CHECK(FormatClusterExplanation(older) ==
        "uuid:               a\n"
        "version:            1 (newest)\n"
        "health:             -\n"
        "window:             -\n"
        "rolled back:        no\n");

  for (const char* odd :
       {"null", "[]", R"({"cluster": 1, "state": "x"})", R"({"state": {"health": "rolledBack", "window": []}})",
        R"({"state": {"rollback": {"window": {"new": 1, "old": "x"}, "samples": [1, {"atMs": "x"}],
                                    "thresholds": 5, "timeline": {"workersApplied": [1], "workersNotConfirmed": 2}}}})",
        R"({"state": {"rollback": {"reason": "latencyP50", "timeline": {"firstFailureAtMs": 5, "decidedAtMs": 1.5e3,
                                    "workersApplied": [{"atMs": 2}]}}}})"}) {
    CHECK_NOTHROW(FormatClusterExplanation(json::parse(odd)));
  }
}

}  // namespace
}  // namespace upmesh::ctl
