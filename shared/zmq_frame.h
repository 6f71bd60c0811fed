// A ZeroMQ message frame as bytes, both ways: View() reads one without a
// copy (valid while the message lives), Frame() makes one (a copy, or for a
// large std::string moved in, a message that owns the string); and the one
// pair of multipart helpers, ReceiveMultipart() and SendMultipart(), which
// never block. Their overloads with a routing id are for ROUTER sockets: the
// envelope is taken off or put on here and nowhere else.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

namespace upmesh {

using Frames = std::vector<zmq::message_t>;

inline std::string_view View(const zmq::message_t& message) {
  return std::string_view(static_cast<const char*>(message.data()), message.size());
}

inline zmq::message_t Frame(std::string_view bytes) { return zmq::message_t(bytes.data(), bytes.size()); }

// Below this a copy costs less than a heap-owned string and its deleter.
constexpr size_t kZeroCopyBytes = 4096;

// A frame that takes `bytes` over without copying them (when large).
inline zmq::message_t OwningFrame(std::string bytes) {
  if (bytes.size() < kZeroCopyBytes) return Frame(bytes);
  auto* owned = new std::string(std::move(bytes));
  return zmq::message_t(
      owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
}

// Reads one whole multipart message into *frames (replacing its contents);
// false if none is waiting. The parts of a message arrive together, so only
// the first read can find nothing.
inline bool ReceiveMultipart(zmq::socket_t& socket, Frames* frames) {
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

// From a ROUTER socket: the sender's routing id into *routing_id, the rest
// of its message (the frames from the signature on) into *frames.
inline bool ReceiveMultipart(zmq::socket_t& socket, std::string* routing_id, Frames* frames) {
  if (!ReceiveMultipart(socket, frames)) return false;
  routing_id->assign(View(frames->front()));
  frames->erase(frames->begin());
  return true;
}

// Sends *frames as one message without blocking, consuming them. False when
// the socket refuses the first part (no peer connected, or its queue full):
// ZeroMQ takes the rest of a message once it took the first. Throws
// zmq::error_t as socket.send does (EHOSTUNREACH under ROUTER_MANDATORY).
inline bool SendMultipart(zmq::socket_t& socket, Frames& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    zmq::send_flags flags = i + 1 < frames.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                                  : zmq::send_flags::dontwait;
    if (!socket.send(frames[i], flags)) return false;
  }
  return true;
}

// Sends [routing_id][*frames] on a ROUTER socket, as above.
inline bool SendMultipart(zmq::socket_t& socket, std::string_view routing_id, Frames& frames) {
  if (!socket.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
  for (size_t i = 0; i < frames.size(); ++i) {
    (void)socket.send(frames[i], i + 1 < frames.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                                       : zmq::send_flags::dontwait);
  }
  return true;
}

}  // namespace upmesh
