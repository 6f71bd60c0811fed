// The shared cluster model: version order, validation messages that name the
// field, and the stored form round trip.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "shared/cluster.h"

using nlohmann::json;
using upmesh::Cluster;
using upmesh::ClusterTable;
using upmesh::CompareVersions;
using upmesh::ParseCluster;
using upmesh::Status;
using upmesh::UpgradeMode;

namespace {

// The message ParseCluster gives for `text` (the object under "cluster"), or "OK".
std::string ErrorOf(const std::string& text) {
  Cluster cluster;
  Status status = ParseCluster(json::parse(text), "cluster", &cluster);
  return status.ok() ? "OK" : status.message();
}

Cluster Version(json version, uint64_t added_order, std::string uuid) {
  Cluster cluster;
  cluster.version = std::move(version);
  cluster.added_order = added_order;
  cluster.uuid = std::move(uuid);
  return cluster;
}

}  // namespace

TEST_CASE("versions compare numerically segment by segment", "[cluster]") {
  CHECK(CompareVersions("1.10", "1.9") > 0);
  CHECK(CompareVersions("1.9", "1") > 0);
  CHECK(CompareVersions("1.10", "1") > 0);
  CHECK(CompareVersions("13", "3") > 0);  // the original proxy's string-order bug
  CHECK(CompareVersions("2.0", "10.0") < 0);
  CHECK(CompareVersions("1.2.3", "1.2.3") == 0);
  CHECK(CompareVersions("01.2", "1.2") == 0);  // leading zeros do not count
}

TEST_CASE("numbers and strings compare by the same rules", "[cluster]") {
  CHECK(CompareVersions(json(2), json("1.9")) > 0);
  CHECK(CompareVersions(json(10), json(9)) > 0);
  CHECK(CompareVersions(json(1.5), json("1.10")) < 0);  // 1.5 is segments 1 and 5
  CHECK(CompareVersions(json(3), json("3")) == 0);
  // A text segment is newer than a numeric one; text segments compare as text.
  CHECK(CompareVersions("1.rc", "1.0") > 0);
  CHECK(CompareVersions("1.beta", "1.alpha") > 0);
}

TEST_CASE("the table is newest first; equal versions: the later added is newer", "[cluster]") {
  ClusterTable table;
  table.Add(Version("1.9", 1, "a"));
  table.Add(Version("1.10", 2, "b"));
  table.Add(Version(1, 3, "c"));
  table.Add(Version("1.10", 4, "d"));  // same version as b, added later
  std::vector<std::string> order;
  for (const Cluster& cluster : table.clusters()) order.push_back(cluster.uuid);
  CHECK(order == std::vector<std::string>{"d", "b", "a", "c"});
  CHECK(table.Remove("d"));
  CHECK_FALSE(table.Remove("d"));
  CHECK(table.clusters().front().uuid == "b");
}

TEST_CASE("every validation error names its field", "[cluster]") {
  CHECK(ErrorOf(R"({"version": 1})") ==
        "cluster.servers: must be a non-empty array of {\"ip\" or \"hostname\", \"port\"}");
  CHECK(ErrorOf(R"({"servers": []})").rfind("cluster.servers:", 0) == 0);
  CHECK(ErrorOf(R"({"servers": [{"ip": "127.0.0.1", "port": 70000}]})") ==
        "cluster.servers[0].port: must be an integer in 1..65535, got 70000");
  CHECK(ErrorOf(R"({"servers": [{"ip": "127.0.0.1", "port": "80"}]})").rfind("cluster.servers[0].port:", 0) == 0);
  CHECK(ErrorOf(R"({"servers": [{"ip": "127.0.0.1"}]})") == "cluster.servers[0].port: missing");
  CHECK(ErrorOf(R"({"servers": [{"port": 80}]})") == "cluster.servers[0]: needs exactly one of \"ip\" or \"hostname\"");
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition": {"mode": "FAST"}})") ==
        "cluster.upgradeTransition.mode: must be one of INSTANT, SESSION, GRADUAL, CONCURRENT, got \"FAST\"");
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition": {"mode": "SESSION"}})") ==
        "cluster.upgradeTransition.sessionTimeout: required for SESSION (seconds)");
  // A transition without a mode is SESSION, so it needs a sessionTimeout too.
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition": {}})") ==
        "cluster.upgradeTransition.sessionTimeout: required for SESSION (seconds)");
  for (const char* share : {"0", "-5", "100.5", "\"10\""}) {
    INFO(share);
    CHECK(ErrorOf(std::string(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": )") +
                  share + "}}")
              .rfind("cluster.upgradeTransition.percentageTransitionPerRequest: must be a number in (0, 100]", 0) == 0);
  }
  const std::string both_or_neither =
      "cluster.upgradeTransition: GRADUAL needs exactly one of percentageTransitionPerRequest "
      "(ramp by requests) or durationSeconds (ramp by time)";
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition": {"mode": "GRADUAL"}})") == both_or_neither);
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition": {"mode": "GRADUAL",
                   "percentageTransitionPerRequest": 5, "durationSeconds": 60}})") == both_or_neither);
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "versoin": 2})") == "cluster.versoin: unknown key; did you mean cluster.version?");
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "version": -1})").rfind("cluster.version:", 0) == 0);
  CHECK(ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "uuid": "a/b"})").rfind("cluster.uuid:", 0) == 0);
  CHECK(ErrorOf(R"([1, 2])").rfind("cluster: must be an object", 0) == 0);
}

TEST_CASE("valid clusters parse with their defaults", "[cluster]") {
  Cluster cluster;
  REQUIRE(ParseCluster(json::parse(R"({"servers": [{"hostname": "localhost", "port": 8001}]})"), "cluster", &cluster).ok());
  CHECK(cluster.transition.mode == UpgradeMode::kInstant);
  CHECK_FALSE(cluster.has_transition);
  CHECK(cluster.servers[0].is_hostname);
  REQUIRE(ParseCluster(json::parse(R"({"servers": [{"ip": "::1", "port": 1}], "upgradeTransition":
                                      {"mode": "CONCURRENT"}})"), "cluster", &cluster).ok());
  CHECK(cluster.transition.delay_tolerance_ms == 1000);
  CHECK(cluster.transition.unsafe_methods == upmesh::UnsafeMethodPolicy::kOldOnly);
}

TEST_CASE("the stored form round-trips order and time", "[cluster]") {
  ClusterTable table;
  Cluster a = Version("2", 7, "a");
  a.servers.push_back({"127.0.0.1", 8001, false});
  a.added_at_ms = 1234;
  table.Add(a);
  ClusterTable back;
  REQUIRE(ClusterTable::FromStoredJson(table.ToStoredJson(), &back).ok());
  REQUIRE(back.clusters().size() == 1);
  CHECK(back.clusters()[0].added_order == 7);
  CHECK(back.clusters()[0].added_at_ms == 1234);
  CHECK(back.clusters()[0].version == json("2"));
  json duplicate = json::array({table.ToStoredJson()[0], table.ToStoredJson()[0]});
  CHECK_FALSE(ClusterTable::FromStoredJson(duplicate, &back).ok());
}

// --- upgradeTransition.monitor, rolledBack, and the live versions ---

namespace {

// The message ParseCluster gives for an INSTANT cluster whose monitor is `monitor` (JSON text), or "OK".
std::string MonitorErrorOf(const std::string& monitor) {
  return ErrorOf(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition": {"mode": "INSTANT", "monitor": )" +
                 monitor + "}}");
}

Cluster ParsedMonitor(const std::string& monitor) {
  Cluster cluster;
  Status status = ParseCluster(json::parse(R"({"servers": [{"ip": "10.0.0.1", "port": 1}], "upgradeTransition":
                                              {"mode": "INSTANT", "monitor": )" + monitor + "}}"),
                               "cluster", &cluster);
  INFO(status.message());
  REQUIRE(status.ok());
  return cluster;
}

}  // namespace

TEST_CASE("monitor: every field is validated with a message naming it", "[cluster]") {
  const std::string prefix = "cluster.upgradeTransition.monitor.";
  CHECK(MonitorErrorOf(R"({"minRequests": 0})") ==
        prefix + "minRequests: must be an integer in 1..1000000000, got 0");
  CHECK(MonitorErrorOf(R"({"minRequests": 1000000001})") ==
        prefix + "minRequests: must be an integer in 1..1000000000, got 1000000001");
  CHECK(MonitorErrorOf(R"({"windowSeconds": 0})") == prefix + "windowSeconds: must be an integer in 1..86400, got 0");
  CHECK(MonitorErrorOf(R"({"windowSeconds": 86401})") ==
        prefix + "windowSeconds: must be an integer in 1..86400, got 86401");
  CHECK(MonitorErrorOf(R"({"windowSeconds": 2.5})") ==
        prefix + "windowSeconds: must be an integer in 1..86400, got 2.5");
  CHECK(MonitorErrorOf(R"({"minLatencyIncreaseMs": -1})") ==
        prefix + "minLatencyIncreaseMs: must be an integer in 0..86400000, got -1");
  CHECK(MonitorErrorOf(R"({"minSizeDifferenceBytes": -1})") ==
        prefix + "minSizeDifferenceBytes: must be an integer in 0..1099511627776, got -1");
  CHECK(MonitorErrorOf(R"({"consecutiveFailures": 0})") ==
        prefix + "consecutiveFailures: must be an integer in 1..1000000, got 0");
  CHECK(MonitorErrorOf(R"({"enabled": "yes"})") == prefix + "enabled: must be true or false, got \"yes\"");
  CHECK(MonitorErrorOf(R"({"shield": 1})") == prefix + "shield: must be true or false, got 1");
  // The number fields: the message names the field, the range and the value.
  struct NumberCase {
    const char* field;
    const char* bad;
  };
  for (NumberCase c : {NumberCase{"maxErrorRateIncrease", "101"}, NumberCase{"maxErrorRateIncrease", "-0.5"},
                       NumberCase{"minZScore", "-1"}, NumberCase{"minZScore", "\"3\""},
                       NumberCase{"latencyRatio", "0.5"}, NumberCase{"latencyRatio", "1000001"},
                       NumberCase{"sizeRatio", "0.99"}, NumberCase{"maxMismatchPercent", "100.5"},
                       NumberCase{"rampProbePercent", "-1"}, NumberCase{"rampProbePercent", "null"}}) {
    std::string message = MonitorErrorOf(std::string("{\"") + c.field + "\": " + c.bad + "}");
    INFO(message);
    CHECK(message.rfind(prefix + c.field + ": must be a number in ", 0) == 0);
    CHECK(message.size() >= std::string(c.bad).size());
    CHECK(message.compare(message.size() - std::string(c.bad).size(), std::string::npos, c.bad) == 0);
  }
  CHECK(MonitorErrorOf(R"({"windowSecs": 5})") ==
        prefix + "windowSecs: unknown key; did you mean " + prefix + "windowSeconds?");
  CHECK(MonitorErrorOf(R"({"nothingLikeIt": 5})") == prefix + "nothingLikeIt: unknown key");
  CHECK(MonitorErrorOf("[]") == "cluster.upgradeTransition.monitor: must be an object, got []");
  CHECK(MonitorErrorOf("null") == "cluster.upgradeTransition.monitor: must be an object, got null");
  CHECK(MonitorErrorOf("true") == "cluster.upgradeTransition.monitor: must be an object, got true");
}

TEST_CASE("monitor: the limits themselves are accepted", "[cluster]") {
  Cluster low = ParsedMonitor(R"({"windowSeconds": 1, "minRequests": 1, "maxErrorRateIncrease": 0, "minZScore": 0,
                                  "latencyRatio": 1, "minLatencyIncreaseMs": 0, "sizeRatio": 1,
                                  "minSizeDifferenceBytes": 0, "maxMismatchPercent": 0, "consecutiveFailures": 1,
                                  "rampProbePercent": 0, "enabled": false, "shield": false})");
  CHECK(low.transition.monitor.window_seconds == 1);
  CHECK(low.transition.monitor.min_requests == 1);
  CHECK(low.transition.monitor.latency_ratio == 1);
  CHECK(low.transition.monitor.consecutive_failures == 1);
  CHECK_FALSE(low.transition.monitor.enabled);
  CHECK_FALSE(low.transition.monitor.shield);
  Cluster high = ParsedMonitor(R"({"windowSeconds": 86400, "minRequests": 1000000000, "maxErrorRateIncrease": 100,
                                   "minZScore": 100, "latencyRatio": 1000000, "minLatencyIncreaseMs": 86400000,
                                   "sizeRatio": 1000000, "minSizeDifferenceBytes": 1099511627776,
                                   "maxMismatchPercent": 100, "consecutiveFailures": 1000000,
                                   "rampProbePercent": 100})");
  CHECK(high.transition.monitor.window_seconds == 86400);
  CHECK(high.transition.monitor.min_requests == 1000000000);
  CHECK(high.transition.monitor.min_size_difference_bytes == (int64_t{1} << 40));
  CHECK(high.transition.monitor.max_mismatch_percent == 100);
  CHECK(high.transition.monitor.ramp_probe_percent == 100);
}

TEST_CASE("monitor: defaults when absent, and only the given fields change", "[cluster]") {
  upmesh::MonitorConfig defaults;
  Cluster plain;
  REQUIRE(ParseCluster(json::parse(R"({"servers": [{"ip": "10.0.0.1", "port": 1}],
                                      "upgradeTransition": {"mode": "INSTANT"}})"), "cluster", &plain).ok());
  CHECK_FALSE(plain.transition.has_monitor);
  CHECK(upmesh::MonitorToJson(plain.transition.monitor) == upmesh::MonitorToJson(defaults));
  CHECK(plain.transition.monitor.enabled);
  CHECK(plain.transition.monitor.window_seconds == 10);
  CHECK(plain.transition.monitor.min_requests == 50);
  CHECK(plain.transition.monitor.consecutive_failures == 10);

  Cluster partial = ParsedMonitor(R"({"minRequests": 200, "latencyRatio": 2.5})");
  CHECK(partial.transition.has_monitor);
  CHECK(partial.transition.monitor.min_requests == 200);
  CHECK(partial.transition.monitor.latency_ratio == 2.5);
  CHECK(partial.transition.monitor.window_seconds == defaults.window_seconds);
  CHECK(partial.transition.monitor.max_error_rate_increase == defaults.max_error_rate_increase);
  CHECK(partial.transition.monitor.shield == defaults.shield);
}

TEST_CASE("monitor: MonitorToJson names every field", "[cluster]") {
  json expected = json::parse(R"({"enabled": true, "windowSeconds": 10, "minRequests": 50,
                                  "maxErrorRateIncrease": 2.0, "minZScore": 3.0, "latencyRatio": 3.0,
                                  "minLatencyIncreaseMs": 20, "sizeRatio": 4.0, "minSizeDifferenceBytes": 100,
                                  "maxMismatchPercent": 10.0, "consecutiveFailures": 10, "shield": true,
                                  "rampProbePercent": 5.0})");
  CHECK(upmesh::MonitorToJson(upmesh::MonitorConfig()) == expected);
  // Whatever MonitorToJson writes, ParseCluster reads back the same.
  Cluster custom = ParsedMonitor(R"({"windowSeconds": 30, "minZScore": 2.5, "shield": false})");
  Cluster again = ParsedMonitor(upmesh::MonitorToJson(custom.transition.monitor).dump());
  CHECK(upmesh::MonitorToJson(again.transition.monitor) == upmesh::MonitorToJson(custom.transition.monitor));
  CHECK(again.transition.monitor.window_seconds == 30);
}

TEST_CASE("monitor: echoed by the API only when given", "[cluster]") {
  Cluster plain;
  REQUIRE(ParseCluster(json::parse(R"({"servers": [{"ip": "10.0.0.1", "port": 1}],
                                      "upgradeTransition": {"mode": "GRADUAL", "durationSeconds": 60}})"),
                       "cluster", &plain).ok());
  json shown = upmesh::ClusterToJson(plain);
  CHECK_FALSE(shown["upgradeTransition"].contains("monitor"));

  Cluster given = ParsedMonitor(R"({"consecutiveFailures": 3})");
  shown = upmesh::ClusterToJson(given);
  REQUIRE(shown["upgradeTransition"].contains("monitor"));
  CHECK(shown["upgradeTransition"]["monitor"]["consecutiveFailures"] == 3);
  CHECK(shown["upgradeTransition"]["monitor"]["minRequests"] == 50);  // the whole config, defaults included

  // The stored form keeps the monitor too.
  given.uuid = "m";
  Cluster back;
  REQUIRE(upmesh::ClusterFromStoredJson(upmesh::ClusterToStoredJson(given), &back).ok());
  CHECK(back.transition.has_monitor);
  CHECK(back.transition.monitor.consecutive_failures == 3);
}

TEST_CASE("rolledBack: stored only when true, read back, not shown by the API", "[cluster]") {
  Cluster cluster = Version(2, 3, "r");
  cluster.servers.push_back({"127.0.0.1", 8001, false});
  json stored = upmesh::ClusterToStoredJson(cluster);
  CHECK_FALSE(stored.contains("rolledBack"));
  Cluster back;
  REQUIRE(upmesh::ClusterFromStoredJson(stored, &back).ok());
  CHECK_FALSE(back.rolled_back);

  cluster.rolled_back = true;
  stored = upmesh::ClusterToStoredJson(cluster);
  CHECK(stored["rolledBack"] == true);
  CHECK_FALSE(upmesh::ClusterToJson(cluster).contains("rolledBack"));
  REQUIRE(upmesh::ClusterFromStoredJson(stored, &back).ok());
  CHECK(back.rolled_back);
  CHECK(back.added_order == 3);

  ClusterTable table;
  table.Add(cluster);
  ClusterTable reloaded;
  REQUIRE(ClusterTable::FromStoredJson(table.ToStoredJson(), &reloaded).ok());
  CHECK(reloaded.clusters()[0].rolled_back);
}

TEST_CASE("the live versions: newest first, without the rolled-back ones", "[cluster]") {
  ClusterTable table;
  CHECK(table.NewestLive() == nullptr);
  CHECK(table.Live().empty());
  table.Add(Version(1, 1, "a"));
  table.Add(Version(2, 2, "b"));
  table.Add(Version(3, 3, "c"));
  REQUIRE(table.NewestLive() != nullptr);
  CHECK(table.NewestLive()->uuid == "c");
  CHECK(table.Live().size() == 3);

  CHECK(table.MarkRolledBack("c"));
  CHECK(table.Find("c")->rolled_back);
  CHECK(table.clusters().size() == 3);  // kept for the record
  CHECK(table.clusters()[0].uuid == "c");
  CHECK(table.NewestLive()->uuid == "b");
  std::vector<std::string> live;
  for (const Cluster* cluster : table.Live()) live.push_back(cluster->uuid);
  CHECK(live == std::vector<std::string>{"b", "a"});

  CHECK(table.MarkRolledBack("a"));  // an older one may be rolled back too
  CHECK(table.Live().size() == 1);
  CHECK(table.NewestLive()->uuid == "b");
  CHECK_FALSE(table.MarkRolledBack("zz"));
  CHECK(table.MarkRolledBack("b"));
  CHECK(table.NewestLive() == nullptr);
  CHECK(table.Live().empty());
}
