// ServerHealth: passive health of one backend server as this worker sees it
// (as nginx's max_fails/fail_timeout and Envoy's consecutive-failure outlier
// ejection do).
//
// Failures here are the server's own: the connection refused, reset or
// timed out, or a response that could not be read. A 5xx is an answer, not
// a failure of the server: whether a version answers badly is the router's
// judge's business. After kFailuresToEject failures in a row the server is
// ejected: it gets no requests until the ejection ends; the first ejection
// lasts kFirstEjectionMs, each following one twice as long (at most
// kMaxEjectionMs). Once it ends the server is tried again (a probe): a
// success puts it back in rotation and forgets the back-off; a failure ejects
// it again at once, for longer. With active health checks, an ejected server
// whose last check failed stays out until a check passes. The caller never ejects the last server of a
// version (Route picking does that: see PickServer in version_router.h).
// Pure logic: the caller gives the time.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace upmesh::worker {

class ServerHealth {
 public:
  static constexpr int kFailuresToEject = 3;
  static constexpr int64_t kFirstEjectionMs = 1000;
  static constexpr int64_t kMaxEjectionMs = 30000;

  // May it take a request now? (Not ejected, or its ejection is over; and,
  // once ejected, not while its last active health check failed.)
  bool Available(int64_t now_ms) const {
    return now_ms >= ejected_until_ms_ && !(check_failing_ && ejections_ > 0);
  }
  int64_t ejected_until_ms() const { return ejected_until_ms_; }
  int consecutive_failures() const { return consecutive_failures_; }

  // Each returns true when the server's state changed (ejected, or back in
  // rotation), for the caller to log and report.
  bool RecordSuccess();
  // `from_check`: an active health check failed (an ejected server then
  // stays out until a check passes, whatever its back-off says).
  bool RecordFailure(int64_t now_ms, bool from_check = false);

  // {"state": "up"|"ejected"|"probing", "consecutiveFailures", "ejectedForMs"}.
  nlohmann::json ToJson(int64_t now_ms) const;

 private:
  int consecutive_failures_ = 0;
  int ejections_ = 0;  // in a row, without a success between: the back-off's exponent
  int64_t ejected_until_ms_ = 0;
  bool check_failing_ = false;  // the last active health check failed
};

}  // namespace upmesh::worker
