// Version routing as pure decisions: server picking, another server of the
// same version, fallback, the shield, the CONCURRENT comparison.
#include <catch2/catch.hpp>

#include <deque>
#include <vector>

#include "shared/wire.h"
#include "worker/version_router.h"

using namespace upmesh;
using namespace upmesh::worker;

namespace {

std::deque<BackendPool> MakePools(size_t count) {
  std::deque<BackendPool> pools;
  for (size_t i = 0; i < count; ++i) {
    BackendServer server;
    server.label = "10.0.0." + std::to_string(i + 1) + ":80";
    pools.emplace_back(server, 8);
  }
  return pools;
}

void Eject(BackendPool* pool, int64_t now_ms) {
  for (int i = 0; i < ServerHealth::kFailuresToEject; ++i) pool->health().RecordFailure(now_ms);
}

Route MakeRoute(const std::string& uuid, std::vector<size_t> pools) {
  Route route;
  route.uuid = uuid;
  route.pools = std::move(pools);
  return route;
}

// v2 (newest) then v1, one server each.
std::vector<Route> TwoRoutes() { return {MakeRoute("v2", {0}), MakeRoute("v1", {1})}; }

ClientRequest Request(bool idempotent, int tried_version = 0) {
  ClientRequest request;
  request.meta.flags = idempotent ? wire::RequestMeta::kIdempotent | wire::RequestMeta::kSafe : 0;
  request.tried_version[0] = tried_version;
  return request;
}

LegResult Failed(const std::string& uuid, Outcome failure) {
  LegResult result;
  result.kind = LegResult::Kind::kFailed;
  result.cluster_uuid = uuid;
  result.failure = failure;
  result.error_status = failure == Outcome::kTimeout ? 504 : 502;
  result.error = "boom";
  return result;
}

LegResult Response(const std::string& uuid, int status, size_t body_size = 10, int64_t elapsed_ms = 5) {
  LegResult result;
  result.kind = LegResult::Kind::kResponse;
  result.cluster_uuid = uuid;
  result.status = status;
  result.body.assign(body_size, 'x');
  result.elapsed_ms = elapsed_ms;
  return result;
}

MonitorPolicy Shielding() {
  MonitorPolicy policy;
  policy.monitoring = true;
  policy.shielding = true;
  return policy;
}

}  // namespace

TEST_CASE("PickServer: round robin over the servers in rotation", "[version_router]") {
  std::deque<BackendPool> pools = MakePools(3);
  Route route = MakeRoute("v1", {0, 1, 2});
  CHECK(PickServer(&route, 0, pools, 0) == 0);
  CHECK(PickServer(&route, 0, pools, 0) == 1);
  CHECK(PickServer(&route, 0, pools, 0) == 2);
  CHECK(PickServer(&route, 0, pools, 0) == 0);
  Eject(&pools[1], 0);
  CHECK(PickServer(&route, 0, pools, 0) == 2);  // 1 is ejected
  CHECK(PickServer(&route, 0, pools, 0) == 0);
  CHECK(PickServer(&route, 0, pools, ServerHealth::kFirstEjectionMs) == 1);  // its ejection is over
}

TEST_CASE("PickServer: a retry skips the servers tried", "[version_router]") {
  std::deque<BackendPool> pools = MakePools(3);
  Route route = MakeRoute("v1", {0, 1, 2});
  CHECK(PickServer(&route, 0b011, pools, 0) == 2);
  CHECK(PickServer(&route, 0b111, pools, 0) == -1);
}

TEST_CASE("PickServer: all ejected, a first try goes to the one back soonest, a retry nowhere", "[version_router]") {
  std::deque<BackendPool> pools = MakePools(2);
  Eject(&pools[0], 100);
  Eject(&pools[1], 50);  // back sooner
  Route route = MakeRoute("v1", {0, 1});
  CHECK(PickServer(&route, 0, pools, 200) == 1);
  CHECK(PickServer(&route, 0b10, pools, 200) == -1);
  Route empty = MakeRoute("v0", {});
  CHECK(PickServer(&empty, 0, pools, 200) == -1);
}

TEST_CASE("RetryInVersion: nothing acted on goes to another server", "[version_router]") {
  ClientRequest request = Request(/*idempotent=*/false);
  CHECK(RetryInVersion(TwoRoutes(), request, 0, 0, Failed("v2", Outcome::kRefused), true) == ServerRetry::kRetry);
}

TEST_CASE("RetryInVersion: a server that died after an idempotent request is re-sent to once", "[version_router]") {
  ClientRequest request = Request(/*idempotent=*/true);
  CHECK(RetryInVersion(TwoRoutes(), request, 0, 0, Failed("v2", Outcome::kReset), false) == ServerRetry::kResend);
  CHECK(RetryInVersion(TwoRoutes(), request, 0, 0, Failed("v2", Outcome::kBadFraming), false) ==
        ServerRetry::kResend);
  request.resent[0] = true;
  CHECK(RetryInVersion(TwoRoutes(), request, 0, 0, Failed("v2", Outcome::kReset), false) == ServerRetry::kNone);
}

TEST_CASE("RetryInVersion: never a write that reached a backend, nor a timeout after sending", "[version_router]") {
  ClientRequest write = Request(/*idempotent=*/false);
  CHECK(RetryInVersion(TwoRoutes(), write, 0, 0, Failed("v2", Outcome::kReset), false) == ServerRetry::kNone);
  ClientRequest read = Request(/*idempotent=*/true);
  CHECK(RetryInVersion(TwoRoutes(), read, 0, 0, Failed("v2", Outcome::kTimeout), false) == ServerRetry::kNone);
}

TEST_CASE("RetryInVersion: not once the table changed under the leg", "[version_router]") {
  ClientRequest request = Request(/*idempotent=*/true);
  // The version at index 0 is no longer the one the leg was on.
  CHECK(RetryInVersion(TwoRoutes(), request, 0, 0, Failed("v3", Outcome::kRefused), true) == ServerRetry::kNone);
  CHECK(RetryInVersion(TwoRoutes(), request, 0, 2, Failed("v2", Outcome::kRefused), true) == ServerRetry::kNone);
  ClientRequest moved = Request(/*idempotent=*/true, /*tried_version=*/1);
  CHECK(RetryInVersion(TwoRoutes(), moved, 0, 0, Failed("v2", Outcome::kRefused), true) == ServerRetry::kNone);
}

TEST_CASE("FallbackTarget: an unreachable version falls back to the next older one", "[version_router]") {
  ClientRequest request = Request(/*idempotent=*/false);
  CHECK(FallbackTarget(TwoRoutes(), request, 0, Failed("v2", Outcome::kRefused), true) == 1);
  CHECK(FallbackTarget(TwoRoutes(), request, 1, Failed("v1", Outcome::kRefused), true) == -1);  // the oldest
  CHECK(FallbackTarget(TwoRoutes(), request, 0, Failed("v2", Outcome::kReset), false) == -1);  // may have acted
  CHECK(FallbackTarget(TwoRoutes(), request, 0, Response("v2", 503), true) == -1);              // an answer
  request.concurrent = true;
  CHECK(FallbackTarget(TwoRoutes(), request, 0, Failed("v2", Outcome::kRefused), true) == -1);
}

TEST_CASE("ShieldTarget: the old version answers for the monitored new one, once", "[version_router]") {
  ClientRequest request = Request(/*idempotent=*/true);
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), request, Failed("v2", Outcome::kTimeout)) == 1);
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), request, Response("v2", 500)) == 1);
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), request, Response("v2", 404)) == -1);  // not a failure
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), request, Failed("v1", Outcome::kTimeout)) == -1);  // not watched
  request.shielded = true;
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), request, Failed("v2", Outcome::kTimeout)) == -1);
}

TEST_CASE("ShieldTarget: never a write, never CONCURRENT, never unmonitored", "[version_router]") {
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), Request(false), Failed("v2", Outcome::kTimeout)) == -1);
  ClientRequest concurrent = Request(true);
  concurrent.concurrent = true;
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), concurrent, Failed("v2", Outcome::kTimeout)) == -1);
  MonitorPolicy unmonitored;
  CHECK(ShieldTarget(TwoRoutes(), unmonitored, Request(true), Failed("v2", Outcome::kTimeout)) == -1);
  MonitorPolicy no_shield = Shielding();
  no_shield.shielding = false;
  CHECK(ShieldTarget(TwoRoutes(), no_shield, Request(true), Failed("v2", Outcome::kTimeout)) == -1);
}

TEST_CASE("ShieldTarget: a version rolled back while under way hands over to the newest live one",
          "[version_router]") {
  CHECK(ShieldTarget(TwoRoutes(), Shielding(), Request(true), Failed("v3", Outcome::kReset)) == 0);
  CHECK(ShieldTarget({}, Shielding(), Request(true), Failed("v3", Outcome::kReset)) == -1);
}

TEST_CASE("MonitorPolicyFor: the newest version's monitor, shielding only with an older version",
          "[version_router]") {
  CHECK_FALSE(MonitorPolicyFor({}).monitoring);
  Cluster v2;
  v2.uuid = "v2";
  v2.transition.monitor.consecutive_failures = 7;
  Cluster v1;
  v1.uuid = "v1";
  MonitorPolicy alone = MonitorPolicyFor({v2});
  CHECK(alone.monitoring);
  CHECK_FALSE(alone.shielding);
  CHECK(alone.failure_run_limit == 7);
  CHECK(MonitorPolicyFor({v2, v1}).shielding);
  v2.transition.monitor.shield = false;
  CHECK_FALSE(MonitorPolicyFor({v2, v1}).shielding);
  v2.transition.monitor.enabled = false;
  CHECK_FALSE(MonitorPolicyFor({v2, v1}).monitoring);
}

TEST_CASE("CompareLegs: matching answers, the new version answers", "[version_router]") {
  ConcurrentVerdict verdict = CompareLegs(Response("v2", 200, 10, 5), Response("v1", 200, 10, 30), 100);
  CHECK(verdict.differences.empty());
  CHECK(verdict.use_newer);
}

TEST_CASE("CompareLegs: status, framing, body size and delay differences, the old version answers",
          "[version_router]") {
  LegResult newer = Response("v2", 500, 12, 400);
  newer.chunked = true;
  ConcurrentVerdict verdict = CompareLegs(newer, Response("v1", 200, 10, 5), 100);
  CHECK(verdict.differences == std::vector<std::string>{
                                   "status: new 500, old 200", "framing: new chunked, old Content-Length",
                                   "body size: new 12, old 10", "delay: new 400 ms, old 5 ms (tolerance 100 ms)"});
  CHECK_FALSE(verdict.use_newer);
  CHECK(CompareLegs(Response("v2", 200, 10, 105), Response("v1", 200, 10, 5), 100).differences.empty());
}

TEST_CASE("CompareLegs: a failed leg is a difference; the one that answered answers", "[version_router]") {
  ConcurrentVerdict old_failed = CompareLegs(Response("v2", 200), Failed("v1", Outcome::kRefused), 100);
  CHECK(old_failed.differences == std::vector<std::string>{"old version failed: boom"});
  CHECK(old_failed.use_newer);
  ConcurrentVerdict new_failed = CompareLegs(Failed("v2", Outcome::kTimeout), Response("v1", 200), 100);
  CHECK(new_failed.differences == std::vector<std::string>{"new version failed: boom"});
  CHECK_FALSE(new_failed.use_newer);
  CHECK(CompareLegs(Failed("v2", Outcome::kTimeout), Failed("v1", Outcome::kRefused), 100).differences.size() == 2);
}
