// WorkerDispatch: the frontend's data path to the workers, the zguide's
// load-balancing broker for this frontend's own requests.
//
// A ROUTER socket (frontend.workerBind, ROUTER_MANDATORY) that workers
// connect to, one DEALER each (worker/pirate_link.h). The policy is a
// RequestBroker (shared/request_broker.h): credit from each worker's READY
// and HB capacity, a bounded queue (frontend.maxQueued, answered 503 after
// frontend.queueTimeoutMs), a lost worker's idempotent requests retried on
// another, its others answered 502. This class does the socket I/O around
// it: REQ out, REP / READY / HB / BYE in, HB to every worker each heartbeat
// interval, and workers silent for heartbeatLiveness intervals lost
// (Paranoid Pirate both ways).
//
// Every request gets exactly one answer through `on_reply`: the worker's
// REP, or a reply made here (reply-meta kGenerated). Answers made from
// inside the broker are delivered after it returns, so `on_reply` may
// Submit again.
//
// With CURVE the socket is a CURVE server; the caller's ZapAuthenticator
// admits only the allowed client keys.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/config.h"
#include "shared/curve.h"
#include "shared/request_broker.h"
#include "shared/status.h"
#include "shared/wire.h"
#include "shared/zmq_frame.h"

namespace upmesh::frontend {

class WorkerDispatch {
 public:
  // A worker's REP, or one made here; the handler may move head and body out.
  using ReplyHandler = std::function<void(wire::Reply& reply)>;

  WorkerDispatch(zmq::context_t& context, const FrontendConfig& config, ReplyHandler on_reply);

  zmq::socket_t& socket() { return workers_; }
  // Applies `curve` (disabled: none) and binds frontend.workerBind.
  Status Bind(const CurveServerKeys& curve);
  // Reads what the workers sent (a batch).
  void OnReadable(int64_t now);
  // Takes a request: sent to a worker, queued, or answered 503.
  void Submit(wire::Request request, bool idempotent, int64_t now);
  // Every heartbeat interval: HB to the workers, expiry, queue timeouts.
  void Tick(int64_t now);
  int64_t next_tick_ms() const { return next_heartbeat_ms_; }
  size_t workers() const { return broker_.workers().size(); }
  size_t queued() const { return broker_.queued(); }

 private:
  void OnWorkerMessage(const std::string& worker_id, Frames& frames, int64_t now);
  void OnWorkerAlive(const std::string& worker_id, int capacity, const wire::Ready* ready, int64_t now);
  RequestBroker::Handoff SendToWorker(const std::string& worker_id, BrokeredRequest& request);
  void AnswerLocally(BrokeredRequest& request, int status, const std::string& detail);
  void DeliverLocalAnswers();

  const FrontendConfig& config_;
  ReplyHandler on_reply_;
  zmq::socket_t workers_;  // ROUTER
  // Each request it holds as its encoded REQ.
  RequestBroker broker_;
  Frames outgoing_;                        // a held REQ's copies on their way: reused
  std::deque<wire::Reply> local_answers_;  // made inside the broker, delivered after it returns
  bool delivering_ = false;
  int64_t next_heartbeat_ms_ = 0;
};

}  // namespace upmesh::frontend
