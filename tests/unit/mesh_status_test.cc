// GET /status through the config API without sockets: every version with
// its mode, health and set/actual share, newest first, and the peers the
// router describes.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "router/config_api.h"

using nlohmann::json;
using upmesh::HealthReport;
using upmesh::router::ApiResponse;
using upmesh::router::ClusterRegistry;
using upmesh::router::ConfigApi;
using upmesh::router::VersionMonitor;

namespace {

struct Fixture {
  Fixture() : registry(Dir() + "/state.json"), api(&registry, &monitor, nullptr) {
    bool loaded;
    REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string Dir() {
    char pattern[] = "/tmp/upmesh-status-test-XXXXXX";
    dir = mkdtemp(pattern);
    return dir;
  }
  void Put(const std::string& fields) {
    ApiResponse response = api.Handle(
        {"PUT", "/configuration/cluster",
         R"({"cluster": {"servers": [{"ip": "127.0.0.1", "port": 8001}], )" + fields + "}}"},
        1000);
    INFO(response.body);
    REQUIRE(response.status == 202);
  }
  json Status() {
    ApiResponse response = api.Handle({"GET", "/status", ""}, 2000);
    REQUIRE(response.status == 200);
    CHECK(response.content_type == "application/json");
    return json::parse(response.body);
  }

  std::string dir;
  ClusterRegistry registry;
  VersionMonitor monitor;
  ConfigApi api;
};

HealthReport Served(const std::string& uuid, uint64_t ok) {
  HealthReport report;
  upmesh::HealthFigures& figures = report.versions[uuid].figures;
  figures.ok = ok;
  for (uint64_t i = 0; i < ok; ++i) figures.latency_us.Add(3000);
  return report;
}

}  // namespace

TEST_CASE("GET /status lists the versions newest first with mode, health and shares", "[mesh-status]") {
  Fixture f;
  f.Put(R"("uuid": "u1", "version": 1)");
  f.Put(R"("uuid": "u2", "version": "2.<b>", "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": 1})");
  f.monitor.Record("w1", Served("u1", 30), f.registry.table(), 0);
  f.monitor.Record("w1", Served("u2", 10), f.registry.table(), 100);
  json status = f.Status();
  INFO(status.dump(1));
  CHECK(status["atMs"] == 2000);
  CHECK(status["seq"] == f.registry.seq());
  REQUIRE(status["versions"].size() == 2);
  json newest = status["versions"][0];
  CHECK(newest["uuid"] == "u2");
  CHECK(newest["version"] == "2.<b>");  // as given: escaping is the reader's
  CHECK(newest["mode"] == "GRADUAL");
  CHECK(newest["newest"] == true);
  CHECK(newest["rolledBack"] == false);
  CHECK(newest["health"] == "watching");
  CHECK(newest["share"]["set"] == 0.0);
  CHECK(newest["share"]["actual"] == 25.0);
  json old = status["versions"][1];
  CHECK(old["uuid"] == "u1");
  CHECK(old["version"] == 1);
  CHECK(old["mode"] == "INSTANT");
  CHECK(old["health"] == "healthy");
  CHECK(old["share"]["set"] == 100.0);
  CHECK(old["share"]["actual"] == 75.0);
  CHECK(status["workers"] == json::array());
  CHECK(status["frontends"] == json::array());
}

TEST_CASE("GET /status: a rolled-back version gets no share; peers come from the router", "[mesh-status]") {
  Fixture f;
  f.Put(R"("uuid": "u1", "version": 1)");
  f.Put(R"("uuid": "u2", "version": 2, "upgradeTransition": {"mode": "CONCURRENT"})");
  f.api.DescribePeersWith([] {
    return json{{"workers", {{{"id", "w1"}, {"capacity", 8}, {"served", 12}}}},
                {"frontends", {{{"id", "f1"}, {"endpoint", "tcp://127.0.0.1:5553"}, {"seq", 2}}}}};
  });
  json before = f.Status();
  CHECK(before["versions"][0]["share"]["set"] == 100.0);  // CONCURRENT: both are asked
  CHECK(before["versions"][1]["share"]["set"] == 100.0);
  REQUIRE(f.api.RollBack("u2", "operator", "by hand", 1500).ok());
  json status = f.Status();
  INFO(status.dump(1));
  CHECK(status["versions"][0]["uuid"] == "u2");
  CHECK(status["versions"][0]["rolledBack"] == true);
  CHECK(status["versions"][0]["newest"] == false);
  CHECK(status["versions"][0]["health"] == "rolledBack");
  CHECK(status["versions"][0]["share"]["set"] == 0.0);
  CHECK(status["versions"][1]["newest"] == true);
  CHECK(status["versions"][1]["share"]["set"] == 100.0);
  CHECK(status["workers"][0]["id"] == "w1");
  CHECK(status["workers"][0]["served"] == 12);
  CHECK(status["frontends"][0]["endpoint"] == "tcp://127.0.0.1:5553");
  CHECK(f.api.Handle({"POST", "/status", ""}, 2000).status == 405);
}
