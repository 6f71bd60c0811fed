// ActiveChecks: the schedule of active health checks (a cluster's
// healthCheck, docs/worker.md). Every server of a live version that asks for
// checks is probed every intervalMs with `GET path`, the newest such version
// saying how; a server keeps its rhythm across table changes and has at
// most one probe in flight. The worker sends each probe (a request with no
// client) and calls Done() when it ends.
// Pure logic: no sockets, the caller gives the time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "shared/cluster.h"
#include "worker/version_router.h"

namespace upmesh::worker {

class ActiveChecks {
 public:
  struct Probe {
    size_t pool;
    std::string head;  // request line and fields, no final blank line, no Host (the server's is added)
    int64_t timeout_ms;
  };

  // `live`: the versions routed to, newest first; `routes` parallel to it.
  // `worker_name` goes into each probe's X-Upmesh-Worker field.
  void Rebuild(const std::vector<Cluster>& live, const std::vector<Route>& routes, const std::string& worker_name,
               int64_t now_ms);
  // The probes due at `now_ms`, from now on in flight.
  std::vector<Probe> TakeDue(int64_t now_ms);
  // The probe of `pool` ended.
  void Done(size_t pool);

 private:
  struct Check {
    std::string head;
    int64_t interval_ms = 0;
    int64_t timeout_ms = 0;
    int64_t next_ms = 0;  // the next probe is due
    bool in_flight = false;
  };

  std::map<size_t, Check> checks_;  // by pool index
};

}  // namespace upmesh::worker
