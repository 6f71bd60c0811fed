// ConfigPublisher: the router's PUB socket for the config broadcast (the
// zguide's Clone pattern; docs/protocol.md).
//
//   UPDATE [UPM1][UPDATE][seq][change-json]  one per change, seq = previous + 1
//   HUGZ   [UPM1][HUGZ][seq]                 every heartbeat: "alive, at seq"
//
// PUB drops messages for slow or late subscribers; that is fine because a
// worker that sees a gap in seq (or a HUGZ ahead of its table, or silence)
// asks for a SNAPSHOT on its DEALER link and catches up.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "shared/curve.h"
#include "shared/status.h"
#include "shared/zmq_frame.h"

namespace upmesh::router {

class ConfigPublisher {
 public:
  explicit ConfigPublisher(zmq::context_t& context);

  Status Bind(const std::string& endpoint, const CurveServerKeys& curve);  // router.publishBind
  void PublishChange(uint64_t seq, const nlohmann::json& change);
  void PublishHeartbeat(uint64_t seq);
  zmq::socket_t& socket() { return socket_; }  // to attach a monitor before Bind

 private:
  void Send(Frames frames);

  zmq::socket_t socket_;
};

}  // namespace upmesh::router
