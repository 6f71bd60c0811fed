// A ZeroMQ message frame as bytes, both ways: View() reads one without a
// copy (valid while the message lives), Frame() makes one (a copy); and
// ReceiveMultipart(), one whole message without blocking.
#pragma once

#include <string_view>
#include <vector>

#include <zmq.hpp>

namespace upmesh {

inline std::string_view View(const zmq::message_t& message) {
  return std::string_view(static_cast<const char*>(message.data()), message.size());
}

inline zmq::message_t Frame(std::string_view bytes) { return zmq::message_t(bytes.data(), bytes.size()); }

// Reads one whole multipart message into *frames (replacing its contents);
// false if none is waiting. The parts of a message arrive together, so only
// the first read can find nothing.
inline bool ReceiveMultipart(zmq::socket_t& socket, std::vector<zmq::message_t>* frames) {
  frames->clear();
  zmq::message_t frame;
  if (!socket.recv(frame, zmq::recv_flags::dontwait)) return false;
  bool more = frame.more();
  frames->push_back(std::move(frame));
  while (more) {
    zmq::message_t next;
    (void)socket.recv(next);
    more = next.more();
    frames->push_back(std::move(next));
  }
  return true;
}

}  // namespace upmesh
