#include "shared/gradual_ramp.h"

#include <algorithm>
#include <cmath>

namespace upmesh {

double RequestRampShare(uint64_t position, double percent_per_request) {
  if (percent_per_request <= 0) return 0;
  return std::min(100.0, static_cast<double>(position) * percent_per_request);
}

uint64_t RequestRampLength(double percent_per_request) {
  if (percent_per_request <= 0) return UINT64_MAX;
  auto length = static_cast<uint64_t>(std::ceil(100.0 / percent_per_request));
  // Rounding may leave the computed position a hair under 100 %.
  while (RequestRampShare(length, percent_per_request) < 100.0) ++length;
  return std::max<uint64_t>(1, length);
}

uint64_t RampLeaseLimit(double percent_per_request) {
  return std::clamp<uint64_t>(RequestRampLength(percent_per_request) / 100, 1, kMaxRampLease);
}

double TimeRampShare(int64_t added_at_ms, int64_t duration_s, const RampHold& hold, int64_t now_wall_ms) {
  if (duration_s <= 0) return 0;
  int64_t held_ms = hold.held_ms;
  if (hold.held()) held_ms += std::max<int64_t>(0, now_wall_ms - hold.since_ms);
  double elapsed_ms = static_cast<double>(std::max<int64_t>(0, now_wall_ms - added_at_ms - held_ms));
  return std::min(100.0, elapsed_ms / (static_cast<double>(duration_s) * 1000.0) * 100.0);
}

bool IsRequestRamp(const Cluster& cluster) {
  const UpgradeTransition& t = cluster.transition;
  return t.mode == UpgradeMode::kGradual && t.duration_s <= 0 && t.percentage_per_request > 0;
}

double GradualShare(const Cluster* newest, uint64_t position, const RampHold& hold, int64_t now_wall_ms) {
  if (!newest || newest->transition.mode != UpgradeMode::kGradual) return 0;
  const UpgradeTransition& t = newest->transition;
  if (t.duration_s > 0) return TimeRampShare(newest->added_at_ms, t.duration_s, hold, now_wall_ms);
  return RequestRampShare(position, t.percentage_per_request);
}

uint32_t ShareMicros(double percent) {
  return static_cast<uint32_t>(std::llround(std::clamp(percent, 0.0, 100.0) * 1e6));
}

}  // namespace upmesh
