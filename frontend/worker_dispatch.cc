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
enum HeldFrame { kRequestId, kRequestMeta, kRouteStamp, kHead, kBody, kHeldFrames };


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

void WorkerDispatch::Submit(std::string request_id, std::string meta, std::string stamp, std::string head,
                            zmq::message_t body, bool idempotent, int64_t now) {
  BrokeredRequest request;
  request.frames.reserve(kHeldFrames);
  request.frames.push_back(Frame(request_id));
  request.frames.push_back(Frame(meta));
  request.frames.push_back(Frame(stamp));
  request.frames.push_back(Frame(head));
  request.frames.push_back(std::move(body));
  request.idempotent = idempotent;
  request.received_at_ms = now;
  (void)broker_.Submit(request_id, std::move(request));  // ids are unique per frontend
  DeliverLocalAnswers();
}

RequestBroker::Handoff WorkerDispatch::SendToWorker(const std::string& worker_id, BrokeredRequest& request) {
  auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  try {
    // Its pipe is full (far past its capacity): busy for now.
    if (!workers_.send(zmq::buffer(worker_id), more)) return RequestBroker::Handoff::kBusy;
    (void)workers_.send(zmq::buffer(wire::kSignature), more);
    (void)workers_.send(zmq::buffer(wire::kRequest), more);
    for (int f = kRequestId; f < kHeldFrames; ++f) {
      // Copies share the buffers: the held frames stay for a possible retry.
      zmq::message_t copy;
      copy.copy(request.frames[f]);
      (void)workers_.send(copy, f == kBody ? zmq::send_flags::dontwait : more);
    }
  } catch (const zmq::error_t&) {
    return RequestBroker::Handoff::kUnreachable;  // EHOSTUNREACH: the worker disconnected
  }
  return RequestBroker::Handoff::kSent;
}

void WorkerDispatch::AnswerLocally(BrokeredRequest& request, int status, const std::string& detail) {
  http::SimpleResponse response = http::MakeSimpleResponse(status, detail);
  wire::ReplyMeta meta;
  meta.status = static_cast<uint16_t>(status);
  meta.flags = wire::ReplyMeta::kGenerated;
  local_answers_.push_back({std::string(View(request.frames[kRequestId])), meta.Encode(), Frame(response.head),
                            Frame(response.body)});
}

void WorkerDispatch::DeliverLocalAnswers() {
  if (delivering_) return;  // the outer call delivers what this one added
  delivering_ = true;
  while (!local_answers_.empty()) {
    LocalAnswer answer = std::move(local_answers_.front());
    local_answers_.pop_front();
    on_reply_(answer.request_id, answer.meta, answer.head, answer.body);
  }
  delivering_ = false;
}

void WorkerDispatch::OnReadable(int64_t now) {
  std::vector<zmq::message_t> frames;
  for (int i = 0; i < kBatch && ReceiveMultipart(workers_, &frames); ++i) {
    if (frames.size() < 3 || View(frames[1]) != wire::kSignature) {
      LOG_WARN_THROTTLED("dropping a malformed message from a worker (%zu frames)", frames.size());
      continue;
    }
    OnWorkerMessage(std::string(View(frames[0])), frames, now);
  }
  broker_.DispatchQueued();
  DeliverLocalAnswers();
}

void WorkerDispatch::OnWorkerMessage(const std::string& worker_id, std::vector<zmq::message_t>& frames,
                                     int64_t now) {
  std::string_view command = View(frames[2]);
  if (command == wire::kReply) {
    // [worker-id][UPM1][REP][request-id][meta][head][body]
    if (frames.size() != 7 || frames[3].size() != wire::kRequestIdSize) {
      LOG_WARN_THROTTLED("worker %s: malformed reply (%zu frames)", worker_id.c_str(), frames.size());
      return;
    }
    broker_.workers().Heard(worker_id, -1, now);
    std::string key(View(frames[3]));
    // Not held: answered already (502/503 here, or by another worker after a retry).
    if (broker_.Completed(key)) on_reply_(key, View(frames[4]), frames[5], frames[6]);
  } else if (command == wire::kReady || command == wire::kHeartbeat) {
    // READY [capacity][incarnation]; HB [capacity] (a worker's HB may carry stats too).
    bool shape_ok = command == wire::kReady ? frames.size() == 5 && frames[4].size() == wire::kIncarnationSize
                                            : frames.size() == 4 || frames.size() == 5;
    int capacity = shape_ok ? wire::ParseCapacity(View(frames[3])) : -1;
    if (capacity < 0) {
      LOG_WARN_THROTTLED("worker %s: malformed %s (capacity or incarnation)", worker_id.c_str(),
                         std::string(command).c_str());
      return;
    }
    bool joined = command == wire::kReady
                      ? broker_.WorkerReady(worker_id, capacity, std::string(View(frames[4])), now)
                      : broker_.workers().Find(worker_id) == nullptr;
    if (command == wire::kHeartbeat) broker_.workers().Heard(worker_id, capacity, now);
    if (joined) LOG_INFO("worker %s joined (capacity %d)", worker_id.c_str(), capacity);
  } else if (command == wire::kBye) {
    if (WorkerState* worker = broker_.workers().Find(worker_id)) {
      worker->draining = true;
      broker_.workers().Heard(worker_id, -1, now);
      LOG_INFO("worker %s is draining", worker_id.c_str());
    }
  } else {
    LOG_WARN_THROTTLED("worker %s: unknown command", worker_id.c_str());
  }
}

void WorkerDispatch::Tick(int64_t now) {
  if (now < next_heartbeat_ms_) return;
  next_heartbeat_ms_ = now + config_.heartbeat_ms;
  std::vector<std::string> unreachable;
  for (const WorkerState& worker : broker_.workers().workers()) {
    try {
      auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
      if (workers_.send(zmq::buffer(worker.id), more)) {
        (void)workers_.send(zmq::buffer(wire::kSignature), more);
        (void)workers_.send(zmq::buffer(wire::kHeartbeat), zmq::send_flags::dontwait);
      }
    } catch (const zmq::error_t&) {
      unreachable.push_back(worker.id);
    }
  }
  for (const std::string& id : unreachable) broker_.WorkerLost(id, "disconnected");
  broker_.Sweep(now);
  DeliverLocalAnswers();
}

}  // namespace upmesh::frontend
