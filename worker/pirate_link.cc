#include "worker/pirate_link.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "shared/log.h"
#include "shared/wire.h"
#include "shared/zmq_frame.h"

namespace upmesh::worker {
namespace {

constexpr int kLingerMs = 500;       // at close: time to flush queued replies
constexpr int kHighWaterMark = 100000;  // messages; a full queue drops, never blocks
constexpr int kReadyRetryMs = 20;  // while the connection is not up yet

}  // namespace

PirateLink::PirateLink(zmq::context_t* context, Options options)
    : context_(context),
      options_(std::move(options)),
      incarnation_(wire::MakeIncarnation()) {}

PirateLink::~PirateLink() { Close(); }

Status PirateLink::Open(int epoll_fd, int64_t now_ms) {
  epoll_fd_ = epoll_fd;
  return Connect(now_ms);
}

Status PirateLink::Connect(int64_t now_ms) {
  try {
    socket_ = zmq::socket_t(*context_, zmq::socket_type::dealer);
    ApplyCurveClient(socket_, options_.curve);
    socket_.set(zmq::sockopt::routing_id, options_.routing_id);
    socket_.set(zmq::sockopt::linger, kLingerMs);
    socket_.set(zmq::sockopt::sndhwm, kHighWaterMark);
    socket_.set(zmq::sockopt::rcvhwm, kHighWaterMark);
    // Queue nothing for a connection that is not up yet, so that READY
    // (retried by Tick) goes out only once it can reach its peer: a READY
    // queued long before would make a frontend send requests to a socket
    // that may be about to be replaced.
    socket_.set(zmq::sockopt::immediate, 1);
    socket_.connect(options_.endpoint);
    zmq_fd_ = socket_.get(zmq::sockopt::fd);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument(options_.peer + " endpoint " + options_.endpoint + ": " + e.what());
  }
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // marks a ZeroMQ socket
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, zmq_fd_, &event) != 0) {
    return Status::IoError("epoll_ctl(" + options_.peer + " socket): " + std::strerror(errno));
  }
  ready_sent_ = false;
  TrySendReady(now_ms);
  return Status::Ok();
}

void PirateLink::Close() {
  if (!socket_) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, zmq_fd_, nullptr);
  socket_.close();
  zmq_fd_ = -1;
}

void PirateLink::TrySendReady(int64_t now_ms) {
  if (!SendControl(wire::Ready{options_.capacity, incarnation_})) {  // not connected yet
    next_heartbeat_ms_ = now_ms + kReadyRetryMs;
    return;
  }
  ready_sent_ = true;
  just_connected_ = true;
  last_heard_ms_ = now_ms;  // the peer has a full liveness period to answer
  next_heartbeat_ms_ = now_ms + options_.heartbeat_ms;
  LOG_DEBUG("READY sent to %s %s", options_.peer.c_str(), options_.endpoint.c_str());
}

bool PirateLink::Receive(Frames* frames, int64_t now_ms) {
  if (!socket_) return false;
  // ZMQ_EVENTS also processes the socket's pending commands, which is what
  // re-arms ZMQ_FD; so ask it each time rather than relying on EAGAIN.
  if (!(socket_.get(zmq::sockopt::events) & ZMQ_POLLIN)) return false;
  if (!ReceiveMultipart(socket_, frames)) return false;
  last_heard_ms_ = now_ms;
  if (peer_silent_) {
    LOG_INFO("%s %s is back", options_.peer.c_str(), options_.endpoint.c_str());
    peer_silent_ = false;
  }
  return true;
}

bool PirateLink::Send(Frames& frames) { return SendMultipart(socket_, frames); }

template <typename Message>
bool PirateLink::SendControl(const Message& message) {
  message.Encode(&control_frames_);
  return Send(control_frames_);
}

void PirateLink::Tick(int64_t now_ms) {
  if (said_bye_ || !socket_) return;
  if (unreachable_warning_.Due(!ready_sent_, now_ms)) {
    LOG_WARN("no %s reachable at %s for %lld s (%s); still trying", options_.peer.c_str(), options_.endpoint.c_str(),
             static_cast<long long>(unreachable_warning_.waited_ms(now_ms) / 1000), options_.hint.c_str());
  }
  if (!ready_sent_) {
    // ZeroMQ keeps trying to connect by itself; until it has, there is no
    // peer to miss.
    if (now_ms >= next_heartbeat_ms_) TrySendReady(now_ms);
    return;
  }
  bool silent = now_ms - last_heard_ms_ >= int64_t{options_.heartbeat_liveness} * options_.heartbeat_ms;
  // Requests already queued in the socket would be lost with it: take them
  // first (they count as hearing from the peer).
  if (silent && (socket_.get(zmq::sockopt::events) & ZMQ_POLLIN)) silent = false;
  if (silent) {
    if (!peer_silent_) {
      LOG_WARN("%s %s silent for %lld ms: reconnecting", options_.peer.c_str(), options_.endpoint.c_str(),
               static_cast<long long>(now_ms - last_heard_ms_));
      peer_silent_ = true;
    } else {
      LOG_DEBUG("%s %s still silent: reconnecting", options_.peer.c_str(), options_.endpoint.c_str());
    }
    Close();
    Status status = Connect(now_ms);
    if (!status.ok()) LOG_ERROR("%s", status.message().c_str());
    return;
  }
  if (now_ms >= next_heartbeat_ms_) {
    std::string stats = options_.stats ? options_.stats() : std::string();
    SendControl(wire::WorkerHeartbeat{options_.capacity, options_.stats != nullptr, stats});
    next_heartbeat_ms_ = now_ms + options_.heartbeat_ms;
  }
}

int64_t PirateLink::next_tick_ms() const {
  if (said_bye_) return INT64_MAX;
  if (!ready_sent_) return next_heartbeat_ms_;  // the next READY attempt
  int64_t silence_deadline = last_heard_ms_ + int64_t{options_.heartbeat_liveness} * options_.heartbeat_ms;
  return std::min(next_heartbeat_ms_, silence_deadline);
}

void PirateLink::SayBye() {
  if (said_bye_) return;
  SendControl(wire::Bye{});
  said_bye_ = true;
}

}  // namespace upmesh::worker
