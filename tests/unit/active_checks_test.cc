// The active health checks' schedule: which servers, how, and when.
#include <catch2/catch.hpp>

#include <vector>

#include "worker/active_checks.h"

using namespace upmesh;
using namespace upmesh::worker;

namespace {

Cluster Checked(const std::string& uuid, const std::string& path, int64_t interval_ms) {
  Cluster cluster;
  cluster.uuid = uuid;
  cluster.has_health_check = !path.empty();
  cluster.health_check.path = path;
  cluster.health_check.interval_ms = interval_ms;
  cluster.health_check.timeout_ms = 300;
  return cluster;
}

Route RouteOf(const std::string& uuid, std::vector<size_t> pools) {
  Route route;
  route.uuid = uuid;
  route.pools = std::move(pools);
  return route;
}

std::vector<size_t> Pools(const std::vector<ActiveChecks::Probe>& probes) {
  std::vector<size_t> pools;
  for (const ActiveChecks::Probe& probe : probes) pools.push_back(probe.pool);
  return pools;
}

}  // namespace

TEST_CASE("active checks: every server of a checked version, the newest version saying how", "[active_checks]") {
  ActiveChecks checks;
  // v2 (newest) and v1 share pool 1; v0 asks for no checks.
  checks.Rebuild({Checked("v2", "/new", 1000), Checked("v1", "/old", 500), Checked("v0", "", 0)},
                 {RouteOf("v2", {0, 1}), RouteOf("v1", {1, 2}), RouteOf("v0", {3})}, "w1", 0);
  std::vector<ActiveChecks::Probe> due = checks.TakeDue(0);
  REQUIRE(Pools(due) == std::vector<size_t>{0, 1, 2});
  CHECK(due[1].head == "GET /new HTTP/1.1\r\nUser-Agent: upmesh-health-check\r\nX-Upmesh-Worker: w1\r\n");
  CHECK(due[2].head.rfind("GET /old HTTP/1.1\r\n", 0) == 0);
  CHECK(due[0].timeout_ms == 300);
}

TEST_CASE("active checks: one probe in flight per server, then every interval", "[active_checks]") {
  ActiveChecks checks;
  checks.Rebuild({Checked("v1", "/h", 1000)}, {RouteOf("v1", {0})}, "w", 0);
  CHECK(checks.TakeDue(0).size() == 1);
  CHECK(checks.TakeDue(2000).empty());  // still in flight
  checks.Done(0);
  CHECK(checks.TakeDue(999).empty());
  CHECK(checks.TakeDue(1000).size() == 1);
  CHECK(checks.TakeDue(3000).empty());
}

TEST_CASE("active checks: the rhythm survives a table change", "[active_checks]") {
  ActiveChecks checks;
  checks.Rebuild({Checked("v1", "/h", 1000)}, {RouteOf("v1", {0})}, "w", 0);
  CHECK(checks.TakeDue(0).size() == 1);
  checks.Done(0);
  checks.Rebuild({Checked("v2", "/h", 1000), Checked("v1", "/h", 1000)}, {RouteOf("v2", {0, 1}), RouteOf("v1", {0})},
                 "w", 500);
  CHECK(Pools(checks.TakeDue(500)) == std::vector<size_t>{1});  // the new server at once, the old one on its beat
  CHECK(checks.TakeDue(999).empty());
  CHECK(Pools(checks.TakeDue(1000)) == std::vector<size_t>{0});
  checks.Rebuild({Checked("v2", "", 0)}, {RouteOf("v2", {0, 1})}, "w", 1000);
  checks.Done(0);
  CHECK(checks.TakeDue(5000).empty());  // no version asks any more
}
