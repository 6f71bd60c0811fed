// ConfigSubscriber: a SUB socket on the router's config broadcast (UPDATE and
// HUGZ, shared/wire.h), used by workers and frontends. Given an epoll set
// (the worker), its ZMQ_FD sits in it with data.ptr == nullptr and must be
// drained with Receive() before every epoll_wait; without one (the
// frontend), handle() goes into a zmq_poll set. ZeroMQ reconnects it by
// itself.
#pragma once

#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/curve.h"
#include "shared/status.h"
#include "shared/zmq_frame.h"

namespace upmesh {

class ConfigSubscriber {
 public:
  ConfigSubscriber(zmq::context_t* context, std::string endpoint, CurveClientKeys curve = {});
  ~ConfigSubscriber();
  ConfigSubscriber(const ConfigSubscriber&) = delete;
  ConfigSubscriber& operator=(const ConfigSubscriber&) = delete;

  // epoll_fd < 0: not registered in any epoll set.
  Status Open(int epoll_fd = -1);
  void* handle() { return socket_.handle(); }
  // One whole message into *frames; false when none is waiting.
  bool Receive(Frames* frames);

 private:
  zmq::context_t* context_;
  const std::string endpoint_;
  const CurveClientKeys curve_;
  zmq::socket_t socket_;
  int epoll_fd_ = -1;
  int zmq_fd_ = -1;
};

}  // namespace upmesh
