// Worker: takes requests from the frontends and forwards each to a backend
// server of the cluster version the upgrade mode picks, over pooled
// keep-alive connections, then returns the whole response as a REP. See
// docs/worker.md.
//
// One thread, one epoll loop wiring the parts, in the manner of h2o, whose
// lib/core/proxy.c keeps proxy policy apart from http1client and socketpool
// mechanics:
//   PirateLink      DEALER sockets: one control link to the router (table,
//                   stats, health, the frontends' list) and one link per
//                   frontend (requests in, replies out on the same link).
//   link_set        which frontend links to open and close (pure policy).
//   ConfigFeed      the cluster table, a Clone-pattern replica of the router's.
//   version_choice  which version a request goes to (the upgrade modes), and
//   version_router  which server each leg goes to, another server, fallback,
//                   the shield, the CONCURRENT comparison (pure policy).
//   Upstream        each trip to a backend: pooled connections, deadlines.
//   ActiveChecks    when each server's health probe is due.
// The worker itself keeps the requests and their legs' progress, sends the
// probes and the HEALTH reports. The ZeroMQ sockets' ZMQ_FDs sit in the
// epoll set with data.ptr == nullptr and are drained before every
// epoll_wait; every other event is a backend connection's. Deadlines are
// checked by a sweep every kSweepIntervalMs, which bounds how late a timeout
// fires.
//
// Each REQ carries its frontend's stamp (config seq); a request newer than
// the replica waits until the replica catches up, so no request is routed by
// a table the API already replaced. Capacity: every link announces the
// worker's capacity, and requests beyond it (several frontends may fill it
// at once) wait in waiting_for_capacity_, so none is refused or lost. Links
// outlive the router: one goes only when its frontend is silent and the
// router no longer lists it, or on shutdown.
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

#include "shared/access_log.h"
#include "shared/config.h"
#include "shared/curve.h"
#include "shared/metrics_endpoint.h"
#include "shared/status.h"
#include "worker/active_checks.h"
#include "worker/config_feed.h"
#include "worker/exchange.h"
#include "worker/health_recorder.h"
#include "worker/pirate_link.h"
#include "worker/upstream.h"
#include "worker/version_router.h"

namespace upmesh::worker {

struct WorkerOptions {
  std::string name;  // routing id, and the X-Upmesh-Worker value
  WorkerConfig config;
  CurveClientKeys curve;  // CURVE on every mesh socket when enabled
};

class Worker : private Upstream::Listener {
 public:
  static constexpr int kSweepIntervalMs = 50;
  static constexpr int kHealthReportMs = 100;  // HEALTH reports, when there is news
  static constexpr int kUrgentReportMs = 10;   // ...while the newest version fails in a row

  explicit Worker(WorkerOptions options);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until SIGINT/SIGTERM (shared/shutdown_signal.h) and the drain that
  // follows. Returns an error only if it could not start.
  Status Run();

 private:
  // Control: the router link.
  void ReceiveFromRouter();
  void HandleRouterMessage(Frames& frames);
  // The frontend links: opened and closed by the router's list (link_set.h).
  void OnFrontendList(const Frames& frames);
  void ReconcileFrontendLinks();
  void OpenFrontendLink(const std::string& endpoint);
  // Requests: from the frontends, into routing or a queue, and one reply each.
  void ReceiveFromFrontends(bool* more_waiting);
  void AcceptRequest(const std::string& origin, Frames& frames);
  // Routes a request admitted within capacity, or parks it until the
  // replica covers its stamp.
  void Admit(ClientRequest* request);
  void AdmitWaitingForCapacity();
  void ReleaseWaitingForConfig();
  size_t RequestsInProgress() const;
  void SendReply(ClientRequest* request, int status, bool generated, const std::string& head, std::string body);
  void ReplyError(ClientRequest* request, int status, const std::string& detail);
  void FinishRequest(ClientRequest* request);
  // One access log line for the reply being sent, when the log is on and samples it.
  void LogAccess(const ClientRequest& request, int status, bool generated, size_t body_bytes);

  // Legs: routing by version_router.h, carried out over the upstream.
  void TableChanged();
  void RebuildRoutes();
  void RouteRequest(ClientRequest* request);
  // Starts a leg on a version: the next server of its round robin in rotation.
  void StartLeg(ClientRequest* request, int leg, int cluster_index);
  void StartExchange(ClientRequest* request, int leg, int cluster_index, size_t position);
  // A leg's exchange ended: another server, an older version, the shield,
  // waiting for the other leg, or the reply.
  void ExchangeDone(ClientRequest* request, int leg, int cluster_index, LegResult result,
                    bool nothing_acted_on) override;
  void FinishConcurrent(ClientRequest* request);
  void ReplyWithResult(ClientRequest* request, LegResult& result, const std::string& extra_fields);

  // Active health checks: a probe is a request with no client, sent to one
  // server; its result feeds that server's health.
  void StartDueChecks();
  void ProbeDone(ClientRequest* request, const LegResult& result);

  // Monitoring: HEALTH reports for the router's judge, HB stats.
  void RecordOutcome(const ClientRequest* request, int cluster_index, const LegResult& result);
  // The health record of the version that carried a leg; nullptr once deleted.
  VersionHealth* HealthOf(int cluster_index, const std::string& uuid);
  void ServersChanged() override;
  void ReportConfigApplied();
  void MaybeSendHealthReport();
  // Servers that are ejected, probing or failing: {"host:port": ServerHealth::ToJson}.
  nlohmann::json ServersJson() const;
  std::string StatsJson() const;
  // This worker's own figures for its metrics port (worker.metricsPort).
  std::string MetricsPage() const;
  Status OpenMetricsPort();

  // The loop's timers and shutdown.
  void Sweep();
  int EpollTimeoutMs(bool more_waiting) const;
  void StartDrain();
  void FailEverything(const std::string& detail);

  const WorkerOptions options_;
  int64_t now_ms_ = 0;  // the loop's time, set every turn
  zmq::context_t context_;
  PirateLink link_;  // to the router
  std::map<std::string, std::unique_ptr<PirateLink>> frontend_links_;  // by endpoint
  const std::set<std::string> static_frontends_;  // worker.frontends / --frontend
  std::set<std::string> advertised_frontends_;    // the router's latest FRONTENDS list
  ConfigFeed config_feed_;
  Upstream upstream_;
  int epoll_fd_ = -1;
  int64_t next_sweep_ms_ = 0;

  std::vector<Cluster> live_;  // the replica's versions that are not rolled back, newest first
  std::vector<Route> routes_;  // parallel to live_
  MonitorPolicy policy_;       // the newest live version's monitor
  bool routes_incomplete_ = false;  // a server did not resolve: try again later
  int64_t next_resolve_ms_ = 0;
  ActiveChecks checks_;

  std::list<ClientRequest> requests_;                // every request not yet answered
  std::deque<ClientRequest*> waiting_for_capacity_;  // beyond capacity, FIFO
  std::deque<ClientRequest*> waiting_for_config_;    // stamped with a newer table than ours

  std::unordered_map<std::string, uint64_t> served_;  // responses per cluster uuid (HB stats)
  HealthRecorder health_;
  int64_t next_health_report_ms_ = 0;
  bool config_changed_since_report_ = false;
  bool servers_changed_ = false;   // a server was ejected or came back since the last report
  bool servers_reported_ = false;  // the last report listed servers (the next one says they are up)

  bool draining_ = false;
  int64_t drain_deadline_ms_ = 0;

  std::mt19937 random_{std::random_device{}()};  // new GRADUAL clients' positions
  Frames frames_;        // reused for every incoming message
  Frames reply_frames_;  // reused for every REP
  std::unique_ptr<AccessLog> access_log_;  // worker.accessLog; nullptr when off
  std::unique_ptr<MetricsEndpoint> metrics_;  // worker.metricsPort; nullptr when off
};

}  // namespace upmesh::worker
