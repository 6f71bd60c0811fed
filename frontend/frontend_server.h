// FrontendServer: the client-facing process.
//
// A ZMQ_STREAM socket accepts HTTP/1.1 clients. Each connection's bytes go
// through an http::RequestReader; only whole requests leave, as REQ messages
// straight to a worker (WorkerDispatch: the load-balancing broker on this
// frontend's worker socket; see shared/wire.h). Replies are matched to their
// connection by request id, and are
// written back in request order (pipelining); pipelined requests go to the
// mesh in parallel only while they all have safe methods (RFC 9112 9.3.2),
// an unsafe one waits for every earlier answer and holds up the ones after
// it until it is answered. Nothing here blocks: a client
// whose socket is full gets its bytes queued in its own outbox, so one slow
// reader never holds up the others.
//
// The router is the control plane only: the frontend's DEALER to it carries
// SNAPSHOT?, ACK (which also announces this frontend's worker endpoint,
// frontend.workerAdvertise, so workers find it) and RAMP?. Traffic goes on
// with the last table while the router is away.
//
// Stamping: the frontend keeps a Clone replica of the router's cluster table
// (ConfigSubscriber on the broadcast, SNAPSHOT? on the router link,
// ConfigFollower) and stamps every request (wire::RouteStamp) with the
// replica's seq and the newest version's GRADUAL share: by requests from a
// position leased from the router (RampLease), by time from the table's
// addedAtMs and hold. It acknowledges every seq it applies (ACK, and every
// kAckIntervalMs as its heartbeat), so the router's API answers a change
// only once this frontend stamps with it.
//
// Closing: libzmq drops a STREAM peer's unsent bytes when the socket is told
// to close it, so a connection that must close after its last response is
// closed a little later (lingering close), or as soon as the client hangs up.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <zmq.hpp>

#include "frontend/client_connection.h"
#include "frontend/ramp_lease.h"
#include "frontend/worker_dispatch.h"
#include "frontend/response_counts.h"
#include "shared/config_follower.h"
#include "shared/metrics_endpoint.h"
#include "shared/config_subscriber.h"
#include "shared/config.h"
#include "shared/curve.h"
#include "shared/handshake_monitor.h"
#include "shared/status.h"
#include "shared/wire.h"
#include "shared/zap_authenticator.h"

namespace upmesh::frontend {

// CURVE (all optional; disabled keys: none): the router link is a CURVE
// client, the worker socket a CURVE server admitting only allowed_client_keys.
struct FrontendSecurity {
  CurveClientKeys curve;
  CurveServerKeys worker_curve;
  std::set<std::string> allowed_client_keys;
};

class FrontendServer {
 public:
  static constexpr int64_t kAckIntervalMs = 250;
  // A request that finds no leased GRADUAL position waits this long for one,
  // then goes with the last share (and later ones do not wait for a second).
  static constexpr int64_t kPositionWaitMs = 100;

  explicit FrontendServer(const FrontendConfig& config, FrontendSecurity security = {});

  // Binds the client port and the worker socket, and connects to the router.
  Status Start();
  // Serves until SIGINT/SIGTERM, then drains (bounded) and returns.
  void Run();

 private:
  void ReadClients();
  void ReadRouter();
  // The Clone replica, the ACKs and the ramp lease.
  void ReadConfig();
  void OnRampGrant(const wire::Ramp& ramp);
  void ConfigApplied();
  void ControlTick(int64_t now);
  // Sends a control message to the router; false when none is connected.
  template <typename Message>
  bool SendControl(const Message& message);
  void SendAck();
  void AskForRamp(int64_t now);
  wire::RouteStamp Stamp();
  void OnClientConnected(const std::string& routing_id, zmq::message_t& notification);
  void OnClientData(ClientConnection& connection, const char* data, size_t len);
  void ForgetConnection(const std::string& routing_id);

  // Parses buffered input and sends ready responses until neither moves.
  void Pump(ClientConnection& connection);
  bool MayDispatch(const ClientConnection& connection, const http::Request& request) const;
  void DispatchHeld(ClientConnection& connection);
  size_t FeedRequests(ClientConnection& connection, const char* data, size_t len);
  void Dispatch(ClientConnection& connection, http::Request request);
  // Whether the next request must wait for a ramp position (keeps the order of those waiting).
  bool MustWaitForPosition(int64_t now) const;
  bool PositionNeeded() const;
  // Sends the requests waiting for a position that have one now (or waited long enough).
  void SendAwaiting(int64_t now);
  void SendToWorkers(uint64_t request_id, const http::Request& request, const std::string& client_ip);
  void RespondLocally(ClientConnection& connection, int status, const std::string& detail, bool close_after);
  void OnReply(wire::Reply& reply);
  bool FlushReadySlots(ClientConnection& connection);
  // This frontend's own figures for its metrics port (frontend.metricsPort).
  std::string MetricsPage() const;

  void SendToClient(ClientConnection& connection, zmq::message_t message);
  bool TrySend(const std::string& routing_id, zmq::message_t& message);
  void RetryOutboxes();
  void StartClosing(ClientConnection& connection, size_t bytes_just_sent);
  void CloseNow(const std::string& routing_id);
  void Sweep(int64_t now);
  void BeginDrain();
  bool Drained() const;

  FrontendConfig config_;
  FrontendSecurity security_;
  http::RequestLimits limits_;
  zmq::context_t context_;
  std::unique_ptr<ZapAuthenticator> zap_;  // with CURVE only
  std::unique_ptr<HandshakeMonitor> handshakes_;  // with CURVE only
  zmq::socket_t clients_;  // ZMQ_STREAM, bound to the client port
  zmq::socket_t router_;   // ZMQ_DEALER, connected to the router (control only)
  WorkerDispatch dispatch_;  // the ROUTER workers connect to
  ConfigSubscriber subscriber_;  // SUB on the router's config broadcast
  ConfigFollower follower_;
  RampLease ramp_;
  int64_t next_ack_ms_ = 0;
  struct AwaitingPosition {
    uint64_t request_id;
    http::Request request;
    std::string client_ip;
    int64_t since_ms;
  };
  std::deque<AwaitingPosition> awaiting_position_;  // oldest first
  int64_t position_wait_off_until_ms_ = 0;  // after a wait ran out: send at once until then
  std::unordered_map<std::string, std::unique_ptr<ClientConnection>> connections_;  // by routing id
  std::unordered_map<uint64_t, ClientConnection*> pending_;  // request id -> connection awaiting its reply
  uint64_t next_request_id_ = 1;
  std::unordered_set<std::string> blocked_;  // connections with a non-empty outbox
  ResponseCounts responses_;
  std::unique_ptr<MetricsEndpoint> metrics_;  // frontend.metricsPort; nullptr when off
  bool draining_ = false;
  int64_t drain_deadline_ms_ = 0;
};

}  // namespace upmesh::frontend
