// Monotonic clocks: milliseconds for deadlines and heartbeats, microseconds
// for latencies (never wall time).
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

}  // namespace upmesh
