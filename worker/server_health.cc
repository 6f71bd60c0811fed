#include "worker/server_health.h"

#include <algorithm>

namespace upmesh::worker {

bool ServerHealth::RecordSuccess() {
  bool was_ejected = ejections_ > 0;
  consecutive_failures_ = 0;
  check_failing_ = false;
  ejections_ = 0;
  ejected_until_ms_ = 0;
  return was_ejected;
}

bool ServerHealth::RecordFailure(int64_t now_ms, bool from_check) {
  consecutive_failures_++;
  if (from_check) check_failing_ = true;
  // A probe that fails is ejected again at once; otherwise it takes a run.
  bool probing = ejections_ > 0;
  if (!probing && consecutive_failures_ < kFailuresToEject) return false;
  if (now_ms < ejected_until_ms_ || (check_failing_ && ejections_ > 0 && !from_check)) {
    return false;  // already ejected (a request that was under way)
  }
  int64_t ejection = kFirstEjectionMs << std::min(ejections_, 5);
  ejections_++;
  ejected_until_ms_ = now_ms + std::min(ejection, kMaxEjectionMs);
  return true;
}

nlohmann::json ServerHealth::ToJson(int64_t now_ms) const {
  const char* state = !Available(now_ms) ? "ejected" : ejections_ > 0 ? "probing" : "up";
  nlohmann::json out = {{"state", state}, {"consecutiveFailures", consecutive_failures_}};
  if (!Available(now_ms)) out["ejectedForMs"] = ejected_until_ms_ - now_ms;
  return out;
}

}  // namespace upmesh::worker
