#include "worker/worker.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include "shared/clock.h"
#include "shared/frontend_list.h"
#include "shared/http_fields.h"
#include "shared/log.h"
#include "shared/metrics_text.h"
#include "shared/shutdown_signal.h"
#include "shared/wire.h"
#include "shared/zmq_frame.h"
#include "worker/link_set.h"
#include "worker/request_head.h"
#include "worker/version_choice.h"

namespace upmesh::worker {
namespace {

constexpr int kMaxEventsPerWait = 256;
// Messages handled per frontend link per loop turn, so that a flood of requests cannot
// starve the backend connections (the rest are handled next turn).
constexpr int kMaxLinkMessagesPerTurn = 1024;
// How long a request stamped with a newer config than ours waits for it.
constexpr int64_t kConfigWaitMs = 2000;
constexpr int64_t kResolveRetryMs = 5000;

}  // namespace

Worker::Worker(WorkerOptions options)
    : options_(std::move(options)),
      context_(1),
      link_(&context_, PirateLink::Options{"router", options_.config.router_endpoint,
                                           "worker.routerEndpoint / --router", options_.name,
                                           options_.config.capacity, options_.config.heartbeat_ms,
                                           options_.config.heartbeat_liveness, [this] { return StatsJson(); },
                                           options_.curve}),
      static_frontends_(options_.config.frontends.begin(), options_.config.frontends.end()),
      config_feed_(&context_, options_.config.config_endpoint, options_.curve, &link_, &now_ms_,
                [this] { TableChanged(); }),
      upstream_(options_.config, options_.name, &now_ms_, this) {}

Worker::~Worker() {
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

// ---------------------------------------------------------------------------
// The loop.

Status Worker::Run() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::IoError(std::string("epoll_create1: ") + std::strerror(errno));
  now_ms_ = NowMs();
  Status status = link_.Open(epoll_fd_, now_ms_);
  if (!status.ok()) return status;
  status = config_feed_.Open(epoll_fd_);
  if (!status.ok()) return status;
  upstream_.Open(epoll_fd_);
  if (!options_.config.access_log.empty()) {
    AccessLogOptions log_options;
    log_options.path = options_.config.access_log;
    log_options.sample = options_.config.access_log_sample;
    status = AccessLog::Open(log_options, &access_log_);
    if (!status.ok()) return status;
  }
  status = OpenMetricsPort();
  if (!status.ok()) return status;
  ReconcileFrontendLinks();  // the static ones
  next_sweep_ms_ = now_ms_ + kSweepIntervalMs;
  LOG_INFO("worker %s: router %s, config broadcast %s, capacity %d, %zu static frontend(s)", options_.name.c_str(),
           options_.config.router_endpoint.c_str(), options_.config.config_endpoint.c_str(),
           options_.config.capacity, static_frontends_.size());

  epoll_event events[kMaxEventsPerWait];
  for (;;) {
    now_ms_ = NowMs();
    if (ShutdownRequests() >= 2) {
      FailEverything("worker stopped");
      LOG_WARN("second stop signal: exiting now");
      break;
    }
    if (ShutdownRequests() >= 1 && !draining_) StartDrain();
    if (draining_) {
      if (requests_.empty()) break;
      if (now_ms_ >= drain_deadline_ms_) {
        LOG_WARN("drain timeout: %zu request(s) still unanswered", upstream_.exchange_count());
        FailEverything("worker stopped before the backend answered");
        break;
      }
    }
    if (now_ms_ >= next_sweep_ms_) {
      Sweep();
      next_sweep_ms_ = now_ms_ + kSweepIntervalMs;
    }
    link_.Tick(now_ms_);
    if (link_.TakeJustConnected()) config_feed_.WantSnapshot();  // the router may have restarted
    for (auto& [endpoint, link] : frontend_links_) link->Tick(now_ms_);
    config_feed_.Tick();
    MaybeSendHealthReport();
    // Last before waiting: ZMQ_FD only signals changes, so everything that
    // is already readable must be taken now (this also covers every send
    // made above and while handling the previous batch).
    bool more_from_router = false;
    if (metrics_) metrics_->HandleReadable(now_ms_);
    config_feed_.ReceiveUpdates();
    ReceiveFromRouter();
    ReceiveFromFrontends(&more_from_router);
    AdmitWaitingForCapacity();
    upstream_.ServeWaiting();

    int count = epoll_wait(epoll_fd_, events, kMaxEventsPerWait, EpollTimeoutMs(more_from_router));
    if (count < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(std::string("epoll_wait: ") + std::strerror(errno));
    }
    now_ms_ = NowMs();
    for (int i = 0; i < count; ++i) {
      auto* connection = static_cast<BackendConnection*>(events[i].data.ptr);
      if (connection == nullptr) continue;  // a ZeroMQ socket: drained at the top
      upstream_.HandleEvent(connection, events[i].events);
    }
    AdmitWaitingForCapacity();
    upstream_.ServeWaiting();
    upstream_.FreeRetired();
  }
  upstream_.FreeRetired();
  return Status::Ok();
}

int Worker::EpollTimeoutMs(bool more_waiting) const {
  if (more_waiting) return 0;
  int64_t wake = std::min({next_sweep_ms_, link_.next_tick_ms(), next_health_report_ms_, config_feed_.next_request_ms()});
  for (const auto& [endpoint, link] : frontend_links_) wake = std::min(wake, link->next_tick_ms());
  return static_cast<int>(std::clamp<int64_t>(wake - now_ms_, 0, kSweepIntervalMs));
}

void Worker::Sweep() {
  upstream_.Expire();
  if (!draining_) StartDueChecks();
  while (!waiting_for_capacity_.empty() && waiting_for_capacity_.front()->deadline_ms <= now_ms_) {
    ClientRequest* request = waiting_for_capacity_.front();
    waiting_for_capacity_.pop_front();
    ReplyError(request, 504, "no capacity in the worker in time");
  }
  if (!waiting_for_config_.empty()) ReleaseWaitingForConfig();
  if (routes_incomplete_ && now_ms_ >= next_resolve_ms_) RebuildRoutes();
  if (!draining_) ReconcileFrontendLinks();  // links whose frontend went silent and unlisted
}

void Worker::StartDrain() {
  draining_ = true;
  drain_deadline_ms_ = now_ms_ + options_.config.drain_timeout_ms;
  link_.SayBye();
  for (auto& [endpoint, link] : frontend_links_) link->SayBye();
  LOG_INFO("stopping: told the router and %zu frontend(s), finishing %zu request(s) in flight",
           frontend_links_.size(), requests_.size());
}

void Worker::FailEverything(const std::string& detail) {
  waiting_for_capacity_.clear();
  waiting_for_config_.clear();
  while (!requests_.empty()) ReplyError(&requests_.front(), 503, detail);
}

// ---------------------------------------------------------------------------
// Requests.

void Worker::ReceiveFromRouter() {
  // Control messages only: few, all handled now.
  while (link_.Receive(&frames_, now_ms_)) HandleRouterMessage(frames_);
}

void Worker::HandleRouterMessage(Frames& frames) {
  std::string_view command;
  if (Status peeked = wire::PeekCommand(frames, &command); !peeked.ok()) {
    LOG_WARN("dropped a message from the router: %s", peeked.message().c_str());
    return;
  }
  if (command == wire::Frontends::kCommand) {
    OnFrontendList(frames);
  } else if (command == wire::Snapshot::kCommand) {
    config_feed_.OnSnapshot(frames);
  } else if (command != wire::FrontendHeartbeat::kCommand) {  // liveness is noted by PirateLink
    LOG_WARN("dropped a router message with unknown command \"%.*s\"", static_cast<int>(command.size()),
             command.data());
  }
}

void Worker::OnFrontendList(const Frames& frames) {
  wire::Frontends message;
  std::set<std::string> endpoints;
  Status decoded = wire::Frontends::Decode(frames, &message);
  if (decoded.ok()) decoded = DecodeFrontendList(message.json, &endpoints);
  if (!decoded.ok()) {
    LOG_WARN_THROTTLED("router: %s", decoded.message().c_str());
    return;
  }
  if (endpoints == advertised_frontends_) return;
  advertised_frontends_ = std::move(endpoints);
  if (!draining_) ReconcileFrontendLinks();
}

void Worker::ReconcileFrontendLinks() {
  std::map<std::string, bool> links;
  for (const auto& [endpoint, link] : frontend_links_) links[endpoint] = link->silent();
  LinkPlan plan = ReconcileLinks(static_frontends_, advertised_frontends_, links);
  for (const std::string& endpoint : plan.close) {
    LOG_INFO("frontend %s: silent and no longer listed by the router, link closed", endpoint.c_str());
    frontend_links_.erase(endpoint);  // replies still due to it are dropped: it answers its clients itself
  }
  for (const std::string& endpoint : plan.open) OpenFrontendLink(endpoint);
}

void Worker::OpenFrontendLink(const std::string& endpoint) {
  auto link = std::make_unique<PirateLink>(
      &context_, PirateLink::Options{"frontend", endpoint, "the router's FRONTENDS list, or --frontend", options_.name,
                                     options_.config.capacity, options_.config.heartbeat_ms,
                                     options_.config.heartbeat_liveness, nullptr, options_.curve});
  Status status = link->Open(epoll_fd_, now_ms_);
  if (!status.ok()) {  // tried again at the next sweep
    LOG_WARN_THROTTLED("frontend link: %s", status.message().c_str());
    return;
  }
  LOG_INFO("frontend %s: link opened", endpoint.c_str());
  frontend_links_.emplace(endpoint, std::move(link));
}

void Worker::ReceiveFromFrontends(bool* more_waiting) {
  for (auto& [endpoint, link] : frontend_links_) {
    int handled = 0;
    for (; handled < kMaxLinkMessagesPerTurn && link->Receive(&frames_, now_ms_); ++handled) {
      std::string_view command;
      if (Status peeked = wire::PeekCommand(frames_, &command); !peeked.ok()) {
        LOG_WARN_THROTTLED("dropped a message from frontend %s: %s", endpoint.c_str(), peeked.message().c_str());
      } else if (command == wire::Request::kCommand) {
        AcceptRequest(endpoint, frames_);
      } else if (command != wire::FrontendHeartbeat::kCommand) {
        LOG_WARN_THROTTLED("dropped a message from frontend %s with an unknown command", endpoint.c_str());
      }
    }
    if (handled == kMaxLinkMessagesPerTurn) *more_waiting = true;
  }
}

void Worker::AcceptRequest(const std::string& origin, Frames& frames) {
  wire::Request decoded;
  if (Status status = wire::Request::Decode(frames, &decoded); !status.ok()) {
    LOG_WARN_THROTTLED("dropped a malformed REQ from frontend %s: %s", origin.c_str(), status.message().c_str());
    return;
  }
  requests_.emplace_back();
  ClientRequest* request = &requests_.back();
  request->self = std::prev(requests_.end());
  request->origin = origin;
  request->request_id = std::move(decoded.request_id);
  request->meta = decoded.meta;
  request->stamp = decoded.stamp;
  request->head = std::move(decoded.head);
  request->body = std::move(decoded.body);
  if (access_log_) request->received_us = NowUs();

  if (RequestsInProgress() > static_cast<size_t>(options_.config.capacity)) {
    request->deadline_ms = now_ms_ + options_.config.response_timeout_ms;
    waiting_for_capacity_.push_back(request);
    return;
  }
  Admit(request);
}

void Worker::Admit(ClientRequest* request) {
  if (config_feed_.Covers(request->stamp.config_seq)) {
    RouteRequest(request);
    return;
  }
  // The router dispatched it under a newer table than ours: route it by that one.
  request->deadline_ms = now_ms_ + kConfigWaitMs;
  waiting_for_config_.push_back(request);
  config_feed_.WantSnapshot();
}

size_t Worker::RequestsInProgress() const {
  return requests_.size() - waiting_for_capacity_.size() - waiting_for_config_.size();
}

void Worker::AdmitWaitingForCapacity() {
  while (!waiting_for_capacity_.empty() && RequestsInProgress() < static_cast<size_t>(options_.config.capacity)) {
    ClientRequest* request = waiting_for_capacity_.front();
    waiting_for_capacity_.pop_front();
    Admit(request);
  }
}

void Worker::ReleaseWaitingForConfig() {
  const ClusterReplica& replica = config_feed_.replica();
  std::deque<ClientRequest*> waiting;
  waiting.swap(waiting_for_config_);
  for (ClientRequest* request : waiting) {
    bool current = config_feed_.Covers(request->stamp.config_seq);
    if (!current && request->deadline_ms > now_ms_) {
      waiting_for_config_.push_back(request);
    } else if (!replica.loaded()) {
      ReplyError(request, 503, "no cluster table from the router yet");
    } else {
      if (!current) {
        LOG_WARN_THROTTLED("routing a request by config seq %llu although it was stamped %llu",
                           static_cast<unsigned long long>(replica.seq()),
                           static_cast<unsigned long long>(request->stamp.config_seq));
      }
      RouteRequest(request);
    }
  }
}

void Worker::SendReply(ClientRequest* request, int status, bool generated, const std::string& head,
                       std::string body) {
  if (access_log_) LogAccess(*request, status, generated, body.size());
  wire::Reply reply;
  reply.request_id = std::move(request->request_id);
  reply.meta.status = static_cast<uint16_t>(status);
  reply.meta.flags = generated ? wire::ReplyMeta::kGenerated : 0;
  reply.head = Frame(head);
  reply.body = OwningFrame(std::move(body));
  reply.Encode(&reply_frames_);
  auto link = frontend_links_.find(request->origin);
  if (link == frontend_links_.end() || !link->second->Send(reply_frames_)) {
    // The frontend retries an idempotent request elsewhere, or answers the client itself.
    LOG_WARN_THROTTLED("reply (status %d) dropped: frontend %s gone or its send queue full", status,
                       request->origin.c_str());
  }
}

void Worker::ReplyError(ClientRequest* request, int status, const std::string& detail) {
  if (request->probe) {  // a health check has nobody to answer
    FinishRequest(request);
    return;
  }
  http::SimpleResponse response = http::MakeSimpleResponse(status, detail);
  response.head.append("X-Upmesh-Worker: ").append(options_.name).append("\r\n");
  SendReply(request, status, /*generated=*/true, response.head, std::move(response.body));
  FinishRequest(request);
}

void Worker::LogAccess(const ClientRequest& request, int status, bool generated, size_t body_bytes) {
  if (!access_log_->ShouldLog()) return;
  std::string_view head = View(request.head);
  RequestLine line = ParseRequestLine(head);
  AccessRecord record;
  record.time_ms = WallClockMs();
  record.client = ClientAddressOf(head);
  record.method = line.method;
  record.target = line.target;
  record.status = status;
  record.worker = options_.name;
  if (request.answer_leg >= 0) {
    const std::string& uuid = request.results[request.answer_leg].cluster_uuid;
    record.uuid = uuid;
    for (const Cluster& cluster : live_) {
      if (cluster.uuid == uuid) record.version = VersionText(cluster.version);
    }
    record.upstream = upstream_.pools()[request.last_pool[request.answer_leg]].server().label;
  }
  record.duration_us = NowUs() - request.received_us;
  record.bytes_in = request.body.size();
  record.bytes_out = body_bytes;
  record.shielded = request.shielded;
  record.retried = request.trips > 1 + (request.concurrent ? 1 : 0);
  record.generated = generated;
  access_log_->Write(FormatAccessRecord(record));
}

void Worker::FinishRequest(ClientRequest* request) {
  // A leg still under way (the request failed as a whole) is abandoned.
  for (Exchange* exchange : request->live) {
    if (exchange) upstream_.Abandon(exchange);
  }
  requests_.erase(request->self);
}

// ---------------------------------------------------------------------------
// Legs.

void Worker::TableChanged() {
  RebuildRoutes();
  ReportConfigApplied();
  ReleaseWaitingForConfig();
}

void Worker::RebuildRoutes() {
  const ClusterTable& table = config_feed_.replica().table();
  std::vector<Route> routes;
  routes_incomplete_ = false;
  live_.clear();
  for (const Cluster* live : table.Live()) live_.push_back(*live);
  std::set<std::string> uuids;
  for (const Cluster& cluster : table.clusters()) uuids.insert(cluster.uuid);
  health_.Retain(uuids);
  for (const Cluster& cluster : live_) {
    Route route;
    route.uuid = cluster.uuid;
    route.health = health_.ForVersion(cluster.uuid);
    for (const ServerAddress& server : cluster.servers) {
      size_t pool = 0;
      if (upstream_.PoolFor(server, &pool)) {
        route.pools.push_back(pool);
      } else {
        routes_incomplete_ = true;  // PoolFor said why
      }
    }
    // Keep the round robin going.
    if (int old = RouteIndexOf(routes_, route.uuid); old >= 0) route.next = routes_[old].next;
    routes.push_back(std::move(route));
  }
  routes_ = std::move(routes);
  next_resolve_ms_ = now_ms_ + kResolveRetryMs;
  checks_.Rebuild(live_, routes_, options_.name, now_ms_);
  policy_ = MonitorPolicyFor(live_);
}

void Worker::RouteRequest(ClientRequest* request) {
  if (live_.empty()) {
    ReplyError(request, 503, "no cluster configured");
    return;
  }
  const UpgradeTransition& transition = live_[0].transition;
  VersionRequest version_request =
      ReadVersionRequest(View(request->head), transition.mode, (request->meta.flags & wire::RequestMeta::kSafe) != 0,
                         request->stamp.gradual_share_micros / 1e6, WallClockMs());
  VersionChoice choice = ChooseVersion(live_, version_request, [this] { return static_cast<int>(random_() % 100); });
  request->response_fields = std::move(choice.set_cookie);
  request->concurrent = choice.compared >= 0;
  request->delay_tolerance_ms = transition.delay_tolerance_ms;
  request->legs_open = request->concurrent ? 2 : 1;
  StartLeg(request, 0, choice.primary);
  if (request->concurrent) StartLeg(request, 1, choice.compared);
}

void Worker::StartLeg(ClientRequest* request, int leg, int cluster_index) {
  Route& route = routes_[cluster_index];
  request->tried_version[leg] = cluster_index;
  request->tried_servers[leg] = 0;
  int position = PickServer(&route, 0, upstream_.pools(), now_ms_);
  if (position < 0) {
    LegResult result;
    result.kind = LegResult::Kind::kFailed;
    result.cluster_uuid = route.uuid;
    result.error_status = 502;
    result.error = "no server of cluster " + route.uuid + " could be resolved";
    ExchangeDone(request, leg, cluster_index, std::move(result), /*nothing_acted_on=*/true);
    return;
  }
  StartExchange(request, leg, cluster_index, static_cast<size_t>(position));
}

void Worker::StartExchange(ClientRequest* request, int leg, int cluster_index, size_t position) {
  Route& route = routes_[cluster_index];
  if (position < 64) request->tried_servers[leg] |= uint64_t{1} << position;
  request->trips++;
  request->last_pool[leg] = route.pools[position];
  Exchange* exchange = upstream_.NewExchange(request, leg, route.pools[position], policy_.monitoring);
  exchange->cluster_index = cluster_index;
  exchange->cluster_uuid = route.uuid;
  exchange->position = position;
  upstream_.Dispatch(exchange);
}

void Worker::ExchangeDone(ClientRequest* request, int leg, int cluster_index, LegResult result,
                          bool nothing_acted_on) {
  if (request->probe) {
    ProbeDone(request, result);
    return;
  }
  if (policy_.monitoring) RecordOutcome(request, cluster_index, result);
  if (result.kind == LegResult::Kind::kFailed) {
    ServerRetry retry = RetryInVersion(routes_, *request, leg, cluster_index, result, nothing_acted_on);
    int position = retry == ServerRetry::kNone
                       ? -1
                       : PickServer(&routes_[cluster_index], request->tried_servers[leg], upstream_.pools(), now_ms_);
    if (position >= 0) {
      if (retry == ServerRetry::kResend) request->resent[leg] = true;
      LOG_DEBUG("cluster %s: %s; trying another of its servers", result.cluster_uuid.c_str(), result.error.c_str());
      StartExchange(request, leg, cluster_index, static_cast<size_t>(position));
      return;
    }
  }
  if (int older = FallbackTarget(routes_, *request, cluster_index, result, nothing_acted_on); older >= 0) {
    LOG_INFO_THROTTLED("cluster %s unreachable (%s): falling back to %s", result.cluster_uuid.c_str(),
                       result.error.c_str(), routes_[older].uuid.c_str());
    if (cluster_index == 0 && policy_.shielding) routes_[0].health->RecordShielded();
    StartLeg(request, leg, older);
    return;
  }
  if (int shield = ShieldTarget(routes_, policy_, *request, result); shield >= 0) {
    request->shielded = true;
    if (VersionHealth* health = HealthOf(cluster_index, result.cluster_uuid)) health->RecordShielded();
    LOG_DEBUG("shield: cluster %s answered %d; asking %s", result.cluster_uuid.c_str(),
              result.kind == LegResult::Kind::kResponse ? result.status : result.error_status,
              routes_[shield].uuid.c_str());
    StartLeg(request, leg, shield);
    return;
  }
  request->results[leg] = std::move(result);
  if (--request->legs_open > 0) return;
  if (request->concurrent) {
    FinishConcurrent(request);
  } else {
    ReplyWithResult(request, request->results[0], "");
  }
}

void Worker::FinishConcurrent(ClientRequest* request) {
  LegResult& newer = request->results[0];
  LegResult& older = request->results[1];
  ConcurrentVerdict verdict = CompareLegs(newer, older, request->delay_tolerance_ms);
  bool match = verdict.differences.empty();
  if (policy_.monitoring) {
    if (VersionHealth* health = HealthOf(0, newer.cluster_uuid)) health->RecordComparison(match);
  }
  if (!match) {
    nlohmann::json report = {{"time", HttpDate(WallClockMs())},
                             {"cluster", newer.cluster_uuid},  // the new version, compared
                             {"oldCluster", older.cluster_uuid},
                             {"request", std::string(RequestLineOf(View(request->head)))},
                             {"differences", verdict.differences}};
    std::string text = report.dump();
    Frames frames = wire::Encoded(wire::Mismatch{text});
    link_.Send(frames);
    LOG_INFO_THROTTLED("CONCURRENT mismatch: %s", text.c_str());
  }
  std::string marker = std::string("X-Upmesh-Concurrent: ") + (match ? "match" : "mismatch") + "\r\n";
  ReplyWithResult(request, verdict.use_newer ? newer : older, marker);
}

void Worker::ReplyWithResult(ClientRequest* request, LegResult& result, const std::string& extra_fields) {
  request->answer_leg = &result == &request->results[1] ? 1 : 0;
  if (result.kind != LegResult::Kind::kResponse) {
    std::string detail = result.error;
    if (!request->concurrent && routes_.size() > 1 && result.error_status == 502) {
      detail += " (no older version could be reached either)";
    }
    ReplyError(request, result.error_status, detail);
    return;
  }
  served_[result.cluster_uuid]++;
  std::string head = std::move(result.head);
  head.append(request->response_fields).append("X-Upmesh-Cluster: ").append(result.cluster_uuid).append("\r\n");
  head.append(extra_fields);
  SendReply(request, result.status, /*generated=*/false, head, std::move(result.body));
  FinishRequest(request);
}

// ---------------------------------------------------------------------------
// Active health checks.

void Worker::StartDueChecks() {
  for (ActiveChecks::Probe& probe : checks_.TakeDue(now_ms_)) {
    requests_.emplace_back();
    ClientRequest* request = &requests_.back();
    request->self = std::prev(requests_.end());
    request->probe = true;
    request->probe_pool = probe.pool;
    request->meta.flags = wire::RequestMeta::kIdempotent | wire::RequestMeta::kSafe;  // no Host: the server's is added
    request->head = zmq::message_t(probe.head.data(), probe.head.size());
    request->legs_open = 1;
    Exchange* exchange = upstream_.NewExchange(request, 0, probe.pool, policy_.monitoring);
    exchange->cluster_index = -1;
    exchange->give_up_ms = now_ms_ + probe.timeout_ms;
    upstream_.Dispatch(exchange);
  }
}

void Worker::ProbeDone(ClientRequest* request, const LegResult& result) {
  bool ok = result.kind == LegResult::Kind::kResponse && result.status < 400;
  if (!ok) {
    LOG_DEBUG("health check of %s failed: %s", upstream_.pools()[request->probe_pool].server().label.c_str(),
              result.kind == LegResult::Kind::kResponse ? ("status " + std::to_string(result.status)).c_str()
                                                        : result.error.c_str());
  }
  upstream_.RecordServerOutcome(request->probe_pool, ok, /*from_check=*/true);
  checks_.Done(request->probe_pool);
  FinishRequest(request);
}

// ---------------------------------------------------------------------------
// Monitoring.

VersionHealth* Worker::HealthOf(int cluster_index, const std::string& uuid) {
  if (cluster_index >= 0 && cluster_index < static_cast<int>(routes_.size()) && routes_[cluster_index].uuid == uuid) {
    return routes_[cluster_index].health;
  }
  // The table changed while the request was under way (e.g. the version was rolled back).
  if (!config_feed_.replica().table().Find(uuid)) return nullptr;
  return health_.ForVersion(uuid);
}

void Worker::RecordOutcome(const ClientRequest* request, int cluster_index, const LegResult& result) {
  VersionHealth* health = HealthOf(cluster_index, result.cluster_uuid);
  if (!health) return;
  Outcome outcome = result.kind == LegResult::Kind::kFailed ? result.failure
                    : result.status >= 500                  ? Outcome::kServerError
                    : result.status >= 400                  ? Outcome::kClientError
                                                            : Outcome::kOk;
  if (!IsFailure(outcome)) {
    bool success = result.status >= 200 && result.status < 300;
    health->Record(outcome, result.elapsed_us, success ? std::optional<uint64_t>(result.body.size()) : std::nullopt, 0,
                   nullptr);
    return;
  }
  int64_t now_wall = WallClockMs();
  FailureSample sample;
  RequestLine line = ParseRequestLine(View(request->head));
  sample.method = std::string(line.method);
  sample.target = std::string(line.target.substr(0, kMaxSampleText));
  sample.status = result.kind == LegResult::Kind::kFailed ? result.error_status : result.status;
  sample.error = result.error.substr(0, kMaxSampleText);
  sample.at_ms = now_wall;
  health->Record(outcome, result.elapsed_us, std::nullopt, now_wall, &sample);
  // The catastrophe rule needs no window, and the router adds up the runs of
  // every worker: a run of the newest version is reported within
  // kUrgentReportMs, and at once when it alone reaches the limit.
  if (!routes_.empty() && health == routes_.front().health && health->failure_run() >= 2) {
    int64_t due = health->failure_run() >= policy_.failure_run_limit ? now_ms_ : now_ms_ + kUrgentReportMs;
    next_health_report_ms_ = std::min(next_health_report_ms_, due);
  }
}

void Worker::ServersChanged() {
  servers_changed_ = true;
  next_health_report_ms_ = now_ms_;
}

void Worker::ReportConfigApplied() {
  // The router's rollback timeline notes when each worker routes by the new table.
  config_changed_since_report_ = true;
  next_health_report_ms_ = now_ms_;
}

nlohmann::json Worker::ServersJson() const {
  nlohmann::json servers = nlohmann::json::object();
  for (const Route& route : routes_) {
    for (size_t pool : route.pools) {
      const BackendPool& backend = upstream_.pools()[pool];
      const ServerHealth& health = backend.health();
      if (health.Available(now_ms_) && health.consecutive_failures() == 0) continue;  // up: not worth a line
      servers[backend.server().label] = health.ToJson(now_ms_);
    }
  }
  return servers;
}

void Worker::MaybeSendHealthReport() {
  if (now_ms_ < next_health_report_ms_) return;
  next_health_report_ms_ = now_ms_ + kHealthReportMs;
  // Servers that are not simply up are reported with every report, so the
  // router's view ages with them; a change is reported at once.
  nlohmann::json servers = ServersJson();
  bool servers_news = servers_changed_ || !servers.empty() || servers_reported_;
  if (!health_.HasNews() && !config_changed_since_report_ && !servers_news) return;
  config_changed_since_report_ = false;
  servers_changed_ = false;
  servers_reported_ = !servers.empty();
  HealthReport report = health_.TakeReport(config_feed_.replica().seq());
  report.servers = std::move(servers);
  std::string text = EncodeHealthReport(report);
  Frames frames = wire::Encoded(wire::Health{text});
  link_.Send(frames);  // refused while not connected: those figures are lost
}

std::string Worker::StatsJson() const {
  nlohmann::json served = nlohmann::json::object();
  for (const auto& [uuid, count] : served_) served[uuid] = count;
  return nlohmann::json{{"served", served}, {"seq", config_feed_.replica().seq()}}.dump();
}

// ---------------------------------------------------------------------------
// The metrics port.

Status Worker::OpenMetricsPort() {
  const MetricsPortConfig& port = options_.config.metrics;
  if (port.port == 0) return Status::Ok();
  metrics_ = std::make_unique<MetricsEndpoint>(&context_, [this] { return MetricsPage(); });
  Status status = metrics_->Bind(port.address, port.port);
  if (!status.ok()) return status;
  int fd = metrics_->socket().get(zmq::sockopt::fd);
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.ptr = nullptr;  // a ZeroMQ socket: drained at the top of the loop
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return Status::IoError(std::string("epoll_ctl(metrics port): ") + std::strerror(errno));
  }
  LOG_INFO("metrics on %s:%u", port.address.c_str(), static_cast<unsigned>(port.port));
  return Status::Ok();
}

std::string Worker::MetricsPage() const {
  using Type = MetricsText::Type;
  MetricsText out;
  out.Family("upmesh_worker_requests_in_progress", Type::kGauge,
             "Requests this worker holds: being forwarded, or waiting for capacity or the cluster table.");
  out.Gauge({}, static_cast<double>(requests_.size()));
  out.Family("upmesh_worker_served_total", Type::kCounter,
             "Backend responses this worker returned, per version in its table, since it started.");
  for (const Cluster& cluster : live_) {
    auto served = served_.find(cluster.uuid);
    out.Counter({{"version", VersionText(cluster.version)}, {"uuid", cluster.uuid}},
                served == served_.end() ? 0 : static_cast<double>(served->second));
  }
  size_t open = 0;
  size_t idle = 0;
  for (const BackendPool& pool : upstream_.pools()) {
    open += pool.open_count();
    idle += pool.idle_count();
  }
  out.Family("upmesh_backend_connections", Type::kGauge,
             "Connections to backend servers: busy (connecting or carrying a request) or idle (pooled).");
  out.Gauge({{"state", "busy"}}, static_cast<double>(open - idle));
  out.Gauge({{"state", "idle"}}, static_cast<double>(idle));
  out.Family("upmesh_backend_connect_failures_total", Type::kCounter,
             "Connections to backend servers that could not be made (refused, unreachable, timed out).");
  out.Counter({}, static_cast<double>(upstream_.connect_failures()));
  if (access_log_) {
    out.Family("upmesh_access_log_dropped_total", Type::kCounter,
               "Access log lines dropped because the destination was slower than the traffic.");
    out.Counter({}, static_cast<double>(access_log_->dropped()));
  }
  out.Family("upmesh_config_seq", Type::kGauge, "The config seq of the cluster table this worker routes by.");
  out.Gauge({}, static_cast<double>(config_feed_.seq()));
  out.Family("upmesh_build_info", Type::kGauge, "Always 1; this worker's upmesh version.");
  out.Gauge({{"version", UPMESH_VERSION}}, 1);
  return out.text();
}

}  // namespace upmesh::worker
