// Worker: takes requests from the router and forwards each to a backend
// server of the cluster version the upgrade mode picks, over pooled
// keep-alive connections, then returns the whole response as a REP. See
// docs/worker.md.
//
// One thread, one epoll loop: the router's DEALER socket (RouterLink), the
// config broadcast's SUB socket (ConfigSubscriber) and every backend
// connection are in the same epoll set, so many requests are in flight at
// once without threads. Backend connections are edge-triggered and always
// watched for input, also while idle in the pool: an idle connection that
// becomes readable was closed (or spoken on) by the backend and is closed.
// Deadlines (connect, response, idle, drain) are checked by a sweep every
// kSweepIntervalMs, which bounds how late a timeout fires.
//
// The cluster table is a Clone-pattern replica of the router's. Each REQ
// carries the config seq the router had when it dispatched it; a request
// newer than the replica waits until the replica catches up, so no request
// is routed by a table the API already replaced.
//
// Every request gets exactly one REP: a backend's response, or a short
// response made here (reply-meta kGenerated): 502 when no version can be
// reached or a backend answers badly, 504 when it is too slow, 503 when
// there is no cluster or the worker stops before the answer came.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "shared/config.h"
#include "shared/curve.h"
#include "shared/status.h"
#include "worker/backend_pool.h"
#include "shared/config_follower.h"
#include "shared/config_subscriber.h"
#include "worker/exchange.h"
#include "worker/health_recorder.h"
#include "worker/router_link.h"

namespace upmesh::worker {

struct WorkerOptions {
  std::string name;  // routing id, and the X-Upmesh-Worker value
  WorkerConfig config;
  CurveClientKeys curve;  // CURVE on both router sockets when enabled
};

class Worker {
 public:
  static constexpr int kSweepIntervalMs = 50;
  static constexpr int kHealthReportMs = 100;  // HEALTH reports, when there is news
  static constexpr int kUrgentReportMs = 10;   // ...while the newest version fails in a row

  explicit Worker(WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until SIGINT/SIGTERM (shared/shutdown_signal.h) and the drain that
  // follows. Returns an error only if it could not start.
  Status Run();

 private:
  // One cluster version as the worker routes to it: its backend pools.
  struct Route {
    std::string uuid;
    std::vector<size_t> pools;  // indexes into pools_; servers that did not resolve are missing
    size_t next = 0;            // round robin over pools
    VersionHealth* health = nullptr;  // this version's outcomes since the last report
  };

  // Router side.
  void ReceiveFromRouter(bool* more_waiting);
  void HandleRouterMessage(std::vector<zmq::message_t>& frames);
  void AcceptRequest(std::vector<zmq::message_t>& frames);
  void SendReply(ClientRequest* request, int status, bool generated, const std::string& head, std::string body);
  void ReplyError(ClientRequest* request, int status, const std::string& detail);
  void FinishRequest(ClientRequest* request);
  void AdmitWaitingForCapacity();
  size_t RequestsInProgress() const;

  // The cluster table (Clone replica) and routing.
  void ReceiveConfig();
  void OnSnapshot(std::vector<zmq::message_t>& frames);
  // A new table: rebuild the routes, tell the router, release waiting requests.
  void ConfigApplied();
  void WantSnapshot();
  void MaybeRequestSnapshot();
  void RebuildRoutes();
  size_t PoolFor(const ServerAddress& address, bool* resolved);
  void ReleaseWaitingForConfig();
  void RouteRequest(ClientRequest* request);
  // Starts a leg on a version: the next server in its round robin that is
  // not ejected (see PickServer).
  void StartLeg(ClientRequest* request, int leg, int cluster_index);
  void StartExchange(ClientRequest* request, int leg, int cluster_index, size_t position);
  // A new exchange of `request`'s leg to pool `server` (the caller fills in the version).
  Exchange* NewExchange(ClientRequest* request, int leg, size_t server);
  // The route position of the next server to try, skipping ejected ones and
  // those in `tried`; -1 if none. When every server is ejected, a first try
  // (tried == 0) still gets the one back soonest: the last servers of a
  // version are never ejected.
  int PickServer(Route* route, uint64_t tried) const;
  // After a failed exchange: the same request to another server of the same
  // version, when that is safe (nothing the server could have acted on, or an
  // idempotent request once). True if one was started.
  bool TryAnotherServer(ClientRequest* request, int leg, int cluster_index, const LegResult& result,
                        bool nothing_acted_on);
  void RecordServerOutcome(size_t server, bool ok, bool from_check = false);
  // Servers that are ejected, probing or failing: {"host:port": ServerHealth::ToJson}.
  nlohmann::json ServersJson() const;

  // Active health checks (a cluster's healthCheck): a probe is a request
  // with no client, sent to one server; its result feeds that server's health.
  void RebuildChecks();
  void StartDueChecks();
  void ProbeDone(ClientRequest* request, const LegResult& result);
  // A leg ended (its exchange already finished): fall back to an older
  // version, wait for the other leg, or reply.
  void LegDone(ClientRequest* request, int leg, int cluster_index, LegResult result, bool may_fall_back);
  void FinishConcurrent(ClientRequest* request);
  void ReplyWithResult(ClientRequest* request, LegResult& result, const std::string& extra_fields);
  std::string StatsJson() const;

  // Monitoring (HEALTH reports for the router's judge) and the shield.
  void RecordOutcome(const ClientRequest* request, int cluster_index, const LegResult& result);
  // The shield: the route index that answers instead when the watched
  // version failed an idempotent request (or its version was rolled back
  // while under way), else -1.
  int ShieldTarget(const ClientRequest* request, const LegResult& result) const;
  int RouteIndexOf(const std::string& uuid) const;
  // The health record of the version that carried a leg; nullptr once deleted.
  VersionHealth* HealthOf(int cluster_index, const std::string& uuid);
  void MaybeSendHealthReport();

  // Backend side.
  void Dispatch(Exchange* exchange, bool fresh_connection);
  void OpenConnectionFor(Exchange* exchange);
  void Assign(BackendConnection* connection, Exchange* exchange);
  void WritePending(BackendConnection* connection);
  void HandleConnectionEvent(BackendConnection* connection, uint32_t events);
  void FinishConnecting(BackendConnection* connection);
  void ReadFrom(BackendConnection* connection, uint32_t events);
  void CompleteExchange(BackendConnection* connection, bool reusable);
  void ConnectionBroken(BackendConnection* connection, const std::string& detail);
  // Ends a leg's exchange without a response. `before_request_sent`: the
  // backend cannot have acted on it, so another version may take it.
  void FailExchange(Exchange* exchange, int status, Outcome failure, const std::string& detail,
                    bool before_request_sent);
  void FinishExchange(Exchange* exchange);
  void CloseConnection(BackendConnection* connection);
  void ServeWaitingForConnection();
  // Frees the connections retired during this turn of the loop.
  void FreeRetiredConnections();

  // Time.
  void Sweep();
  void ExpireExchange(Exchange* exchange);
  int EpollTimeoutMs(bool more_waiting) const;

  // Shutdown.
  void StartDrain();
  void FailEverything(const std::string& detail);

  const WorkerOptions options_;
  zmq::context_t context_;
  RouterLink link_;
  ConfigSubscriber subscriber_;
  int epoll_fd_ = -1;
  int64_t now_ms_ = 0;
  int64_t next_sweep_ms_ = 0;

  ConfigFollower follower_;  // the Clone replica and when to fetch it whole
  std::vector<Cluster> live_;  // the replica's versions that are not rolled back, newest first
  std::vector<Route> routes_;  // parallel to live_
  bool routes_incomplete_ = false;    // a server did not resolve: try again later
  int64_t next_resolve_ms_ = 0;

  struct ActiveCheck {
    std::string head;  // the probe's request head
    int64_t interval_ms = 0;
    int64_t timeout_ms = 0;
    int64_t next_ms = 0;  // the next probe is due
    bool in_flight = false;
  };

  std::deque<BackendPool> pools_;  // one per backend server ever used (never moved)
  std::set<size_t> pools_waiting_;  // pools that may have requests waiting for a connection
  std::set<size_t> pools_retired_;  // pools with retired connections to free
  std::map<size_t, ActiveCheck> checks_;  // by pool index: servers whose cluster asks for healthCheck
  std::unordered_map<std::string, size_t> pool_by_label_;

  std::list<ClientRequest> requests_;             // every request not yet answered
  std::list<Exchange> exchanges_;                 // every leg's trip to a backend
  std::deque<ClientRequest*> waiting_for_capacity_;  // beyond capacity, FIFO
  std::deque<ClientRequest*> waiting_for_config_;    // stamped with a newer table than ours

  std::unordered_map<std::string, uint64_t> served_;  // responses per cluster uuid (HB stats)

  HealthRecorder health_;
  bool monitoring_ = false;         // the newest version's monitor is on: record outcomes
  bool shielding_ = false;          // ...and its shield, with an older version to shield with
  uint64_t failure_run_limit_ = 0;  // its consecutiveFailures: report at once on reaching it
  int64_t next_health_report_ms_ = 0;
  bool config_changed_since_report_ = false;
  bool servers_changed_ = false;   // a server was ejected or came back since the last report
  bool servers_reported_ = false;  // the last report listed servers (the next one says they are up)

  bool draining_ = false;
  int64_t drain_deadline_ms_ = 0;

  std::mt19937 random_{std::random_device{}()};  // new GRADUAL clients' positions
  std::vector<zmq::message_t> frames_;  // reused for every incoming message
  std::unique_ptr<char[]> read_buffer_;
};

}  // namespace upmesh::worker
