// MetricsEndpoint: a process's own small HTTP port for `GET /metrics`
// (--metrics-port on the frontend and the worker), polled by the process's
// loop like its other ZeroMQ sockets.
//
// A ZMQ_STREAM socket; each connection's bytes go through the shared request
// reader (shared/http_request_reader.h), however TCP split them. `GET` or
// `HEAD /metrics` is answered with the page the owner renders (the Prometheus
// text format, shared/metrics_text.h), any other path 404, any other method
// 405, a malformed request with the reader's status; every answer closes the
// connection (the client is asked to close; the endpoint closes it itself
// kLingerMs later, once the answer has had time to leave), so there is
// nothing to keep per connection but its unread request. Bounds: at most kMaxConnections at once (a newcomer closes the
// oldest), a request must arrive whole within kRequestTimeoutMs and within
// 8 KiB of head (4 KiB of body). The page is rendered only when asked for: the data path pays
// nothing for the port but the counters it keeps anyway.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/http_request_reader.h"
#include "shared/status.h"

namespace upmesh {

class MetricsEndpoint {
 public:
  static constexpr size_t kMaxConnections = 64;
  static constexpr int64_t kRequestTimeoutMs = 5000;
  static constexpr int64_t kLingerMs = 1000;

  using Render = std::function<std::string()>;

  MetricsEndpoint(zmq::context_t* context, Render render);
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // Listens on tcp://address:port. IoError naming the endpoint when it cannot.
  Status Bind(const std::string& address, int port);

  // For the owner's poll set (ZMQ_POLLIN) or, through ZMQ_FD, its epoll set.
  zmq::socket_t& socket() { return socket_; }

  // Reads everything waiting and answers what is complete.
  void HandleReadable(int64_t now_ms);
  // Closes connections whose request is late.
  void Sweep(int64_t now_ms);

 private:
  struct Connection {
    explicit Connection(const http::RequestLimits& limits) : reader(limits) {}
    http::RequestReader reader;
    std::string unread;  // bytes the reader has not consumed yet
    int64_t opened_ms = 0;
    int64_t close_at_ms = 0;  // answered: closed then, unless the client closes first
  };

  void OnBytes(const std::string& id, std::string_view bytes, int64_t now_ms);
  void Answer(Connection* connection, const std::string& id, int status, const std::string& body, bool head_only,
              int64_t now_ms);
  void Close(const std::string& id);

  zmq::socket_t socket_;
  Render render_;
  std::map<std::string, std::unique_ptr<Connection>> connections_;  // by routing id
  std::vector<zmq::message_t> frames_;
};

}  // namespace upmesh
