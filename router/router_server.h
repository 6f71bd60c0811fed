// RouterServer: the mesh's control plane. No request passes through it:
// frontends hand requests straight to workers (frontend/worker_dispatch.h).
//
// Two ROUTER sockets carry control messages only: frontends connect to one,
// workers to the other. Discovery: each frontend's ACK names where workers
// reach it (FrontendDirectory); the router sends the live frontends' list to
// every worker as FRONTENDS, every heartbeat interval (it is their
// heartbeat) and at once when it changes, and workers connect to each.
//
// The router also owns the cluster table (ClusterRegistry): it serves the
// REST config API (ConfigListener + ConfigApi) on a STREAM socket in the same
// broadcasts every change (ConfigPublisher), answers a worker's or
// frontend's SNAPSHOT? with the whole table, leases GRADUAL request-ramp
// positions to frontends (RAMP?), and collects the workers' HB statistics
// and MISMATCH reports. Frontends stamp each REQ (wire::RouteStamp). An API change is
// answered once every live frontend acknowledged its seq (ACK), or after
// router.ackWaitMs, when the laggards leave the live set (FrontendAcks).
//
// Monitoring: workers' HEALTH reports feed the VersionMonitor; after each
// report (and every heartbeat interval) its judge looks at the newest
// version, and an unhealthy one is rolled back at once through the same
// path as an operator's rollback (persisted, broadcast). The verdict also
// holds or releases a GRADUAL ramp. RollbackTimelines note when each worker
// applied a rollback; the finished evidence record is logged as one JSON line.
//
// Security (all optional, RouterSecurity): the config API may require a
// bearer token and may speak TLS (router/tls_session.h); with CURVE every mesh socket is a CURVE server and the
// ZapAuthenticator lets in only the allowed client keys (the HandshakeMonitor
// logs handshakes that fail before ZAP is asked).
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include <zmq.hpp>

#include "router/cluster_registry.h"
#include "router/config_api.h"
#include "router/config_listener.h"
#include "router/config_publisher.h"
#include "router/frontend_acks.h"
#include "router/frontend_directory.h"
#include "shared/handshake_monitor.h"
#include "router/rollback_timeline.h"
#include "router/tls_session.h"
#include "router/version_monitor.h"
#include "shared/zap_authenticator.h"
#include "shared/config.h"
#include "shared/curve.h"
#include "shared/quiet_warning.h"
#include "shared/worker_registry.h"
#include "shared/status.h"
#include "shared/wire.h"
#include "shared/zmq_frame.h"

namespace upmesh::router {

// What the router demands of its peers; the defaults demand nothing.
struct RouterSecurity {
  std::string api_token;  // empty: the config API needs no token
  std::unique_ptr<TlsServerContext> api_tls;  // null: the config API speaks plain HTTP
  CurveServerKeys curve;  // disabled: no CURVE on the mesh sockets
  std::set<std::string> allowed_client_keys;  // Z85 public keys of frontends and workers
};

class RouterServer {
 public:
  // `initial`: the cluster to seed the table with when the state file does
  // not exist yet (may be null).
  RouterServer(const RouterConfig& config, const Cluster* initial, RouterSecurity security = {});
  // Loads (or seeds) the state file, then binds every socket. A corrupt
  // state file or a busy endpoint is an error.
  Status Start();
  // Serves until SIGINT/SIGTERM, then returns (it holds no request to drain).
  void Run();

 private:
  void ReadFrontends();
  void OnFrontendControl(const std::string& frontend_id, const Frames& frames, int64_t now);
  void OnAck(const std::string& frontend_id, const wire::Ack& ack, int64_t now);
  void SendRampLease(const std::string& frontend_id, const std::string& uuid, uint64_t wanted);
  // Answers the API changes every live frontend acknowledged (or waited for long enough).
  void ReleaseApiAnswers(int64_t now);
  void ReadWorkers();
  void OnWorkerMessage(const std::string& worker_id, const Frames& frames);
  // READY (ready) or HB: the worker is alive with `capacity`.
  void WorkerHeard(const std::string& worker_id, int capacity, bool ready, int64_t now);
  void OnWorkerStats(const std::string& worker_id, std::string_view stats_json);
  void OnBye(const std::string& worker_id, int64_t now);
  void SendSnapshot(zmq::socket_t& socket, const std::string& peer_id);
  void SendHeartbeats();
  // FRONTENDS to every worker (or to `only_worker`).
  void SendFrontendList(const std::string& only_worker = "");
  void WorkerGone(const std::string& worker_id, const char* why);
  void Sweep(int64_t now);
  // The live workers and frontends for GET /status (router/mesh_status.h).
  nlohmann::json DescribePeers(int64_t now) const;

  // Monitoring and rollback.
  Status OnHealth(const std::string& worker_id, std::string_view report_json, int64_t now);
  void OnConfigChange(uint64_t seq, const nlohmann::json& change);
  // Judges the newest version; rolls it back if unhealthy; holds its GRADUAL ramp unless healthy.
  void JudgeVersions(int64_t now);
  void FinishRollbackTimelines();

  RouterConfig config_;
  bool has_initial_cluster_;
  Cluster initial_cluster_;
  RouterSecurity security_;
  zmq::context_t context_;
  std::unique_ptr<ZapAuthenticator> zap_;  // with CURVE only
  std::unique_ptr<HandshakeMonitor> handshakes_;  // with CURVE only
  zmq::socket_t frontends_;  // ROUTER
  zmq::socket_t workers_;    // ROUTER, ROUTER_MANDATORY so a vanished worker is an error, not a silent drop
  WorkerRegistry workers_seen_;  // the workers' control links: liveness, for stats and rollback timelines
  FrontendDirectory frontend_endpoints_;
  ClusterRegistry clusters_;
  VersionMonitor monitor_;
  RollbackTimelines timelines_;
  int64_t healthy_since_ms_ = 0;  // the newest version's verdict has been healthy since (0: it is not)
  ConfigPublisher publisher_;
  ConfigApi api_;
  ConfigListener listener_;
  FrontendAcks acks_;
  // A router nobody serves for says so, naming where workers should connect.
  QuietWarning no_workers_warning_{5000, 30000};
};

}  // namespace upmesh::router
