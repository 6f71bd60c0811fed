#include "worker/version_router.h"

#include <cstdlib>

#include "shared/wire.h"

namespace upmesh::worker {
namespace {

bool Idempotent(const ClientRequest& request) {
  return (request.meta.flags & wire::RequestMeta::kIdempotent) != 0;
}

}  // namespace

MonitorPolicy MonitorPolicyFor(const std::vector<Cluster>& live) {
  MonitorPolicy policy;
  if (live.empty()) return policy;
  const MonitorConfig& monitor = live.front().transition.monitor;
  policy.monitoring = monitor.enabled;
  policy.shielding = monitor.enabled && monitor.shield && live.size() > 1;
  policy.failure_run_limit = static_cast<uint64_t>(monitor.consecutive_failures);
  return policy;
}

int RouteIndexOf(const std::vector<Route>& routes, const std::string& uuid) {
  for (size_t i = 0; i < routes.size(); ++i) {
    if (routes[i].uuid == uuid) return static_cast<int>(i);
  }
  return -1;
}

int PickServer(Route* route, uint64_t tried, const std::deque<BackendPool>& pools, int64_t now_ms) {
  size_t count = route->pools.size();
  int soonest = -1;
  int64_t soonest_ms = 0;
  for (size_t k = 0; k < count; ++k) {
    size_t position = (route->next + k) % count;
    if (position < 64 && (tried >> position & 1)) continue;
    const ServerHealth& health = pools[route->pools[position]].health();
    if (health.Available(now_ms)) {
      route->next = position + 1;
      return static_cast<int>(position);
    }
    if (soonest < 0 || health.ejected_until_ms() < soonest_ms) {
      soonest = static_cast<int>(position);
      soonest_ms = health.ejected_until_ms();
    }
  }
  // Every server is ejected: the version's own health decides (the first try
  // goes to the one back soonest); a retry goes elsewhere.
  if (tried != 0 || soonest < 0) return -1;
  route->next = static_cast<size_t>(soonest) + 1;
  return soonest;
}

ServerRetry RetryInVersion(const std::vector<Route>& routes, const ClientRequest& request, int leg,
                           int cluster_index, const LegResult& result, bool nothing_acted_on) {
  // A server that died after the request was sent may have acted on it: only
  // an idempotent request goes again, and only once.
  bool died = result.failure == Outcome::kReset || result.failure == Outcome::kBadFraming;
  bool resend = !nothing_acted_on && Idempotent(request) && died && !request.resent[leg];
  if (!nothing_acted_on && !resend) return ServerRetry::kNone;
  if (cluster_index >= static_cast<int>(routes.size()) || routes[cluster_index].uuid != result.cluster_uuid ||
      request.tried_version[leg] != cluster_index) {
    return ServerRetry::kNone;
  }
  return resend ? ServerRetry::kResend : ServerRetry::kRetry;
}

int FallbackTarget(const std::vector<Route>& routes, const ClientRequest& request, int cluster_index,
                   const LegResult& result, bool nothing_acted_on) {
  int next_older = cluster_index + 1;
  bool has_older = next_older < static_cast<int>(routes.size());
  if (result.kind != LegResult::Kind::kFailed || !nothing_acted_on || request.concurrent || !has_older) return -1;
  return next_older;
}

int ShieldTarget(const std::vector<Route>& routes, const MonitorPolicy& policy, const ClientRequest& request,
                 const LegResult& result) {
  if (!policy.monitoring || request.concurrent || request.shielded) return -1;
  if (!Idempotent(request)) return -1;
  if (result.kind != LegResult::Kind::kFailed && result.status < 500) return -1;
  int index = RouteIndexOf(routes, result.cluster_uuid);
  if (index < 0) return routes.empty() ? -1 : 0;  // rolled back while under way: the newest live version answers
  return index == 0 && policy.shielding ? 1 : -1;  // the watched version failed: the one it replaces answers
}

ConcurrentVerdict CompareLegs(const LegResult& newer, const LegResult& older, int64_t tolerance_ms) {
  ConcurrentVerdict verdict;
  std::vector<std::string>& differences = verdict.differences;
  bool new_ok = newer.kind == LegResult::Kind::kResponse;
  bool old_ok = older.kind == LegResult::Kind::kResponse;
  if (!new_ok) differences.push_back("new version failed: " + newer.error);
  if (!old_ok) differences.push_back("old version failed: " + older.error);
  if (new_ok && old_ok) {
    if (newer.status != older.status) {
      differences.push_back("status: new " + std::to_string(newer.status) + ", old " + std::to_string(older.status));
    }
    if (newer.chunked != older.chunked) {
      differences.push_back(std::string("framing: new ") + (newer.chunked ? "chunked" : "Content-Length") +
                            ", old " + (older.chunked ? "chunked" : "Content-Length"));
    }
    if (newer.body.size() != older.body.size()) {
      differences.push_back("body size: new " + std::to_string(newer.body.size()) + ", old " +
                            std::to_string(older.body.size()));
    }
    if (std::abs(newer.elapsed_ms - older.elapsed_ms) > tolerance_ms) {
      differences.push_back("delay: new " + std::to_string(newer.elapsed_ms) + " ms, old " +
                            std::to_string(older.elapsed_ms) + " ms (tolerance " + std::to_string(tolerance_ms) +
                            " ms)");
    }
  }
  verdict.use_newer = differences.empty() || (!old_ok && new_ok);
  return verdict;
}

}  // namespace upmesh::worker
