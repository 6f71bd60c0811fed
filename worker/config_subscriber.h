// ConfigSubscriber: the worker's SUB socket on the router's config broadcast
// (UPDATE and HUGZ, shared/wire.h). Like RouterLink, its ZMQ_FD sits in the
// worker's epoll set with data.ptr == nullptr and must be drained with
// Receive() before every epoll_wait. ZeroMQ reconnects it by itself.
#pragma once

#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/curve.h"
#include "shared/status.h"

namespace upmesh::worker {

class ConfigSubscriber {
 public:
  ConfigSubscriber(zmq::context_t* context, std::string endpoint, CurveClientKeys curve = {});
  ~ConfigSubscriber();
  ConfigSubscriber(const ConfigSubscriber&) = delete;
  ConfigSubscriber& operator=(const ConfigSubscriber&) = delete;

  Status Open(int epoll_fd);
  // One whole message into *frames; false when none is waiting.
  bool Receive(std::vector<zmq::message_t>* frames);

 private:
  zmq::context_t* context_;
  const std::string endpoint_;
  const CurveClientKeys curve_;
  zmq::socket_t socket_;
  int epoll_fd_ = -1;
  int zmq_fd_ = -1;
};

}  // namespace upmesh::worker
