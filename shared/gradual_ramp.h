// The GRADUAL ramp's arithmetic, in one place for the router (API state,
// hold decisions, ramp leases) and the frontend (the share it stamps).
//
// A request ramp is counted in positions: the n-th request dispatched while
// the version is the newest has position n and share min(100, n × percent
// per request). A time ramp's share grows with the wall clock since the
// version was added, minus the time its ramp was held.
#pragma once

#include <cstdint>

#include "shared/cluster.h"

namespace upmesh {

constexpr uint32_t kFullShareMicros = 100000000;  // 100 % in millionths of a percent
// The most positions one lease grants (docs/protocol.md, RAMP?).
constexpr uint64_t kMaxRampLease = 100;

// min(100, position × percent_per_request), in percent.
double RequestRampShare(uint64_t position, double percent_per_request);
// The first position whose share is 100 %.
uint64_t RequestRampLength(double percent_per_request);
// The most positions a lease may grant for this ramp: 1 % of its length, at
// least 1 and at most kMaxRampLease, so frontends holding unused leased
// positions spread their shares by about 1 % each.
uint64_t RampLeaseLimit(double percent_per_request);
// min(100, (now − added_at − time held) / duration × 100), in percent.
double TimeRampShare(int64_t added_at_ms, int64_t duration_s, const RampHold& hold, int64_t now_wall_ms);
// The share of `newest` (the newest live version): 0 unless GRADUAL; by
// requests at `position`; by time from its added_at_ms and `hold`.
double GradualShare(const Cluster* newest, uint64_t position, const RampHold& hold, int64_t now_wall_ms);
// Percent to millionths of a percent, as the route stamp carries it.
uint32_t ShareMicros(double percent);
// Whether `cluster` ramps by request count.
bool IsRequestRamp(const Cluster& cluster);

}  // namespace upmesh
