// ZapAuthenticator: the ZAP handler (ZeroMQ RFC 27) of a process with CURVE
// server sockets (the router; a frontend's worker socket), which decides who may join the mesh when CURVE is on (the zguide's "Ironhouse" pattern,
// shared/curve.h).
//
// libzmq asks it about every CURVE client that completes a handshake with one
// of the router's server sockets (frontends, workers, config broadcast): a
// request on inproc://zeromq.zap.01 with the client's address and public key.
// It answers 200 for a key in the allowed set and 400 for any other, so a
// process without an allowed key never gets a connection: it can neither
// register as a worker nor send requests nor read the config broadcast.
// Each refusal is logged (the client's address and key), at most once per
// key every kLogIntervalMs, since a refused client reconnects by itself.
//
// It runs in the router's poll loop (its socket sits next to the others);
// Bind() must come before any CURVE server socket binds, because libzmq lets
// every client in while no handler is bound.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "shared/status.h"

namespace upmesh {

class ZapAuthenticator {
 public:
  static constexpr char kEndpoint[] = "inproc://zeromq.zap.01";
  static constexpr int64_t kLogIntervalMs = 10000;

  // `allowed_keys`: Z85 public keys of the frontends and workers.
  ZapAuthenticator(zmq::context_t& context, std::set<std::string> allowed_keys);

  Status Bind();
  void* handle() { return socket_.handle(); }

  // Answers every waiting ZAP request.
  void OnReadable(int64_t now_ms);

  uint64_t refused() const { return refused_; }

 private:
  void Answer(std::vector<zmq::message_t>& frames, int64_t now_ms);
  void LogRefusal(const std::string& address, const std::string& key, const std::string& why, int64_t now_ms);

  zmq::socket_t socket_;  // ROUTER: requests arrive as [peer][empty][ZAP frames...]
  const std::set<std::string> allowed_;
  std::unordered_map<std::string, int64_t> last_logged_ms_;  // by key; bounded by kMaxLogged
  uint64_t refused_ = 0;
};

}  // namespace upmesh
