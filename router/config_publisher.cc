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
  std::string seq_text = std::to_string(seq);
  std::string body = change.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Send({wire::kSignature, wire::kUpdate, seq_text, body});
}

void ConfigPublisher::PublishHeartbeat(uint64_t seq) {
  std::string seq_text = std::to_string(seq);
  Send({wire::kSignature, wire::kPublisherHeartbeat, seq_text});
}

void ConfigPublisher::Send(std::initializer_list<std::string_view> frames) {
  size_t left = frames.size();
  for (std::string_view frame : frames) {
    --left;
    // PUB never blocks: at the high-water mark it drops the whole message.
    (void)socket_.send(zmq::buffer(frame), left ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

}  // namespace upmesh::router
