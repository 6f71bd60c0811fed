// RequestBroker: the zguide's load-balancing broker, without its sockets.
//
// It holds every request from the moment it is submitted until it is
// answered, so that a request can go to another worker when its worker is
// lost. Each request goes to the worker the WorkerRegistry picks (fewest
// outstanding below the capacity it announced); while none is free it waits
// in a bounded FIFO queue, and is answered 503 when the queue is full or it
// waited longer than `queue_timeout_ms`. When a worker is lost, its
// idempotent requests go back to the front of the queue, oldest first; the
// others are answered 502, since a write may already have reached the
// backend. A request no worker ever answers is forgotten after
// `forget_after_ms`, so that worker's capacity comes back.
//
// The owner does all I/O, through two handlers: `send` hands a request to a
// worker, `answer` replies in place of a worker. It tells the broker what
// its sockets learn: requests (Submit), replies (Completed), workers ready
// (WorkerReady) or heard (workers().Heard), workers gone (WorkerLost); and it
// calls Sweep every
// heartbeat interval. Handlers may call back into the broker, except
// Submit from within `answer`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "shared/worker_registry.h"

namespace upmesh {

// One request as the broker holds it.
struct BrokeredRequest {
  // What `send` needs to send it again: ZeroMQ copies share the buffers, so
  // keeping them for a retry costs no copy.
  std::vector<zmq::message_t> frames;
  bool idempotent = false;  // may be sent to a second worker
  int attempts = 0;         // how many times it was handed to a worker
  int64_t received_at_ms = 0;
  std::string worker_id;  // the worker that has it; empty while queued
};

class RequestBroker {
 public:
  enum class Handoff {
    kSent,         // the worker has it
    kBusy,         // the worker's pipe is full: try again later
    kUnreachable,  // the worker is gone: the broker drops it and tries another
  };
  struct Handlers {
    std::function<Handoff(const std::string& worker_id, BrokeredRequest& request)> send;
    // Replies to the request with `status` (503, 502) and a short reason; the
    // broker forgets the request afterwards.
    std::function<void(BrokeredRequest& request, int status, const std::string& detail)> answer;
    // A worker was dropped, after its requests were re-queued (`retried`) or
    // answered 502 (`failed`).
    std::function<void(const std::string& worker_id, const char* why, size_t retried, size_t failed)> lost;
  };
  struct Limits {
    size_t max_queued = 1000;
    int64_t queue_timeout_ms = 5000;
    int64_t forget_after_ms = 10 * 60 * 1000;
  };

  // `worker_expiry_ms`: a worker not heard from this long is expired by Sweep.
  RequestBroker(int64_t worker_expiry_ms, Limits limits, Handlers handlers);

  // Takes a new request under `key`, unique among the requests held (a
  // duplicate is dropped: false). Sends it, queues it, or answers 503.
  bool Submit(const std::string& key, BrokeredRequest request);
  // A worker answered `key`: the request is done and its worker has one more
  // request of credit. False if the broker did not hold it (a reply for a
  // request answered or forgotten already).
  bool Completed(const std::string& key);
  // Hands queued requests to workers with free capacity; call after capacity
  // grew (replies read, a worker joined).
  void DispatchQueued();
  // A worker said READY: it joins, or takes requests again after draining.
  // Under a known id with another incarnation it is a restarted process
  // that holds none of the old one's requests: the old one is lost first
  // (its requests retried or answered as below). True if it joined.
  bool WorkerReady(const std::string& worker_id, int capacity, const std::string& incarnation, int64_t now);
  // Drops the worker; its requests are retried or answered as above.
  void WorkerLost(const std::string& worker_id, const char* why);
  // Every heartbeat interval: drops expired workers, answers requests that
  // waited too long, forgets requests never answered, dispatches.
  void Sweep(int64_t now);

  WorkerRegistry& workers() { return workers_; }
  const WorkerRegistry& workers() const { return workers_; }
  size_t held() const { return held_.size(); }
  size_t queued() const { return queue_.size(); }

 private:
  // Sends the request to a worker with capacity; false if none has any.
  bool TryDispatch(const std::string& key);
  void Answer(const std::string& key, int status, const std::string& detail);
  void Release(const std::string& key, const BrokeredRequest& request);

  Limits limits_;
  Handlers handlers_;
  WorkerRegistry workers_;
  std::unordered_map<std::string, BrokeredRequest> held_;
  std::deque<std::string> queue_;  // keys of held requests waiting for a worker, oldest first
};

}  // namespace upmesh
