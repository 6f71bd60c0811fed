#include "shared/request_broker.h"

#include <algorithm>
#include <utility>

namespace upmesh {

RequestBroker::RequestBroker(int64_t worker_expiry_ms, Limits limits, Handlers handlers)
    : limits_(limits), handlers_(std::move(handlers)), workers_(worker_expiry_ms) {}

bool RequestBroker::Submit(const std::string& key, BrokeredRequest request) {
  if (!held_.emplace(key, std::move(request)).second) return false;
  if (!queue_.empty() || !TryDispatch(key)) {
    // Behind others waiting, or no worker free: FIFO, so no request overtakes.
    if (queue_.size() >= limits_.max_queued) {
      Answer(key, 503, "all workers busy");
    } else {
      queue_.push_back(key);
    }
  }
  return true;
}

bool RequestBroker::Completed(const std::string& key) {
  auto it = held_.find(key);
  if (it == held_.end()) return false;
  Release(key, it->second);
  held_.erase(it);
  return true;
}

bool RequestBroker::TryDispatch(const std::string& key) {
  for (;;) {
    WorkerState* worker = workers_.PickForRequest();
    if (!worker) return false;
    // The id is copied: dropping an unreachable worker destroys its entry.
    std::string worker_id = worker->id;
    BrokeredRequest& request = held_.at(key);
    Handoff handoff = handlers_.send(worker_id, request);
    if (handoff == Handoff::kBusy) return false;
    if (handoff == Handoff::kUnreachable) {
      WorkerLost(worker_id, "unreachable");
      continue;
    }
    request.attempts++;
    request.worker_id = worker_id;
    WorkerState* sent_to = workers_.Find(worker_id);
    sent_to->outstanding++;
    sent_to->in_flight.insert(key);
    return true;
  }
}

void RequestBroker::DispatchQueued() {
  while (!queue_.empty()) {
    // Popped before dispatching: a lost worker may push retries to the front meanwhile.
    std::string key = std::move(queue_.front());
    queue_.pop_front();
    if (held_.count(key) && !TryDispatch(key)) {
      queue_.push_front(std::move(key));
      return;
    }
  }
}

bool RequestBroker::WorkerReady(const std::string& worker_id, int capacity, const std::string& incarnation,
                                int64_t now) {
  WorkerState* known = workers_.Find(worker_id);
  // A worker first heard by its HB (this broker restarted) has no incarnation yet.
  if (known && !known->incarnation.empty() && known->incarnation != incarnation) {
    WorkerLost(worker_id, "restarted");
    known = nullptr;
  }
  WorkerState& worker = workers_.Heard(worker_id, capacity, now);
  worker.incarnation = incarnation;
  worker.draining = false;
  return known == nullptr;
}

void RequestBroker::WorkerLost(const std::string& worker_id, const char* why) {
  // A copy: the caller's id may be the registry entry's own, which Remove destroys.
  std::string id = worker_id;
  WorkerState lost = workers_.Remove(id);
  std::vector<std::string> retry;
  size_t failed = 0;
  for (const std::string& key : lost.in_flight) {
    auto it = held_.find(key);
    if (it == held_.end()) continue;
    if (it->second.idempotent) {
      it->second.worker_id.clear();
      retry.push_back(key);
    } else {
      Answer(key, 502, "worker lost while handling the request");
      ++failed;
    }
  }
  // To the front of the queue, oldest first.
  std::sort(retry.begin(), retry.end(), [&](const std::string& a, const std::string& b) {
    return held_.at(a).received_at_ms > held_.at(b).received_at_ms;
  });
  for (const std::string& key : retry) queue_.push_front(key);
  if (handlers_.lost) handlers_.lost(id, why, retry.size(), failed);
}

void RequestBroker::Sweep(int64_t now) {
  for (const std::string& id : workers_.Expired(now)) WorkerLost(id, "no heartbeat");
  while (!queue_.empty()) {
    auto it = held_.find(queue_.front());
    if (it != held_.end() && now - it->second.received_at_ms < limits_.queue_timeout_ms) break;
    std::string key = std::move(queue_.front());
    queue_.pop_front();
    if (it != held_.end()) Answer(key, 503, "no worker available in time");
  }
  for (auto it = held_.begin(); it != held_.end();) {
    if (!it->second.worker_id.empty() && now - it->second.received_at_ms > limits_.forget_after_ms) {
      Release(it->first, it->second);
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  DispatchQueued();
}

void RequestBroker::Answer(const std::string& key, int status, const std::string& detail) {
  auto it = held_.find(key);
  if (it == held_.end()) return;
  Release(key, it->second);
  handlers_.answer(it->second, status, detail);
  held_.erase(key);
}

void RequestBroker::Release(const std::string& key, const BrokeredRequest& request) {
  if (request.worker_id.empty()) return;
  if (WorkerState* worker = workers_.Find(request.worker_id)) {
    worker->outstanding--;
    worker->in_flight.erase(key);
  }
}

}  // namespace upmesh
