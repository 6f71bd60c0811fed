// HandshakeMonitor: logs the CURVE handshakes that fail on a process's CURVE
// server sockets (the router's, a frontend's worker socket) before the ZAP
// handler is asked, such as a worker without CURVE
// keys (mechanism mismatch) or one that trusts another router key (a HELLO
// the router cannot decrypt). ZapAuthenticator logs the refusals it decides.
//
// It attaches a libzmq socket monitor (zmq_socket_monitor) to each watched
// socket and reads the events without blocking from Poll(), which the router
// calls every heartbeat interval: these are log lines, not decisions, so a
// delay of one interval is fine. One line per socket and failure kind every
// kLogIntervalMs at most, with the count since the last line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/status.h"

namespace upmesh {

class HandshakeMonitor {
 public:
  static constexpr int64_t kLogIntervalMs = 10000;

  explicit HandshakeMonitor(zmq::context_t& context) : context_(context) {}

  // Call before `socket` binds. `name` is what the log calls it ("router.workerBind").
  Status Watch(zmq::socket_t& socket, const std::string& name);

  // Reads every waiting event and logs as above.
  void Poll(int64_t now_ms);

 private:
  struct Watched {
    std::string name;
    zmq::socket_t events;  // PAIR connected to the monitor
  };
  struct LogState {
    int64_t last_logged_ms = 0;
    uint64_t unlogged = 0;
  };

  zmq::context_t& context_;
  std::vector<std::unique_ptr<Watched>> watched_;
  std::map<std::string, LogState> log_state_;  // by socket name + failure kind
};

}  // namespace upmesh
