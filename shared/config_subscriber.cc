#include "shared/config_subscriber.h"

#include <sys/epoll.h>

#include <cerrno>
#include <cstring>

#include "shared/wire.h"

namespace upmesh {

ConfigSubscriber::ConfigSubscriber(zmq::context_t* context, std::string endpoint, CurveClientKeys curve)
    : context_(context), endpoint_(std::move(endpoint)), curve_(std::move(curve)) {}

ConfigSubscriber::~ConfigSubscriber() {
  if (socket_ && epoll_fd_ >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, zmq_fd_, nullptr);
}

Status ConfigSubscriber::Open(int epoll_fd) {
  epoll_fd_ = epoll_fd;
  try {
    socket_ = zmq::socket_t(*context_, zmq::socket_type::sub);
    ApplyCurveClient(socket_, curve_);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::reconnect_ivl, 100);
    socket_.set(zmq::sockopt::reconnect_ivl_max, 1000);
    socket_.set(zmq::sockopt::subscribe, std::string(wire::kSignature));
    socket_.connect(endpoint_);
    zmq_fd_ = socket_.get(zmq::sockopt::fd);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("config endpoint " + endpoint_ + ": " + e.what());
  }
  if (epoll_fd_ < 0) return Status::Ok();
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, zmq_fd_, &event) != 0) {
    return Status::IoError(std::string("epoll_ctl(config socket): ") + std::strerror(errno));
  }
  return Status::Ok();
}

bool ConfigSubscriber::Receive(Frames* frames) {
  // Asking ZMQ_EVENTS processes pending commands and re-arms ZMQ_FD.
  if (!(socket_.get(zmq::sockopt::events) & ZMQ_POLLIN)) return false;
  return ReceiveMultipart(socket_, frames);
}

}  // namespace upmesh
