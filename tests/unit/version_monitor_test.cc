// VersionMonitor: windows of 100 ms buckets that expire, the old version's
// baseline after an INSTANT switch, failure runs summed over workers, the
// candidate (newest live, monitored, with an older live version), "watching"
// before a first conclusive verdict, Evidence, StateOf and Forget.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/version_monitor.h"

using nlohmann::json;
using upmesh::Cluster;
using upmesh::ClusterTable;
using upmesh::FailureSample;
using upmesh::HealthFigures;
using upmesh::HealthReport;
using upmesh::LogHistogram;
using upmesh::MonitorConfig;
using upmesh::MonitorToJson;
using upmesh::ParseCluster;
using upmesh::Status;
using upmesh::VersionReport;
using upmesh::router::Health;
using upmesh::router::VersionMonitor;

namespace {

// A cluster "uuid" of `version`, with the upgradeTransition `transition` (JSON) when given.
Cluster Make(const std::string& uuid, int version, const std::string& transition = "") {
  std::string text = R"({"uuid": ")" + uuid + R"(", "version": )" + std::to_string(version) +
                     R"(, "servers": [{"ip": "127.0.0.1", "port": 8000}])";
  if (!transition.empty()) text += R"(, "upgradeTransition": )" + transition;
  text += "}";
  Cluster cluster;
  Status status = ParseCluster(json::parse(text), "cluster", &cluster);
  INFO(status.message());
  REQUIRE(status.ok());
  cluster.added_order = static_cast<uint64_t>(version);
  return cluster;
}

ClusterTable Table(std::vector<Cluster> clusters) {
  ClusterTable table;
  for (Cluster& cluster : clusters) table.Add(std::move(cluster));
  return table;
}

VersionReport Figures(uint64_t requests, uint64_t errors, uint64_t latency_us = 10000, uint64_t failure_run = 0) {
  VersionReport version;
  version.figures.ok = requests - errors;
  version.figures.server_errors = errors;
  version.figures.latency_us.AddToBin(LogHistogram::BinOf(latency_us), version.figures.ok);
  version.figures.body_bytes.AddToBin(LogHistogram::BinOf(2000), version.figures.ok);
  version.failure_run = failure_run;
  return version;
}

HealthReport Report(const std::string& uuid, const VersionReport& version) {
  HealthReport report;
  report.seq = 1;
  report.versions[uuid] = version;
  return report;
}

HealthReport Report(const std::string& uuid, uint64_t requests, uint64_t errors, uint64_t latency_us = 10000) {
  return Report(uuid, Figures(requests, errors, latency_us));
}

// The window's figures of `uuid` as the API shows them.
json WindowOf(const VersionMonitor& monitor, const ClusterTable& table, const std::string& uuid) {
  return monitor.StateOf(table, *table.Find(uuid))["window"];
}

}  // namespace

TEST_CASE("monitor: one version alone has no candidate and no verdict", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1)});
  monitor.Record("w1", Report("v1", 200, 200), table, 0);
  CHECK_FALSE(monitor.Evaluate(table, 0).has_value());  // every request failed, but nothing to go back to
  CHECK(monitor.VerdictOf("v1") == Health::kWatching);
  json state = monitor.StateOf(table, *table.Find("v1"));
  CHECK(state["health"] == "healthy");
  CHECK(state["healthDetail"] == "the only version that can serve: nothing to compare it with");
  CHECK(state["window"]["requests"] == 200);
  CHECK(state["window"]["serverErrors"] == 200);
  CHECK(state["window"]["seconds"] == 10);
}

TEST_CASE("monitor: reports of versions not in the table are ignored", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  HealthReport report = Report("v2", 100, 0);
  report.versions["ghost"] = Figures(100, 100, 10000, 50);
  monitor.Record("w1", report, table, 0);
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 100);
  // "ghost" joins the table later: nothing was kept of the report that came before it.
  ClusterTable later = Table({Make("v1", 1), Make("v2", 2), Make("ghost", 3)});
  CHECK(WindowOf(monitor, later, "ghost")["requests"] == 0);
  CHECK(monitor.Evidence(later, "ghost", "x", "y", 0)["failureRun"] == 0);
  CHECK_FALSE(monitor.Evaluate(later, 0).has_value());  // its run of 50 was never recorded
}

TEST_CASE("monitor: watching until a first conclusive verdict, then inconclusive when data runs out",
          "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  monitor.Record("w1", Report("v1", 500, 0), table, 0);
  monitor.Record("w1", Report("v2", 10, 0), table, 0);
  CHECK_FALSE(monitor.Evaluate(table, 0).has_value());
  CHECK(monitor.VerdictOf("v2") == Health::kWatching);  // 10 requests: too few, and never judged yet
  json state = monitor.StateOf(table, *table.Find("v2"));
  CHECK(state["health"] == "watching");
  CHECK(state["healthDetail"] == "10 requests in the window, 50 needed");

  monitor.Record("w1", Report("v2", 190, 1), table, 50);
  CHECK_FALSE(monitor.Evaluate(table, 50).has_value());
  CHECK(monitor.VerdictOf("v2") == Health::kHealthy);
  CHECK(monitor.StateOf(table, *table.Find("v2"))["health"] == "healthy");

  // The window empties (10 s default): judged before, so now inconclusive rather than watching.
  CHECK_FALSE(monitor.Evaluate(table, 20000).has_value());
  CHECK(monitor.VerdictOf("v2") == Health::kInconclusive);
  CHECK(monitor.StateOf(table, *table.Find("v2"))["health"] == "inconclusive");
  CHECK(monitor.VerdictOf("v1") == Health::kWatching);  // not the candidate
}

TEST_CASE("monitor: an unhealthy candidate gives a decision", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  monitor.Record("w1", Report("v1", 200, 0), table, 1000);
  monitor.Record("w2", Report("v2", 200, 20), table, 1000);
  std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(table, 1000);
  REQUIRE(decision.has_value());
  CHECK(decision->uuid == "v2");
  CHECK(decision->judgement.health == Health::kUnhealthy);
  CHECK(decision->judgement.rule == "errorRate");
  CHECK(monitor.VerdictOf("v2") == Health::kUnhealthy);
  json state = monitor.StateOf(table, *table.Find("v2"));
  CHECK(state["health"] == "unhealthy");
  CHECK(state["healthDetail"] == decision->judgement.detail);
}

TEST_CASE("monitor: reports from several workers add up in the window", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  // 30 + 30 requests: each worker alone is below minRequests, together they are judged.
  monitor.Record("w1", Report("v1", 100, 0), table, 0);
  monitor.Record("w1", Report("v2", 30, 6), table, 0);
  CHECK_FALSE(monitor.Evaluate(table, 0).has_value());
  monitor.Record("w2", Report("v2", 30, 6), table, 30);
  monitor.Record("w2", Report("v2", 20, 0), table, 230);  // another bucket
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 80);
  std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(table, 230);
  REQUIRE(decision.has_value());
  CHECK(decision->judgement.rule == "errorRate");  // 12 of 80 against 0 of 100
}

TEST_CASE("monitor: the window expires after the candidate's windowSeconds", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2, R"({"mode": "INSTANT", "monitor": {"windowSeconds": 2}})")});
  monitor.Record("w1", Report("v1", 100, 0), table, 1050);
  monitor.Record("w1", Report("v2", 100, 0), table, 1050);
  monitor.Record("w1", Report("v2", 5, 5), table, 2050);
  monitor.Evaluate(table, 2950);  // 1.9 s after the first report: still in
  CHECK(WindowOf(monitor, table, "v2")["seconds"] == 2);
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 105);
  CHECK(monitor.VerdictOf("v2") == Health::kHealthy);
  monitor.Evaluate(table, 3150);  // 2.1 s after: the first bucket is gone, the second stays
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 5);
  CHECK(WindowOf(monitor, table, "v2")["serverErrors"] == 5);
  CHECK(WindowOf(monitor, table, "v1")["requests"] == 0);
  CHECK(monitor.VerdictOf("v2") == Health::kInconclusive);
  monitor.Evaluate(table, 4150);
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 0);
  CHECK(WindowOf(monitor, table, "v2")["p99Ms"] == 0);  // the histograms leave with their buckets
}

TEST_CASE("monitor: the default window is ten seconds", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  monitor.Record("w1", Report("v2", 100, 0), table, 100000);
  monitor.Evaluate(table, 109800);
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 100);
  monitor.Evaluate(table, 110200);
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 0);
}

TEST_CASE("monitor: after an INSTANT switch the old version's baseline is the comparison", "[version-monitor]") {
  VersionMonitor monitor;
  // Before the switch: v1 alone serves, fast.
  ClusterTable before = Table({Make("v1", 1)});
  monitor.Record("w1", Report("v1", 300, 0, 10000), before, 1000);
  CHECK_FALSE(monitor.Evaluate(before, 1000).has_value());

  // The switch: v2 (INSTANT) takes every request; v1 gets none from now on.
  ClusterTable after = Table({Make("v1", 1), Make("v2", 2, R"({"mode": "INSTANT"})")});
  monitor.Record("w1", Report("v2", 300, 0, 200000), after, 30000);  // 20x slower
  std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(after, 30000);
  CHECK(WindowOf(monitor, after, "v1")["requests"] == 0);  // v1's own window is empty now
  REQUIRE(decision.has_value());
  CHECK(decision->uuid == "v2");
  CHECK(decision->judgement.rule == "latencyP50");

  json evidence = monitor.Evidence(after, "v2", decision->judgement.rule, decision->judgement.detail, 1700000000000);
  REQUIRE(evidence["window"]["old"].is_object());
  CHECK(evidence["window"]["old"]["from"] == "baseline");
  CHECK(evidence["window"]["old"]["uuid"] == "v1");
  CHECK(evidence["window"]["old"]["requests"] == 300);
  CHECK(evidence["window"]["old"]["p50Ms"].get<double>() == Approx(10).epsilon(0.125));
  CHECK(evidence["window"]["new"]["p50Ms"].get<double>() == Approx(200).epsilon(0.125));
}

TEST_CASE("monitor: a healthy version after an INSTANT switch is judged healthy against the baseline",
          "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable before = Table({Make("v1", 1)});
  monitor.Record("w1", Report("v1", 300, 3), before, 1000);
  monitor.Evaluate(before, 1000);
  ClusterTable after = Table({Make("v1", 1), Make("v2", 2, R"({"mode": "INSTANT"})")});
  monitor.Record("w1", Report("v2", 300, 3), after, 30000);
  CHECK_FALSE(monitor.Evaluate(after, 30000).has_value());
  CHECK(monitor.VerdictOf("v2") == Health::kHealthy);  // not "watching": there was something to compare with
}

TEST_CASE("monitor: without a baseline a quiet old version leaves the candidate watching", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2, R"({"mode": "INSTANT"})")});
  // v1's traffic was never evaluated while it was busy, so it has no baseline.
  monitor.Record("w1", Report("v1", 300, 0), table, 1000);
  monitor.Record("w1", Report("v2", 300, 150), table, 30000);
  CHECK_FALSE(monitor.Evaluate(table, 30000).has_value());
  CHECK(monitor.VerdictOf("v2") == Health::kWatching);
  json evidence = monitor.Evidence(table, "v2", "operator", "", 0);
  CHECK(evidence["window"]["old"]["from"] == "window");
  CHECK(evidence["window"]["old"]["requests"] == 0);
}

TEST_CASE("monitor: a busy old version is compared by its window, not its baseline", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  monitor.Record("w1", Report("v1", 300, 150), table, 1000);  // an old, bad stretch
  monitor.Evaluate(table, 1000);
  monitor.Record("w1", Report("v1", 300, 0), table, 30000);
  monitor.Record("w1", Report("v2", 300, 30), table, 30000);
  std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(table, 30000);
  REQUIRE(decision.has_value());  // 10 % against the current 0 %, not against the old 50 %
  CHECK(decision->judgement.rule == "errorRate");
  json evidence = monitor.Evidence(table, "v2", "errorRate", "", 0);
  CHECK(evidence["window"]["old"]["from"] == "window");
  CHECK(evidence["window"]["old"]["serverErrors"] == 0);
}

TEST_CASE("monitor: failure runs summed below the threshold do not fire", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});  // consecutiveFailures 10
  monitor.Record("w1", Report("v2", Figures(6, 6, 0, 6)), table, 100);
  monitor.Record("w2", Report("v2", Figures(3, 3, 0, 3)), table, 150);
  CHECK_FALSE(monitor.Evaluate(table, 150).has_value());  // 6 + 3 = 9
  CHECK(monitor.Evidence(table, "v2", "", "", 0)["failureRun"] == 9);
}

TEST_CASE("monitor: summed failure runs over two workers trigger consecutiveFailures", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});  // consecutiveFailures 10
  monitor.Record("w1", Report("v2", Figures(6, 6, 0, 6)), table, 100);
  CHECK_FALSE(monitor.Evaluate(table, 100).has_value());  // 6 < 10
  monitor.Record("w2", Report("v2", Figures(5, 5, 0, 5)), table, 150);
  std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(table, 150);
  REQUIRE(decision.has_value());  // 6 + 5 = 11, with no old traffic and only 11 requests
  CHECK(decision->uuid == "v2");
  CHECK(decision->judgement.rule == "consecutiveFailures");
  CHECK(decision->judgement.detail == "11 failures in a row (threshold 10)");
}

TEST_CASE("monitor: a worker's newer run replaces its older one", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  monitor.Record("w1", Report("v2", Figures(8, 8, 0, 8)), table, 100);
  monitor.Record("w1", Report("v2", Figures(1, 0, 0, 0)), table, 200);  // a success ended w1's run
  monitor.Record("w2", Report("v2", Figures(5, 5, 0, 5)), table, 300);
  CHECK_FALSE(monitor.Evaluate(table, 300).has_value());  // 0 + 5, not 8 + 5
  CHECK(monitor.Evidence(table, "v2", "", "", 0)["failureRun"] == 5);
  // A run carried over from an earlier report (no new figures) still counts.
  monitor.Record("w1", Report("v2", Figures(0, 0, 0, 5)), table, 400);
  std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(table, 400);
  REQUIRE(decision.has_value());
  CHECK(decision->judgement.rule == "consecutiveFailures");
}

TEST_CASE("monitor: the candidate is the newest live version with monitoring on", "[version-monitor]") {
  SECTION("monitoring disabled: never judged") {
    VersionMonitor monitor;
    ClusterTable table =
        Table({Make("v1", 1), Make("v2", 2, R"({"mode": "INSTANT", "monitor": {"enabled": false}})")});
    monitor.Record("w1", Report("v1", 200, 0), table, 0);
    monitor.Record("w1", Report("v2", Figures(200, 200, 0, 200)), table, 0);
    CHECK_FALSE(monitor.Evaluate(table, 0).has_value());
    CHECK(monitor.VerdictOf("v2") == Health::kWatching);
    json state = monitor.StateOf(table, *table.Find("v2"));
    CHECK(state["health"] == "healthy");
    CHECK(state["healthDetail"] == "not judged: monitoring is disabled (upgradeTransition.monitor)");
  }
  SECTION("a rolled-back newest version: the next one is the candidate") {
    VersionMonitor monitor;
    ClusterTable table = Table({Make("v1", 1), Make("v2", 2), Make("v3", 3)});
    REQUIRE(table.MarkRolledBack("v3"));
    monitor.Record("w1", Report("v1", 200, 0), table, 0);
    monitor.Record("w1", Report("v2", 200, 40), table, 0);
    monitor.Record("w1", Report("v3", Figures(0, 0, 0, 50)), table, 0);
    std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(table, 0);
    REQUIRE(decision.has_value());
    CHECK(decision->uuid == "v2");
    CHECK(decision->judgement.rule == "errorRate");
    CHECK(monitor.StateOf(table, *table.Find("v3"))["health"] == "rolledBack");
    CHECK(monitor.StateOf(table, *table.Find("v3"))["healthDetail"] == "rolled back: gets no traffic");
  }
  SECTION("the older live versions") {
    VersionMonitor monitor;
    ClusterTable table = Table({Make("v1", 1), Make("v2", 2), Make("v3", 3)});
    json before = monitor.StateOf(table, *table.Find("v3"));
    CHECK(before["health"] == "watching");
    CHECK(before["healthDetail"] == "not judged yet");
    CHECK(monitor.StateOf(table, *table.Find("v2"))["healthDetail"] ==
          "the baseline the newest version is compared with");
    CHECK(monitor.StateOf(table, *table.Find("v2"))["health"] == "healthy");
    CHECK(monitor.StateOf(table, *table.Find("v1"))["healthDetail"] == "an older version: not judged");
  }
}

TEST_CASE("monitor: a new candidate starts watching again", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable two = Table({Make("v1", 1), Make("v2", 2)});
  monitor.Record("w1", Report("v1", 200, 0), two, 0);
  monitor.Record("w1", Report("v2", 200, 0), two, 0);
  monitor.Evaluate(two, 0);
  CHECK(monitor.VerdictOf("v2") == Health::kHealthy);
  ClusterTable three = Table({Make("v1", 1), Make("v2", 2), Make("v3", 3)});
  monitor.Record("w1", Report("v3", 5, 0), three, 100);
  monitor.Evaluate(three, 100);
  CHECK(monitor.VerdictOf("v3") == Health::kWatching);
  CHECK(monitor.VerdictOf("v2") == Health::kWatching);  // no longer the candidate
  CHECK(monitor.StateOf(three, *three.Find("v2"))["healthDetail"] ==
        "the baseline the newest version is compared with");
}

TEST_CASE("monitor: evidence of a rollback", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2, R"({"mode": "INSTANT", "monitor": {"minRequests": 20}})")});
  monitor.Record("w1", Report("v1", 100, 0), table, 0);
  for (int i = 0; i < 7; ++i) {
    VersionReport version = Figures(10, 5, 10000, static_cast<uint64_t>(i + 1));
    version.first_failure_at_ms = 1700000005000 - i;  // the earliest comes last
    FailureSample sample;
    sample.method = "GET";
    sample.target = "/s" + std::to_string(i);
    sample.status = 502;
    sample.at_ms = 1700000005000 + i;
    version.samples.push_back(sample);
    monitor.Record(i % 2 ? "w2" : "w1", Report("v2", version), table, 100 * i);
  }
  std::optional<VersionMonitor::Decision> decision = monitor.Evaluate(table, 700);
  REQUIRE(decision.has_value());
  json evidence = monitor.Evidence(table, "v2", decision->judgement.rule, decision->judgement.detail, 1700000009999);
  CHECK(evidence["uuid"] == "v2");
  CHECK(evidence["version"] == 2);
  CHECK(evidence["reason"] == decision->judgement.rule);
  CHECK(evidence["detail"] == decision->judgement.detail);
  CHECK(evidence["atMs"] == 1700000009999);
  CHECK(evidence["window"]["seconds"] == 10);
  CHECK(evidence["window"]["new"]["requests"] == 70);
  CHECK(evidence["window"]["new"]["serverErrors"] == 35);
  CHECK(evidence["window"]["old"]["uuid"] == "v1");
  CHECK(evidence["window"]["old"]["from"] == "window");
  CHECK(evidence["window"]["old"]["requests"] == 100);
  CHECK(evidence["failureRun"] == 7 + 6);  // w1's last run 7, w2's last run 6
  MonitorConfig expected;
  expected.min_requests = 20;
  CHECK(evidence["thresholds"] == MonitorToJson(expected));
  // The last five samples, newest last, each with its worker.
  REQUIRE(evidence["samples"].size() == VersionMonitor::kSamplesKept);
  CHECK(evidence["samples"][0]["target"] == "/s2");
  CHECK(evidence["samples"][4]["target"] == "/s6");
  CHECK(evidence["samples"][4]["worker"] == "w1");
  CHECK(evidence["samples"][3]["worker"] == "w2");
  CHECK(evidence["timeline"]["firstFailureAtMs"] == 1700000005000 - 6);
  CHECK(evidence["timeline"]["decidedAtMs"] == 1700000009999);
}

TEST_CASE("monitor: evidence without failures or an older version", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1)});
  json evidence = monitor.Evidence(table, "v1", "operator", "by hand", 5);
  CHECK(evidence["window"]["old"].is_null());
  CHECK(evidence["timeline"]["firstFailureAtMs"].is_null());
  CHECK(evidence["samples"] == json::array());
  CHECK(evidence["failureRun"] == 0);
  CHECK(evidence["window"]["new"]["requests"] == 0);
  // An older version compared with the one after it.
  ClusterTable three = Table({Make("v1", 1), Make("v2", 2), Make("v3", 3)});
  monitor.Record("w1", Report("v1", 10, 0), three, 0);
  CHECK(monitor.Evidence(three, "v2", "operator", "", 0)["window"]["old"]["uuid"] == "v1");
  CHECK(monitor.Evidence(three, "v1", "operator", "", 0)["window"]["old"].is_null());
}

TEST_CASE("monitor: the first failure leaves the evidence with its bucket", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  VersionReport early = Figures(1, 1, 0, 1);
  early.first_failure_at_ms = 111;
  monitor.Record("w1", Report("v2", early), table, 0);
  VersionReport late = Figures(1, 1, 0, 2);
  late.first_failure_at_ms = 222;
  monitor.Record("w1", Report("v2", late), table, 5000);
  CHECK(monitor.Evidence(table, "v2", "", "", 0)["timeline"]["firstFailureAtMs"] == 111);
  monitor.Evaluate(table, 12000);
  CHECK(monitor.Evidence(table, "v2", "", "", 0)["timeline"]["firstFailureAtMs"] == 222);
}

TEST_CASE("monitor: within a bucket the earliest first failure is kept, whatever the report order",
          "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  VersionReport later = Figures(1, 1, 0, 1);
  later.first_failure_at_ms = 5000;
  VersionReport earlier = Figures(1, 1, 0, 1);
  earlier.first_failure_at_ms = 4000;
  VersionReport none = Figures(1, 0, 0, 0);  // no failure: does not reset it
  monitor.Record("w1", Report("v2", later), table, 1010);
  monitor.Record("w2", Report("v2", earlier), table, 1020);  // the same 100 ms bucket
  monitor.Record("w3", Report("v2", none), table, 1030);
  CHECK(monitor.Evidence(table, "v2", "", "", 0)["timeline"]["firstFailureAtMs"] == 4000);
}

TEST_CASE("monitor: Forget drops a deleted version's window and verdict", "[version-monitor]") {
  VersionMonitor monitor;
  ClusterTable table = Table({Make("v1", 1), Make("v2", 2)});
  monitor.Record("w1", Report("v1", 200, 0), table, 0);
  monitor.Record("w1", Report("v2", Figures(200, 0, 10000, 0)), table, 0);
  monitor.Evaluate(table, 0);
  REQUIRE(monitor.VerdictOf("v2") == Health::kHealthy);
  monitor.Forget("v2");
  CHECK(monitor.VerdictOf("v2") == Health::kWatching);
  CHECK(WindowOf(monitor, table, "v2")["requests"] == 0);
  CHECK(monitor.StateOf(table, *table.Find("v2"))["health"] == "watching");
  monitor.Forget("v1");
  CHECK(WindowOf(monitor, table, "v1")["requests"] == 0);
  monitor.Forget("never-seen");  // harmless
}
