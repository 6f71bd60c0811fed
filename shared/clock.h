// Clocks: monotonic milliseconds for deadlines and heartbeats, monotonic
// microseconds for latencies, and the wall clock where a time must mean the
// same to every process and across restarts (time ramps, records).
#pragma once

#include <chrono>
#include <cstdint>

namespace upmesh {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Monotonic microseconds, for measuring latencies.
inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Milliseconds since the Unix epoch.
inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace upmesh
