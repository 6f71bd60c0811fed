// Version routing: what a leg of a request does between the version choice
// (version_choice.h) and the trips to backends (upstream.h).
//
// A Route is one live cluster version as the worker routes to it; the
// worker keeps them newest first, parallel to the live versions. The rest
// are pure decisions over routes, the request and a leg's result, carried
// out by the worker:
//   PickServer      round robin over a version's servers that are in rotation.
//   RetryInVersion  after a failed exchange: another server of the same
//                   version, when that is safe.
//   FallbackTarget  then an older version, when the backend cannot have
//                   acted on the request.
//   ShieldTarget    the monitored newest version failed an idempotent
//                   request: the version it replaces answers instead.
//   CompareLegs     CONCURRENT: how the two answers differ, and which one the
//                   client gets.
// No sockets, no clock: the caller gives the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "shared/cluster.h"
#include "worker/backend_pool.h"
#include "worker/exchange.h"
#include "worker/health_recorder.h"

namespace upmesh::worker {

struct Route {
  std::string uuid;
  std::vector<size_t> pools;  // pool indexes of its servers; servers that did not resolve are missing
  size_t next = 0;            // round robin over pools
  VersionHealth* health = nullptr;  // this version's outcomes since the last report
};

// What the newest live version's monitor asks of routing.
struct MonitorPolicy {
  bool monitoring = false;          // record every leg's outcome
  bool shielding = false;           // ...and shield, with an older version to shield with
  uint64_t failure_run_limit = 0;   // its consecutiveFailures: report at once on reaching it
};

// `live`: the versions routed to, newest first. With one version there is
// nothing to judge yet, but its figures become the next one's baseline.
MonitorPolicy MonitorPolicyFor(const std::vector<Cluster>& live);

// The index of the route of version `uuid`, or -1.
int RouteIndexOf(const std::vector<Route>& routes, const std::string& uuid);

// The route position of the next server to try, skipping ejected ones and
// those in `tried` (bits: positions, the first 64); -1 if none. When every
// server is ejected, a first try (tried == 0) still gets the one back
// soonest: the last servers of a version are never ejected. Advances the
// round robin.
int PickServer(Route* route, uint64_t tried, const std::deque<BackendPool>& pools, int64_t now_ms);

enum class ServerRetry {
  kNone,    // the leg stays failed on this version
  kRetry,   // nothing the server could have acted on: another server may take it
  kResend,  // the server died after an idempotent request was sent: once more, elsewhere
};

// After `request`'s leg `leg` failed on route `cluster_index`: may it go to
// another server of that version? `nothing_acted_on`: the backend cannot
// have acted on the request. kNone too when the table changed meanwhile
// (then the version-level fallback decides).
ServerRetry RetryInVersion(const std::vector<Route>& routes, const ClientRequest& request, int leg,
                           int cluster_index, const LegResult& result, bool nothing_acted_on);

// The route a failed leg falls back to (the next older version), or -1.
// Only when the backend cannot have acted on the request, never in
// CONCURRENT mode (each leg is one version's answer).
int FallbackTarget(const std::vector<Route>& routes, const ClientRequest& request, int cluster_index,
                   const LegResult& result, bool nothing_acted_on);

// The route that answers instead when the monitored version failed an
// idempotent request (or its version was rolled back while under way), else
// -1. Once per request, never a write, never in CONCURRENT mode.
int ShieldTarget(const std::vector<Route>& routes, const MonitorPolicy& policy, const ClientRequest& request,
                 const LegResult& result);

struct ConcurrentVerdict {
  std::vector<std::string> differences;  // empty: the answers match
  bool use_newer = false;                // which leg's answer the client gets
};

// CONCURRENT: the new version's answer against the old one's (status,
// framing, body size, delay within `tolerance_ms`). On a match the new
// version answers; on a mismatch the old one does, unless it failed outright
// and the new one did not.
ConcurrentVerdict CompareLegs(const LegResult& newer, const LegResult& older, int64_t tolerance_ms);

}  // namespace upmesh::worker
