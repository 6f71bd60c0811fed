// A ZeroMQ message frame as bytes, both ways: View() reads one without a
// copy (valid while the message lives), Frame() makes one (a copy).
#pragma once

#include <string_view>

#include <zmq.hpp>

namespace upmesh {

inline std::string_view View(const zmq::message_t& message) {
  return std::string_view(static_cast<const char*>(message.data()), message.size());
}

inline zmq::message_t Frame(std::string_view bytes) { return zmq::message_t(bytes.data(), bytes.size()); }

}  // namespace upmesh
