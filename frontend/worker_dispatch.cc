#include "frontend/worker_dispatch.h"

#include <cstdlib>

#include "shared/http_fields.h"
#include "shared/log.h"
#include "shared/wire.h"
#include "shared/zmq_frame.h"

namespace upmesh::frontend {
namespace {

constexpr int kBatch = 256;
// A request a worker never answers is forgotten after this long, so a stuck
// worker's capacity comes back; the client has long since been answered 504.
constexpr int64_t kForgetAfterMs = 10 * 60 * 1000;
}  // namespace

WorkerDispatch::WorkerDispatch(zmq::context_t& context, const FrontendConfig& config, ReplyHandler on_reply)
    : config_(config),
      on_reply_(std::move(on_reply)),
      workers_(context, zmq::socket_type::router),
      broker_(int64_t{config.heartbeat_ms} * config.heartbeat_liveness,
              {config.max_queued, config.queue_timeout_ms, kForgetAfterMs},
              {[this](const std::string& worker_id, BrokeredRequest& request) { return SendToWorker(worker_id, request); },
               [this](BrokeredRequest& request, int status, const std::string& detail) {
                 AnswerLocally(request, status, detail);
               },
               [](const std::string& worker_id, const char* why, size_t retried, size_t failed) {
                 LOG_WARN("worker %s lost (%s): %zu request(s) retried elsewhere, %zu answered 502", worker_id.c_str(),
                          why, retried, failed);
               }}) {}

Status WorkerDispatch::Bind(const CurveServerKeys& curve) {
  ApplyCurveServer(workers_, curve);
  // A vanished worker is an error (EHOSTUNREACH), not a silent drop.
  workers_.set(zmq::sockopt::router_mandatory, 1);
  // A worker reconnecting with the same id replaces its stale connection.
  workers_.set(zmq::sockopt::router_handover, 1);
  workers_.set(zmq::sockopt::sndhwm, 100000);
  workers_.set(zmq::sockopt::rcvhwm, 100000);
  workers_.set(zmq::sockopt::linger, 1000);
  try {
    workers_.bind(config_.worker_bind);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot bind " + config_.worker_bind + " (frontend.workerBind / --worker-bind): " +
                           e.what());
  }
  return Status::Ok();
}

void WorkerDispatch::Submit(wire::Request request, bool idempotent, int64_t now) {
  BrokeredRequest held;
  request.Encode(&held.frames);
  held.idempotent = idempotent;
  held.received_at_ms = now;
  std::string request_id(wire::Request::RequestIdOf(held.frames));
  (void)broker_.Submit(request_id, std::move(held));  // ids are unique per frontend
  DeliverLocalAnswers();
}

RequestBroker::Handoff WorkerDispatch::SendToWorker(const std::string& worker_id, BrokeredRequest& request) {
  // Copies share the buffers: the held frames stay for a possible retry.
  outgoing_.resize(request.frames.size());
  for (size_t f = 0; f < request.frames.size(); ++f) outgoing_[f].copy(request.frames[f]);
  try {
    // Its pipe is full (far past its capacity): busy for now.
    if (!SendMultipart(workers_, worker_id, outgoing_)) return RequestBroker::Handoff::kBusy;
  } catch (const zmq::error_t&) {
    return RequestBroker::Handoff::kUnreachable;  // EHOSTUNREACH: the worker disconnected
  }
  return RequestBroker::Handoff::kSent;
}

void WorkerDispatch::AnswerLocally(BrokeredRequest& request, int status, const std::string& detail) {
  http::SimpleResponse response = http::MakeSimpleResponse(status, detail);
  wire::Reply reply;
  reply.request_id = Frame(wire::Request::RequestIdOf(request.frames));
  reply.meta.status = static_cast<uint16_t>(status);
  reply.meta.flags = wire::ReplyMeta::kGenerated;
  reply.head = Frame(response.head);
  reply.body = Frame(response.body);
  local_answers_.push_back(std::move(reply));
}

void WorkerDispatch::DeliverLocalAnswers() {
  if (delivering_) return;  // the outer call delivers what this one added
  delivering_ = true;
  while (!local_answers_.empty()) {
    wire::Reply answer = std::move(local_answers_.front());
    local_answers_.pop_front();
    on_reply_(answer);
  }
  delivering_ = false;
}

void WorkerDispatch::OnReadable(int64_t now) {
  std::string worker_id;
  Frames frames;
  for (int i = 0; i < kBatch && ReceiveMultipart(workers_, &worker_id, &frames); ++i) {
    OnWorkerMessage(worker_id, frames, now);
  }
  broker_.DispatchQueued();
  DeliverLocalAnswers();
}

void WorkerDispatch::OnWorkerMessage(const std::string& worker_id, Frames& frames, int64_t now) {
  std::string_view command;
  Status status = wire::PeekCommand(frames, &command);
  if (status.ok() && command == wire::Reply::kCommand) {
    wire::Reply reply;
    status = wire::Reply::Decode(frames, &reply);
    if (status.ok()) {
      broker_.workers().Heard(worker_id, -1, now);
      // Not held: answered already (502/503 here, or by another worker after a retry).
      if (broker_.Completed(std::string(View(reply.request_id)))) on_reply_(reply);
    }
  } else if (status.ok() && command == wire::Ready::kCommand) {
    wire::Ready ready;
    status = wire::Ready::Decode(frames, &ready);
    if (status.ok()) OnWorkerAlive(worker_id, ready.capacity, &ready, now);
  } else if (status.ok() && command == wire::WorkerHeartbeat::kCommand) {
    wire::WorkerHeartbeat heartbeat;
    status = wire::WorkerHeartbeat::Decode(frames, &heartbeat);
    if (status.ok()) OnWorkerAlive(worker_id, heartbeat.capacity, nullptr, now);
  } else if (status.ok() && command == wire::Bye::kCommand) {
    wire::Bye bye;
    status = wire::Bye::Decode(frames, &bye);
    WorkerState* worker = status.ok() ? broker_.workers().Find(worker_id) : nullptr;
    if (worker) {
      worker->draining = true;
      broker_.workers().Heard(worker_id, -1, now);
      LOG_INFO("worker %s is draining", worker_id.c_str());
    }
  } else if (status.ok()) {
    status = Status::InvalidArgument("unknown command " + std::string(command));
  }
  if (!status.ok()) LOG_WARN_THROTTLED("worker %s: dropped a message: %s", worker_id.c_str(), status.message().c_str());
}

// READY (ready given) or HB.
void WorkerDispatch::OnWorkerAlive(const std::string& worker_id, int capacity, const wire::Ready* ready,
                                   int64_t now) {
  bool joined = ready ? broker_.WorkerReady(worker_id, capacity, std::string(ready->incarnation), now)
                      : broker_.workers().Find(worker_id) == nullptr;
  if (!ready) broker_.workers().Heard(worker_id, capacity, now);
  if (joined) LOG_INFO("worker %s joined (capacity %d)", worker_id.c_str(), capacity);
}

void WorkerDispatch::Tick(int64_t now) {
  if (now < next_heartbeat_ms_) return;
  next_heartbeat_ms_ = now + config_.heartbeat_ms;
  std::vector<std::string> unreachable;
  for (const WorkerState& worker : broker_.workers().workers()) {
    try {
      wire::FrontendHeartbeat{}.Encode(&outgoing_);
      (void)SendMultipart(workers_, worker.id, outgoing_);  // a full pipe: the worker is busy, not lost
    } catch (const zmq::error_t&) {
      unreachable.push_back(worker.id);
    }
  }
  for (const std::string& id : unreachable) broker_.WorkerLost(id, "disconnected");
  broker_.Sweep(now);
  DeliverLocalAnswers();
}

}  // namespace upmesh::frontend
