// FrontendServer: the client-facing process.
//
// A ZMQ_STREAM socket accepts HTTP/1.1 clients. Each connection's bytes go
// through a RequestAssembler; only whole requests leave, as REQ messages on a
// DEALER socket to the router (see shared/wire.h). Replies come back on the
// same DEALER, are matched to their connection by request id, and are
// written back in request order (pipelining); pipelined requests go to the
// mesh in parallel only while they all have safe methods (RFC 9112 9.3.2),
// an unsafe one waits for every earlier answer and holds up the ones after
// it until it is answered. Nothing here blocks: a client
// whose socket is full gets its bytes queued in its own outbox, so one slow
// reader never holds up the others.
//
// Closing: libzmq drops a STREAM peer's unsent bytes when the socket is told
// to close it, so a connection that must close after its last response is
// closed a little later (lingering close), or as soon as the client hangs up.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <zmq.hpp>

#include "frontend/client_connection.h"
#include "shared/config.h"
#include "shared/curve.h"
#include "shared/status.h"

namespace upmesh::frontend {

class FrontendServer {
 public:
  // `curve`: CURVE keys for the router link (disabled: none).
  explicit FrontendServer(const FrontendConfig& config, CurveClientKeys curve = {});

  // Binds the client port and connects to the router.
  Status Start();
  // Serves until SIGINT/SIGTERM, then drains (bounded) and returns.
  void Run();

 private:
  void ReadClients();
  void ReadRouter();
  void OnClientConnected(const std::string& routing_id, zmq::message_t& notification);
  void OnClientData(ClientConnection& connection, const char* data, size_t len);
  void ForgetConnection(const std::string& routing_id);

  // Parses buffered input and sends ready responses until neither moves.
  void Pump(ClientConnection& connection);
  bool MayDispatch(const ClientConnection& connection, const Request& request) const;
  void DispatchHeld(ClientConnection& connection);
  size_t FeedRequests(ClientConnection& connection, const char* data, size_t len);
  void Dispatch(ClientConnection& connection, Request request);
  bool SendToRouter(uint64_t request_id, const Request& request, const std::string& client_ip);
  void RespondLocally(ClientConnection& connection, int status, const std::string& detail, bool close_after);
  void OnReply(uint64_t request_id, const std::string& meta, zmq::message_t& head, zmq::message_t& body);
  bool FlushReadySlots(ClientConnection& connection);

  void SendToClient(ClientConnection& connection, zmq::message_t message);
  bool TrySend(const std::string& routing_id, zmq::message_t& message);
  void RetryOutboxes();
  void StartClosing(ClientConnection& connection, size_t bytes_just_sent);
  void CloseNow(const std::string& routing_id);
  void Sweep(int64_t now);
  void BeginDrain();
  bool Drained() const;

  FrontendConfig config_;
  CurveClientKeys curve_;
  RequestLimits limits_;
  zmq::context_t context_;
  zmq::socket_t clients_;  // ZMQ_STREAM, bound to the client port
  zmq::socket_t router_;   // ZMQ_DEALER, connected to the router
  std::unordered_map<std::string, std::unique_ptr<ClientConnection>> connections_;  // by routing id
  std::unordered_map<uint64_t, ClientConnection*> pending_;  // request id -> connection awaiting its reply
  uint64_t next_request_id_ = 1;
  std::unordered_set<std::string> blocked_;  // connections with a non-empty outbox
  bool draining_ = false;
  int64_t drain_deadline_ms_ = 0;
};

}  // namespace upmesh::frontend
