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
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "upgradeTransition": {"mode": "FAST"}})") ==
        "cluster.upgradeTransition.mode: must be one of INSTANT, SESSION, GRADUAL, CONCURRENT, got \"FAST\"");
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "upgradeTransition": {"mode": "SESSION"}})") ==
        "cluster.upgradeTransition.sessionTimeout: required for SESSION (seconds)");
  // A transition without a mode is SESSION, so it needs a sessionTimeout too.
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "upgradeTransition": {}})") ==
        "cluster.upgradeTransition.sessionTimeout: required for SESSION (seconds)");
  for (const char* share : {"0", "-5", "100.5", "\"10\""}) {
    INFO(share);
    CHECK(ErrorOf(std::string(R"({"servers": [{"ip": "a", "port": 1}], "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": )") +
                  share + "}}")
              .rfind("cluster.upgradeTransition.percentageTransitionPerRequest: must be a number in (0, 100]", 0) == 0);
  }
  const std::string both_or_neither =
      "cluster.upgradeTransition: GRADUAL needs exactly one of percentageTransitionPerRequest "
      "(ramp by requests) or durationSeconds (ramp by time)";
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "upgradeTransition": {"mode": "GRADUAL"}})") == both_or_neither);
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "upgradeTransition": {"mode": "GRADUAL",
                   "percentageTransitionPerRequest": 5, "durationSeconds": 60}})") == both_or_neither);
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "versoin": 2})") == "cluster.versoin: unknown key");
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "version": -1})").rfind("cluster.version:", 0) == 0);
  CHECK(ErrorOf(R"({"servers": [{"ip": "a", "port": 1}], "uuid": "a/b"})").rfind("cluster.uuid:", 0) == 0);
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
