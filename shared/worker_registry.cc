#include "shared/worker_registry.h"

#include <algorithm>

namespace upmesh {

WorkerState& WorkerRegistry::Heard(const std::string& id, int capacity, int64_t now) {
  WorkerState* worker = Find(id);
  if (!worker) {
    workers_.emplace_back();
    worker = &workers_.back();
    worker->id = id;
  }
  if (capacity >= 0) worker->capacity = capacity;
  worker->expires_at_ms = now + expiry_ms_;
  return *worker;
}

WorkerState* WorkerRegistry::Find(const std::string& id) {
  for (WorkerState& worker : workers_) {
    if (worker.id == id) return &worker;
  }
  return nullptr;
}

WorkerState* WorkerRegistry::PickForRequest() {
  WorkerState* best = nullptr;
  size_t n = workers_.size();
  for (size_t i = 0; i < n; ++i) {
    WorkerState& worker = workers_[(next_ + i) % n];
    if (worker.draining || worker.outstanding >= worker.capacity) continue;
    if (!best || worker.outstanding < best->outstanding) best = &worker;
  }
  if (best) next_ = static_cast<size_t>(best - workers_.data()) + 1;
  return best;
}

WorkerState WorkerRegistry::Remove(const std::string& id) {
  auto it = std::find_if(workers_.begin(), workers_.end(), [&](const WorkerState& w) { return w.id == id; });
  if (it == workers_.end()) return WorkerState();
  WorkerState removed = std::move(*it);
  workers_.erase(it);
  return removed;
}

std::vector<std::string> WorkerRegistry::Expired(int64_t now) const {
  std::vector<std::string> expired;
  for (const WorkerState& worker : workers_) {
    if (worker.expires_at_ms <= now) expired.push_back(worker.id);
  }
  return expired;
}

}  // namespace upmesh
