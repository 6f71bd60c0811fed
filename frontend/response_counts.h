// ResponseCounts: the frontend's answers to its clients, by status, for its
// metrics port (upmesh_frontend_responses_total). A backend's answer counts
// under its status class ("2xx" .. "5xx"); one upmesh made itself (the
// frontend's 400/408/413/414/431/503/504, a worker's 502/503/504) under its
// exact status, as the router's upmesh_requests_total does, so that the
// mesh's own failures never hide among the backends'. The statuses upmesh
// makes are few, so the label values stay bounded.
#pragma once

#include <cstdint>
#include <map>

#include "shared/metrics_text.h"

namespace upmesh::frontend {

class ResponseCounts {
 public:
  void Count(int status, bool generated);
  // The upmesh_frontend_responses_total family.
  void Render(MetricsText* out) const;

 private:
  uint64_t by_class_[6] = {};            // [1] 1xx .. [5] 5xx
  std::map<int, uint64_t> generated_;  // by exact status
};

}  // namespace upmesh::frontend
