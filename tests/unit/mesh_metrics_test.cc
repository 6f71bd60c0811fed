// GET /metrics through the config API without sockets: per-version counters
// from the monitor's totals (monotonic when the window expires), the code
// mapping, folded histograms, health and share gauges, rollbacks by reason.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "router/config_api.h"
#include "router/mesh_metrics.h"

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
    api.CountWorkersWith([] { return size_t{3}; });
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string Dir() {
    char pattern[] = "/tmp/upmesh-metrics-test-XXXXXX";
    dir = mkdtemp(pattern);
    return dir;
  }
  std::string Put(const std::string& fields) {
    ApiResponse response = api.Handle(
        {"PUT", "/configuration/cluster",
         R"({"cluster": {"servers": [{"ip": "127.0.0.1", "port": 8001}], )" + fields + "}}"},
        1000);
    INFO(response.body);
    REQUIRE(response.status == 202);
    return response.body;
  }
  std::string Metrics() {
    ApiResponse response = api.Handle({"GET", "/metrics", ""}, 2000);
    REQUIRE(response.status == 200);
    CHECK(response.content_type == "text/plain; version=0.0.4; charset=utf-8");
    return response.body;
  }

  std::string dir;
  ClusterRegistry registry;
  VersionMonitor monitor;
  ConfigApi api;
};

HealthReport Report(const std::string& uuid, uint64_t ok, uint64_t server_errors, uint64_t timeouts) {
  HealthReport report;
  upmesh::HealthFigures& figures = report.versions[uuid].figures;
  figures.ok = ok;
  figures.server_errors = server_errors;
  figures.timeouts = timeouts;
  for (uint64_t i = 0; i < ok; ++i) {
    figures.latency_us.Add(3000);  // [2560, 3072): le 0.005
    figures.body_bytes.Add(100);   // 2xx: le 256
  }
  for (uint64_t i = 0; i < server_errors; ++i) figures.latency_us.Add(700000);  // le 1
  return report;
}

bool Has(const std::string& page, const std::string& line) { return page.find("\n" + line + "\n") != std::string::npos; }

}  // namespace

TEST_CASE("GET /metrics shows each version's requests by code, totals that outlive the window", "[mesh-metrics]") {
  Fixture f;
  std::string v1 = f.Put(R"("uuid": "u1", "version": "1.0")");
  std::string v2 = f.Put(R"("uuid": "u2", "version": "2.\"x\"")");
  f.monitor.Record("w1", Report(v1, 20, 0, 0), f.registry.table(), 0);
  f.monitor.Record("w1", Report(v2, 7, 2, 1), f.registry.table(), 100);
  std::string page = f.Metrics();
  INFO(page);
  CHECK(Has(page, R"(upmesh_requests_total{version="1.0",uuid="u1",code="2xx"} 20)"));
  CHECK(Has(page, R"(upmesh_requests_total{version="1.0",uuid="u1",code="5xx"} 0)"));
  CHECK(Has(page, R"(upmesh_requests_total{version="2.\"x\"",uuid="u2",code="2xx"} 7)"));
  CHECK(Has(page, R"(upmesh_requests_total{version="2.\"x\"",uuid="u2",code="5xx"} 2)"));
  CHECK(Has(page, R"(upmesh_requests_total{version="2.\"x\"",uuid="u2",code="504"} 1)"));
  CHECK(Has(page, R"(upmesh_request_duration_seconds_bucket{version="1.0",uuid="u1",le="0.0025"} 0)"));
  CHECK(Has(page, R"(upmesh_request_duration_seconds_bucket{version="1.0",uuid="u1",le="0.005"} 20)"));
  CHECK(Has(page, R"(upmesh_request_duration_seconds_bucket{version="2.\"x\"",uuid="u2",le="0.5"} 7)"));
  CHECK(Has(page, R"(upmesh_request_duration_seconds_bucket{version="2.\"x\"",uuid="u2",le="1"} 9)"));
  CHECK(Has(page, R"(upmesh_request_duration_seconds_count{version="1.0",uuid="u1"} 20)"));
  CHECK(Has(page, R"(upmesh_response_bytes_bucket{version="1.0",uuid="u1",le="64"} 0)"));
  CHECK(Has(page, R"(upmesh_response_bytes_bucket{version="1.0",uuid="u1",le="256"} 20)"));
  CHECK(Has(page, "upmesh_workers 3"));
  CHECK(Has(page, "upmesh_versions 2"));
  CHECK(Has(page, "upmesh_config_seq " + std::to_string(f.registry.seq())));
  CHECK(Has(page, R"(upmesh_traffic_share{version="2.\"x\"",uuid="u2",kind="set"} 100)"));
  CHECK(Has(page, R"(upmesh_traffic_share{version="1.0",uuid="u1",kind="set"} 0)"));
  CHECK(page.find(R"(upmesh_build_info{version=")") != std::string::npos);
  // The window expires (the monitor forgets old buckets); the counters do not.
  (void)f.monitor.Evaluate(f.registry.table(), 10 * 60 * 1000);
  f.monitor.Record("w2", Report(v1, 5, 0, 0), f.registry.table(), 10 * 60 * 1000);
  std::string later = f.Metrics();
  CHECK(Has(later, R"(upmesh_requests_total{version="1.0",uuid="u1",code="2xx"} 25)"));
  CHECK(Has(later, R"(upmesh_traffic_share{version="1.0",uuid="u1",kind="actual"} 100)"));
}

TEST_CASE("GET /metrics: health states, rollbacks by reason, GRADUAL share", "[mesh-metrics]") {
  Fixture f;
  std::string v1 = f.Put(R"("uuid": "u1", "version": 1)");
  std::string v2 = f.Put(R"("uuid": "u2", "version": 2, "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": 1})");
  std::string page = f.Metrics();
  INFO(page);
  CHECK(Has(page, "upmesh_gradual_share 0"));
  CHECK(Has(page, R"(upmesh_traffic_share{version="1",uuid="u1",kind="set"} 100)"));
  CHECK(Has(page, R"(upmesh_version_health{version="2",uuid="u2",state="watching"} 1)"));
  CHECK(Has(page, R"(upmesh_version_health{version="2",uuid="u2",state="healthy"} 0)"));
  REQUIRE(f.api.Handle({"POST", "/configuration/cluster/u2/rollback", ""}, 3000).status == 202);
  std::string after = f.Metrics();
  INFO(after);
  CHECK(Has(after, R"(upmesh_rollbacks_total{reason="operator"} 1)"));
  CHECK(Has(after, R"(upmesh_version_health{version="2",uuid="u2",state="rolledBack"} 1)"));
  CHECK(Has(after, R"(upmesh_traffic_share{version="2",uuid="u2",kind="set"} 0)"));
  CHECK(Has(after, R"(upmesh_traffic_share{version="1",uuid="u1",kind="set"} 100)"));
}

TEST_CASE("/metrics answers GET and HEAD only", "[mesh-metrics]") {
  Fixture f;
  ApiResponse response = f.api.Handle({"POST", "/metrics", ""}, 1000);
  CHECK(response.status == 405);
  CHECK(f.api.Handle({"HEAD", "/metrics?x=1", ""}, 1000).status == 200);
}
