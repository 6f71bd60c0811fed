// WorkerRegistry: a broker's view of live workers (zguide load-balancing
// broker with credit, plus Paranoid Pirate liveness).
//
// A worker announces its capacity (READY, and again in every HB). The broker
// counts requests outstanding per worker and gives each new request to the
// worker with the fewest outstanding among those below capacity; ties go
// round-robin so light load still spreads over every worker. A worker not
// heard from for `liveness` heartbeat intervals is expired by the caller.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

namespace upmesh {

struct WorkerState {
  std::string id;  // the worker's ZeroMQ routing id
  std::string incarnation;  // from its READY: changes when the process restarts
  int capacity = 0;
  int outstanding = 0;
  bool draining = false;      // sent BYE: no new requests
  int64_t expires_at_ms = 0;  // dropped if nothing is heard by then
  std::unordered_set<std::string> in_flight;  // keys of requests it holds
};

class WorkerRegistry {
 public:
  explicit WorkerRegistry(int64_t expiry_ms) : expiry_ms_(expiry_ms) {}

  // Registers the worker or refreshes it; returns it. `capacity` < 0 keeps
  // the known capacity.
  WorkerState& Heard(const std::string& id, int capacity, int64_t now);
  WorkerState* Find(const std::string& id);
  // The worker that should take the next request, or nullptr if none can.
  WorkerState* PickForRequest();
  // Removes a worker and returns what it held.
  WorkerState Remove(const std::string& id);
  // Ids of workers whose expiry has passed.
  std::vector<std::string> Expired(int64_t now) const;

  const std::vector<WorkerState>& workers() const { return workers_; }
  size_t size() const { return workers_.size(); }

 private:
  int64_t expiry_ms_;
  std::vector<WorkerState> workers_;  // few workers: linear scans beat hashing
  size_t next_ = 0;                   // round-robin cursor for ties
};

}  // namespace upmesh
