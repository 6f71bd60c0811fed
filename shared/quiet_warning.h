// QuietWarning: when to warn about something that should have happened and
// has not (no router reachable, no worker joined). The first warning comes
// once the wait has lasted `first_ms`, then one every `repeat_ms` while it
// lasts, so a long wait is visible in the log without flooding it. When the
// wait ends the schedule starts again from the beginning.
#pragma once

#include <cstdint>

namespace upmesh {

class QuietWarning {
 public:
  QuietWarning(int64_t first_ms, int64_t repeat_ms) : first_ms_(first_ms), repeat_ms_(repeat_ms) {}

  // Call on every tick with whether the thing is still missing at `now_ms`.
  // Returns true when a warning is due now.
  bool Due(bool waiting, int64_t now_ms) {
    if (!waiting) {
      since_ms_ = -1;
      return false;
    }
    if (since_ms_ < 0) {
      since_ms_ = now_ms;
      next_ms_ = now_ms + first_ms_;
    }
    if (now_ms < next_ms_) return false;
    next_ms_ = now_ms + repeat_ms_;
    return true;
  }

  // How long the current wait has lasted (0 when not waiting).
  int64_t waited_ms(int64_t now_ms) const { return since_ms_ < 0 ? 0 : now_ms - since_ms_; }

 private:
  const int64_t first_ms_;
  const int64_t repeat_ms_;
  int64_t since_ms_ = -1;  // start of the current wait, -1 when not waiting
  int64_t next_ms_ = 0;
};

}  // namespace upmesh
