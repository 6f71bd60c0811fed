#include "router/config_publisher.h"

#include "shared/log.h"
#include "shared/wire.h"

namespace upmesh::router {

ConfigPublisher::ConfigPublisher(zmq::context_t& context) : socket_(context, zmq::socket_type::pub) {}

Status ConfigPublisher::Bind(const std::string& endpoint, const CurveServerKeys& curve) {
  ApplyCurveServer(socket_, curve);
  socket_.set(zmq::sockopt::sndhwm, 100000);
  socket_.set(zmq::sockopt::linger, 0);
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot bind " + endpoint + " (router.publishBind / --publish-bind): " + e.what());
  }
  LOG_INFO("config broadcast on %s", endpoint.c_str());
  return Status::Ok();
}

void ConfigPublisher::PublishChange(uint64_t seq, const nlohmann::json& change) {
  std::string body = change.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Send(wire::Encoded(wire::Update{seq, body}));
}

void ConfigPublisher::PublishHeartbeat(uint64_t seq) {
  Send(wire::Encoded(wire::PublisherHeartbeat{seq}));
}

void ConfigPublisher::Send(Frames frames) {
  // PUB never blocks: at the high-water mark it drops the whole message.
  (void)SendMultipart(socket_, frames);
}

}  // namespace upmesh::router
