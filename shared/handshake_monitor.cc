#include "shared/handshake_monitor.h"

#include <cstring>

#include "shared/log.h"

namespace upmesh {
namespace {

constexpr int kEvents = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

const char* Describe(uint16_t event, uint32_t value) {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) return "mechanism mismatch (a peer without CURVE keys?)";
    if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
      return "cryptographic error (a peer that trusts another router key?)";
    }
    return "protocol error";
  }
  return "handshake failed";
}

}  // namespace

Status HandshakeMonitor::Watch(zmq::socket_t& socket, const std::string& name) {
  std::string endpoint = "inproc://upmesh-handshake-monitor-" + std::to_string(watched_.size());
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), kEvents) != 0) {
    return Status::IoError("cannot monitor " + name + ": " + zmq_strerror(zmq_errno()));
  }
  auto watched = std::make_unique<Watched>(Watched{name, zmq::socket_t(context_, zmq::socket_type::pair)});
  watched->events.set(zmq::sockopt::linger, 0);
  try {
    watched->events.connect(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot monitor " + name + ": " + e.what());
  }
  watched_.push_back(std::move(watched));
  return Status::Ok();
}

void HandshakeMonitor::Poll(int64_t now_ms) {
  for (const auto& watched : watched_) {
    for (;;) {
      // Each event is [event id (2 bytes) + value (4 bytes)][endpoint].
      zmq::message_t head;
      if (!watched->events.recv(head, zmq::recv_flags::dontwait)) break;
      zmq::message_t endpoint;
      if (head.more()) (void)watched->events.recv(endpoint);
      if (head.size() < 6) continue;
      uint16_t event;
      uint32_t value;
      std::memcpy(&event, head.data(), sizeof event);
      std::memcpy(&value, static_cast<const char*>(head.data()) + 2, sizeof value);
      std::string why = Describe(event, value);
      LogState& state = log_state_[watched->name + why];
      ++state.unlogged;
      if (state.last_logged_ms && now_ms - state.last_logged_ms < kLogIntervalMs) continue;
      LOG_WARN("mesh: refused a peer on %s (%s): %s; %llu such since the last line", watched->name.c_str(),
               endpoint.to_string().c_str(), why.c_str(), static_cast<unsigned long long>(state.unlogged));
      state.last_logged_ms = now_ms;
      state.unlogged = 0;
    }
  }
}

}  // namespace upmesh
