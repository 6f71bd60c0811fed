#include "worker/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "shared/clock.h"
#include "shared/http_fields.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"
#include "shared/wire.h"
#include "worker/version_choice.h"

namespace upmesh::worker {
namespace {

constexpr size_t kReadBufferBytes = 128 * 1024;
constexpr int kMaxEventsPerWait = 256;
// Router messages handled per loop turn, so that a flood of requests cannot
// starve the backend connections (the rest are handled next turn).
constexpr int kMaxRouterMessagesPerTurn = 1024;
// Bodies at least this big go to ZeroMQ without a copy.
constexpr size_t kZeroCopyBytes = 4096;

constexpr std::string_view kBlankLine = "\r\n";

std::string_view View(const zmq::message_t& message) {
  return std::string_view(static_cast<const char*>(message.data()), message.size());
}

zmq::message_t Frame(std::string_view bytes) { return zmq::message_t(bytes.data(), bytes.size()); }

zmq::message_t BodyFrame(std::string body) {
  if (body.size() < kZeroCopyBytes) return Frame(body);
  auto* owned = new std::string(std::move(body));
  return zmq::message_t(
      owned->data(), owned->size(), [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
}

std::string ErrnoText(int error) { return std::strerror(error); }

// How long a request stamped with a newer config than ours waits for it.
constexpr int64_t kConfigWaitMs = 2000;
constexpr int64_t kResolveRetryMs = 5000;

std::string_view RequestLine(std::string_view head) { return head.substr(0, head.find("\r\n")); }

// CONCURRENT: how the new version's answer differs from the old one's
// (status, framing, body size, delay). Empty: they match.
std::vector<std::string> CompareResponses(const LegResult& newer, const LegResult& older, int64_t tolerance_ms) {
  std::vector<std::string> differences;
  bool new_ok = newer.kind == LegResult::Kind::kResponse;
  bool old_ok = older.kind == LegResult::Kind::kResponse;
  if (!new_ok) differences.push_back("new version failed: " + newer.error);
  if (!old_ok) differences.push_back("old version failed: " + older.error);
  if (!new_ok || !old_ok) return differences;
  if (newer.status != older.status) {
    differences.push_back("status: new " + std::to_string(newer.status) + ", old " + std::to_string(older.status));
  }
  if (newer.chunked != older.chunked) {
    differences.push_back(std::string("framing: new ") + (newer.chunked ? "chunked" : "Content-Length") + ", old " +
                          (older.chunked ? "chunked" : "Content-Length"));
  }
  if (newer.body.size() != older.body.size()) {
    differences.push_back("body size: new " + std::to_string(newer.body.size()) + ", old " +
                          std::to_string(older.body.size()));
  }
  if (std::abs(newer.elapsed_ms - older.elapsed_ms) > tolerance_ms) {
    differences.push_back("delay: new " + std::to_string(newer.elapsed_ms) + " ms, old " +
                          std::to_string(older.elapsed_ms) + " ms (tolerance " + std::to_string(tolerance_ms) + " ms)");
  }
  return differences;
}

}  // namespace

Worker::Worker(WorkerOptions options)
    : options_(std::move(options)),
      context_(1),
      link_(&context_, RouterLink::Options{options_.config.router_endpoint, options_.name,
                                           options_.config.capacity, options_.config.heartbeat_ms,
                                           options_.config.heartbeat_liveness, [this] { return StatsJson(); },
                                           options_.curve}),
      subscriber_(&context_, options_.config.config_endpoint, options_.curve),
      read_buffer_(new char[kReadBufferBytes]) {}

Worker::~Worker() {
  for (BackendPool& pool : pools_) {
    for (BackendConnection& connection : pool.connections()) close(connection.fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

// ---------------------------------------------------------------------------
// The loop.

Status Worker::Run() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Status::IoError("epoll_create1: " + ErrnoText(errno));
  now_ms_ = NowMs();
  Status status = link_.Open(epoll_fd_, now_ms_);
  if (!status.ok()) return status;
  status = subscriber_.Open(epoll_fd_);
  if (!status.ok()) return status;
  next_sweep_ms_ = now_ms_ + kSweepIntervalMs;
  follower_.Start(now_ms_);
  LOG_INFO("worker %s: router %s, config broadcast %s, capacity %d", options_.name.c_str(),
           options_.config.router_endpoint.c_str(), options_.config.config_endpoint.c_str(),
           options_.config.capacity);

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
        LOG_WARN("drain timeout: %zu request(s) still unanswered", exchanges_.size());
        FailEverything("worker stopped before the backend answered");
        break;
      }
    }
    if (now_ms_ >= next_sweep_ms_) {
      Sweep();
      next_sweep_ms_ = now_ms_ + kSweepIntervalMs;
    }
    link_.Tick(now_ms_);
    if (link_.TakeJustConnected()) WantSnapshot();  // the router may have restarted
    MaybeRequestSnapshot();
    MaybeSendHealthReport();
    // Last before waiting: ZMQ_FD only signals changes, so everything that
    // is already readable must be taken now (this also covers every send
    // made above and while handling the previous batch).
    bool more_from_router = false;
    ReceiveConfig();
    ReceiveFromRouter(&more_from_router);
    AdmitWaitingForCapacity();
    ServeWaitingForConnection();

    int count = epoll_wait(epoll_fd_, events, kMaxEventsPerWait, EpollTimeoutMs(more_from_router));
    if (count < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("epoll_wait: " + ErrnoText(errno));
    }
    now_ms_ = NowMs();
    for (int i = 0; i < count; ++i) {
      auto* connection = static_cast<BackendConnection*>(events[i].data.ptr);
      if (connection == nullptr) continue;  // the router socket: drained at the top
      HandleConnectionEvent(connection, events[i].events);
    }
    AdmitWaitingForCapacity();
    ServeWaitingForConnection();
    FreeRetiredConnections();
  }
  FreeRetiredConnections();
  return Status::Ok();
}

int Worker::EpollTimeoutMs(bool more_waiting) const {
  if (more_waiting) return 0;
  int64_t wake = std::min({next_sweep_ms_, link_.next_tick_ms(), next_health_report_ms_});
  wake = std::min(wake, follower_.next_snapshot_ms());
  return static_cast<int>(std::clamp<int64_t>(wake - now_ms_, 0, kSweepIntervalMs));
}

// ---------------------------------------------------------------------------
// Router side.

void Worker::ReceiveFromRouter(bool* more_waiting) {
  for (int handled = 0; handled < kMaxRouterMessagesPerTurn; ++handled) {
    if (!link_.Receive(&frames_, now_ms_)) return;
    HandleRouterMessage(frames_);
  }
  *more_waiting = true;
}

void Worker::HandleRouterMessage(std::vector<zmq::message_t>& frames) {
  if (frames.size() < 2 || View(frames[0]) != wire::kSignature) {
    LOG_WARN("dropped a message from the router without the %s signature (%zu frame(s))",
             std::string(wire::kSignature).c_str(), frames.size());
    return;
  }
  std::string_view command = View(frames[1]);
  if (command == wire::kHeartbeat) return;  // liveness is noted by RouterLink
  if (command == wire::kRequest) {
    AcceptRequest(frames);
    return;
  }
  if (command == wire::kSnapshot) {
    OnSnapshot(frames);
    return;
  }
  LOG_WARN("dropped a router message with unknown command \"%.*s\"", static_cast<int>(command.size()),
           command.data());
}

void Worker::AcceptRequest(std::vector<zmq::message_t>& frames) {
  // [UPM1][REQ][frontend-id][request-id][request-meta][route-stamp][head][body]
  wire::RequestMeta meta;
  wire::RouteStamp stamp;
  if (frames.size() != 8) {
    LOG_WARN_THROTTLED("dropped a malformed REQ: %zu frames, expected 8", frames.size());
    return;
  }
  if (frames[3].size() != wire::kRequestIdSize || !wire::RequestMeta::Decode(View(frames[4]), &meta) ||
      !wire::RouteStamp::Decode(View(frames[5]), &stamp) || frames[6].size() == 0) {
    LOG_WARN_THROTTLED("dropped a malformed REQ: bad request-id, request-meta, route stamp or empty head");
    return;
  }
  requests_.emplace_back();
  ClientRequest* request = &requests_.back();
  request->self = std::prev(requests_.end());
  request->frontend_id = std::move(frames[2]);
  request->request_id = std::move(frames[3]);
  request->meta = meta;
  request->stamp = stamp;
  request->head = std::move(frames[6]);
  request->body = std::move(frames[7]);

  if (RequestsInProgress() > static_cast<size_t>(options_.config.capacity)) {
    request->deadline_ms = now_ms_ + options_.config.response_timeout_ms;
    waiting_for_capacity_.push_back(request);
    return;
  }
  if (!follower_.replica().loaded() || stamp.config_seq > follower_.replica().seq()) {
    // The router dispatched it under a newer table than ours: route it by that one.
    request->deadline_ms = now_ms_ + kConfigWaitMs;
    waiting_for_config_.push_back(request);
    WantSnapshot();
    return;
  }
  RouteRequest(request);
}

size_t Worker::RequestsInProgress() const {
  return requests_.size() - waiting_for_capacity_.size() - waiting_for_config_.size();
}

void Worker::AdmitWaitingForCapacity() {
  while (!waiting_for_capacity_.empty() && RequestsInProgress() < static_cast<size_t>(options_.config.capacity)) {
    ClientRequest* request = waiting_for_capacity_.front();
    waiting_for_capacity_.pop_front();
    if (!follower_.replica().loaded() || request->stamp.config_seq > follower_.replica().seq()) {
      request->deadline_ms = now_ms_ + kConfigWaitMs;
      waiting_for_config_.push_back(request);
      WantSnapshot();
    } else {
      RouteRequest(request);
    }
  }
}

void Worker::SendReply(ClientRequest* request, int status, bool generated, const std::string& head,
                       std::string body) {
  wire::ReplyMeta meta;
  meta.status = static_cast<uint16_t>(status);
  meta.flags = generated ? wire::ReplyMeta::kGenerated : 0;
  zmq::message_t frames[7] = {Frame(wire::kSignature),
                              Frame(wire::kReply),
                              std::move(request->frontend_id),
                              std::move(request->request_id),
                              Frame(meta.Encode()),
                              Frame(head),
                              BodyFrame(std::move(body))};
  if (!link_.Send(frames, 7)) {
    // The frontend's own reply timeout answers the client then.
    LOG_WARN_THROTTLED("reply (status %d) dropped: no router connection or send queue full", status);
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

void Worker::FinishRequest(ClientRequest* request) {
  // A leg still under way (the request failed as a whole) is abandoned.
  for (Exchange* exchange : request->live) {
    if (!exchange) continue;
    if (exchange->connection) CloseConnection(exchange->connection);
    if (exchange->phase == Exchange::Phase::kWaitingForConnection) {
      std::deque<Exchange*>& waiting = pools_[exchange->server].waiting();
      waiting.erase(std::find(waiting.begin(), waiting.end(), exchange));
    }
    FinishExchange(exchange);
  }
  requests_.erase(request->self);
}

// ---------------------------------------------------------------------------
// The cluster table (Clone replica) and routing.

void Worker::ReceiveConfig() {
  std::vector<zmq::message_t> frames;
  while (subscriber_.Receive(&frames)) {
    if (follower_.OnBroadcast(frames, now_ms_)) ConfigApplied();
  }
}

void Worker::OnSnapshot(std::vector<zmq::message_t>& frames) {
  if (follower_.OnSnapshot(frames)) ConfigApplied();
}

void Worker::ConfigApplied() {
  RebuildRoutes();
  // The router's rollback timeline notes when each worker routes by the new table.
  config_changed_since_report_ = true;
  next_health_report_ms_ = now_ms_;
  ReleaseWaitingForConfig();
}

void Worker::WantSnapshot() { follower_.WantSnapshot(now_ms_); }

void Worker::MaybeRequestSnapshot() {
  if (!follower_.SnapshotDue(now_ms_)) return;
  zmq::message_t frames[2] = {Frame(wire::kSignature), Frame(wire::kSnapshotRequest)};
  if (!link_.Send(frames, 2)) follower_.SnapshotRefused(now_ms_);  // not connected yet
}

size_t Worker::PoolFor(const ServerAddress& address, bool* resolved) {
  std::string label = address.host + ":" + std::to_string(address.port);
  auto found = pool_by_label_.find(label);
  *resolved = true;
  if (found != pool_by_label_.end()) return found->second;
  BackendServer server;
  Status status = ResolveServer(address, options_.config.backend_networks, &server);
  if (!status.ok()) {
    LOG_WARN("%s; will try again", status.message().c_str());
    *resolved = false;
    return 0;
  }
  pools_.emplace_back(server, options_.config.max_connections_per_server);
  pool_by_label_.emplace(label, pools_.size() - 1);
  return pools_.size() - 1;
}

void Worker::RebuildRoutes() {
  std::vector<Route> routes;
  routes_incomplete_ = false;
  live_.clear();
  for (const Cluster* live : follower_.replica().table().Live()) live_.push_back(*live);
  std::set<std::string> uuids;
  for (const Cluster& cluster : follower_.replica().table().clusters()) uuids.insert(cluster.uuid);
  health_.Retain(uuids);
  for (const Cluster& cluster : live_) {
    Route route;
    route.uuid = cluster.uuid;
    route.health = health_.ForVersion(cluster.uuid);
    for (const ServerAddress& server : cluster.servers) {
      bool resolved = false;
      size_t pool = PoolFor(server, &resolved);
      if (resolved) {
        route.pools.push_back(pool);
      } else {
        routes_incomplete_ = true;  // PoolFor said why
      }
    }
    for (const Route& old : routes_) {
      if (old.uuid == route.uuid) route.next = old.next;  // keep the round robin going
    }
    routes.push_back(std::move(route));
  }
  routes_ = std::move(routes);
  next_resolve_ms_ = now_ms_ + kResolveRetryMs;
  RebuildChecks();
  // The newest version's monitor decides; with one version there is nothing
  // to judge yet, but its figures become the baseline for the next one.
  const MonitorConfig* monitor = live_.empty() ? nullptr : &live_.front().transition.monitor;
  monitoring_ = monitor && monitor->enabled;
  shielding_ = monitoring_ && monitor->shield && routes_.size() > 1;
  failure_run_limit_ = monitor ? static_cast<uint64_t>(monitor->consecutive_failures) : 0;
}

void Worker::ReleaseWaitingForConfig() {
  std::deque<ClientRequest*> waiting;
  waiting.swap(waiting_for_config_);
  for (ClientRequest* request : waiting) {
    bool current = follower_.replica().loaded() && request->stamp.config_seq <= follower_.replica().seq();
    if (!current && request->deadline_ms > now_ms_) {
      waiting_for_config_.push_back(request);
    } else if (!follower_.replica().loaded()) {
      ReplyError(request, 503, "no cluster table from the router yet");
    } else {
      if (!current) {
        LOG_WARN_THROTTLED("routing a request by config seq %llu although it was stamped %llu",
                 static_cast<unsigned long long>(follower_.replica().seq()),
                 static_cast<unsigned long long>(request->stamp.config_seq));
      }
      RouteRequest(request);
    }
  }
}

void Worker::RouteRequest(ClientRequest* request) {
  const std::vector<Cluster>& clusters = live_;
  if (clusters.empty()) {
    ReplyError(request, 503, "no cluster configured");
    return;
  }
  std::string_view head = View(request->head);
  VersionRequest version_request;
  // Only the newest version's mode reads a cookie: scan the head for that one alone.
  UpgradeMode mode = clusters[0].transition.mode;
  if (mode == UpgradeMode::kSession) version_request.session_uuid = FindCookie(head, kSessionCookie);
  std::optional<std::string> position;
  if (mode == UpgradeMode::kGradual) position = FindCookie(head, kTransitionCookie);
  if (position) {
    char* end = nullptr;
    long value = std::strtol(position->c_str(), &end, 10);
    if (!position->empty() && *end == '\0' && value >= 0 && value < 100) version_request.position = static_cast<int>(value);
  }
  version_request.safe = (request->meta.flags & wire::RequestMeta::kSafe) != 0;
  version_request.gradual_share = request->stamp.gradual_share_micros / 1e6;
  version_request.now_wall_ms = WallClockMs();
  VersionChoice choice = ChooseVersion(clusters, version_request, [this] { return static_cast<int>(random_() % 100); });
  request->response_fields = std::move(choice.set_cookie);
  request->concurrent = choice.compared >= 0;
  request->delay_tolerance_ms = clusters[0].transition.delay_tolerance_ms;
  request->legs_open = request->concurrent ? 2 : 1;
  StartLeg(request, 0, choice.primary);
  if (request->concurrent) StartLeg(request, 1, choice.compared);
}

void Worker::StartLeg(ClientRequest* request, int leg, int cluster_index) {
  Route& route = routes_[cluster_index];
  request->tried_version[leg] = cluster_index;
  request->tried_servers[leg] = 0;
  int position = PickServer(&route, 0);
  if (position < 0) {
    LegResult result;
    result.kind = LegResult::Kind::kFailed;
    result.cluster_uuid = route.uuid;
    result.error_status = 502;
    result.error = "no server of cluster " + route.uuid + " could be resolved";
    LegDone(request, leg, cluster_index, std::move(result), /*may_fall_back=*/true);
    return;
  }
  StartExchange(request, leg, cluster_index, static_cast<size_t>(position));
}

int Worker::PickServer(Route* route, uint64_t tried) const {
  size_t count = route->pools.size();
  int soonest = -1;
  int64_t soonest_ms = 0;
  for (size_t k = 0; k < count; ++k) {
    size_t position = (route->next + k) % count;
    if (position < 64 && (tried >> position & 1)) continue;
    const ServerHealth& health = pools_[route->pools[position]].health();
    if (health.Available(now_ms_)) {
      route->next = position + 1;
      return static_cast<int>(position);
    }
    if (soonest < 0 || health.ejected_until_ms() < soonest_ms) {
      soonest = static_cast<int>(position);
      soonest_ms = health.ejected_until_ms();
    }
  }
  // Every server is ejected: the version's own health decides (the first try
  // goes to the one back soonest); a retry goes elsewhere.
  if (tried != 0 || soonest < 0) return -1;
  route->next = static_cast<size_t>(soonest) + 1;
  return soonest;
}

bool Worker::TryAnotherServer(ClientRequest* request, int leg, int cluster_index, const LegResult& result,
                              bool nothing_acted_on) {
  bool idempotent = (request->meta.flags & wire::RequestMeta::kIdempotent) != 0;
  // A server that died after the request was sent may have acted on it: only
  // an idempotent request goes again, and only once.
  bool died = result.failure == Outcome::kReset || result.failure == Outcome::kBadFraming;
  bool resend = !nothing_acted_on && idempotent && died && !request->resent[leg];
  if (!nothing_acted_on && !resend) return false;
  if (cluster_index >= static_cast<int>(routes_.size()) || routes_[cluster_index].uuid != result.cluster_uuid ||
      request->tried_version[leg] != cluster_index) {
    return false;  // the table changed meanwhile: the version-level fallback decides
  }
  int position = PickServer(&routes_[cluster_index], request->tried_servers[leg]);
  if (position < 0) return false;
  if (resend) request->resent[leg] = true;
  LOG_DEBUG("cluster %s: %s; trying another of its servers", result.cluster_uuid.c_str(), result.error.c_str());
  StartExchange(request, leg, cluster_index, static_cast<size_t>(position));
  return true;
}

void Worker::StartExchange(ClientRequest* request, int leg, int cluster_index, size_t position) {
  Route& route = routes_[cluster_index];
  if (position < 64) request->tried_servers[leg] |= uint64_t{1} << position;
  Exchange* exchange = NewExchange(request, leg, route.pools[position]);
  exchange->cluster_index = cluster_index;
  exchange->cluster_uuid = route.uuid;
  exchange->position = position;
  Dispatch(exchange, /*fresh_connection=*/false);
}

Exchange* Worker::NewExchange(ClientRequest* request, int leg, size_t server) {
  exchanges_.emplace_back();
  Exchange* exchange = &exchanges_.back();
  exchange->self = std::prev(exchanges_.end());
  exchange->request = request;
  exchange->leg = leg;
  exchange->started_ms = now_ms_;
  if (monitoring_) exchange->started_us = NowUs();
  exchange->head.copy(request->head);  // shares the buffer
  exchange->body.copy(request->body);
  exchange->server = server;
  request->live[leg] = exchange;
  return exchange;
}

void Worker::LegDone(ClientRequest* request, int leg, int cluster_index, LegResult result, bool may_fall_back) {
  if (request->probe) {
    ProbeDone(request, result);
    return;
  }
  if (monitoring_) RecordOutcome(request, cluster_index, result);
  if (result.kind == LegResult::Kind::kFailed && TryAnotherServer(request, leg, cluster_index, result, may_fall_back)) {
    return;
  }
  int next_older = cluster_index + 1;
  bool has_older = next_older < static_cast<int>(routes_.size());
  if (result.kind == LegResult::Kind::kFailed && may_fall_back && !request->concurrent && has_older) {
    LOG_INFO_THROTTLED("cluster %s unreachable (%s): falling back to %s", result.cluster_uuid.c_str(), result.error.c_str(),
             routes_[next_older].uuid.c_str());
    if (cluster_index == 0 && shielding_) routes_[0].health->RecordShielded();
    StartLeg(request, leg, next_older);
    return;
  }
  if (int shield = ShieldTarget(request, result); shield >= 0) {
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

void Worker::ReplyWithResult(ClientRequest* request, LegResult& result, const std::string& extra_fields) {
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

void Worker::FinishConcurrent(ClientRequest* request) {
  LegResult& newer = request->results[0];
  LegResult& older = request->results[1];
  std::vector<std::string> differences = CompareResponses(newer, older, request->delay_tolerance_ms);
  if (monitoring_) {
    if (VersionHealth* health = HealthOf(0, newer.cluster_uuid)) health->RecordComparison(differences.empty());
  }
  if (!differences.empty()) {
    nlohmann::json report = {{"time", HttpDate(WallClockMs())},
                             {"cluster", newer.cluster_uuid},  // the new version, compared
                             {"oldCluster", older.cluster_uuid},
                             {"request", std::string(RequestLine(View(request->head)))},
                             {"differences", differences}};
    std::string text = report.dump();
    zmq::message_t frames[3] = {Frame(wire::kSignature), Frame(wire::kMismatch), Frame(text)};
    link_.Send(frames, 3);
    LOG_INFO_THROTTLED("CONCURRENT mismatch: %s", text.c_str());
  }
  // Match: the new version answers. Mismatch: the old one does, unless it
  // failed outright and the new one did not.
  bool use_newer = differences.empty() ||
                   (older.kind != LegResult::Kind::kResponse && newer.kind == LegResult::Kind::kResponse);
  std::string marker = std::string("X-Upmesh-Concurrent: ") + (differences.empty() ? "match" : "mismatch") + "\r\n";
  ReplyWithResult(request, use_newer ? newer : older, marker);
}

std::string Worker::StatsJson() const {
  nlohmann::json served = nlohmann::json::object();
  for (const auto& [uuid, count] : served_) served[uuid] = count;
  return nlohmann::json{{"served", served}, {"seq", follower_.replica().seq()}}.dump();
}

int Worker::RouteIndexOf(const std::string& uuid) const {
  for (size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].uuid == uuid) return static_cast<int>(i);
  }
  return -1;
}

VersionHealth* Worker::HealthOf(int cluster_index, const std::string& uuid) {
  if (cluster_index >= 0 && cluster_index < static_cast<int>(routes_.size()) && routes_[cluster_index].uuid == uuid) {
    return routes_[cluster_index].health;
  }
  // The table changed while the request was under way (e.g. the version was rolled back).
  if (!follower_.replica().table().Find(uuid)) return nullptr;
  return health_.ForVersion(uuid);
}

int Worker::ShieldTarget(const ClientRequest* request, const LegResult& result) const {
  // Only once, never a write, only failures.
  if (!monitoring_ || request->concurrent || request->shielded) return -1;
  if (!(request->meta.flags & wire::RequestMeta::kIdempotent)) return -1;
  if (result.kind != LegResult::Kind::kFailed && result.status < 500) return -1;
  int index = RouteIndexOf(result.cluster_uuid);
  if (index < 0) return routes_.empty() ? -1 : 0;  // rolled back while under way: the newest live version answers
  return index == 0 && shielding_ ? 1 : -1;          // the watched version failed: the one it replaces answers
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
  std::string_view line = RequestLine(View(request->head));
  size_t space = line.find(' ');
  sample.method = std::string(line.substr(0, space));
  if (space != std::string_view::npos) {
    std::string_view target = line.substr(space + 1);
    sample.target = std::string(target.substr(0, std::min(target.rfind(' '), kMaxSampleText)));
  }
  sample.status = result.kind == LegResult::Kind::kFailed ? result.error_status : result.status;
  sample.error = result.error.substr(0, kMaxSampleText);
  sample.at_ms = now_wall;
  health->Record(outcome, result.elapsed_us, std::nullopt, now_wall, &sample);
  // The catastrophe rule needs no window, and the router adds up the runs of
  // every worker: a run of the newest version is reported within
  // kUrgentReportMs, and at once when it alone reaches the limit.
  if (!routes_.empty() && health == routes_.front().health && health->failure_run() >= 2) {
    int64_t due = health->failure_run() >= failure_run_limit_ ? now_ms_ : now_ms_ + kUrgentReportMs;
    next_health_report_ms_ = std::min(next_health_report_ms_, due);
  }
}

void Worker::RebuildChecks() {
  // One check per server: the newest version that uses it and asks for one says how.
  std::map<size_t, ActiveCheck> checks;
  for (size_t i = 0; i < live_.size(); ++i) {
    if (!live_[i].has_health_check) continue;
    const HealthCheck& wanted = live_[i].health_check;
    for (size_t pool : routes_[i].pools) {
      if (checks.count(pool)) continue;
      ActiveCheck check;
      check.head = "GET " + wanted.path + " HTTP/1.1\r\nUser-Agent: upmesh-health-check\r\nX-Upmesh-Worker: " +
                   options_.name + "\r\n";
      check.interval_ms = wanted.interval_ms;
      check.timeout_ms = wanted.timeout_ms;
      check.next_ms = now_ms_;
      if (auto old = checks_.find(pool); old != checks_.end()) {
        check.next_ms = old->second.next_ms;  // keep the rhythm
        check.in_flight = old->second.in_flight;
      }
      checks.emplace(pool, std::move(check));
    }
  }
  checks_ = std::move(checks);
}

void Worker::StartDueChecks() {
  for (auto& [pool, check] : checks_) {
    if (check.in_flight || now_ms_ < check.next_ms) continue;
    check.in_flight = true;
    check.next_ms = now_ms_ + check.interval_ms;
    requests_.emplace_back();
    ClientRequest* request = &requests_.back();
    request->self = std::prev(requests_.end());
    request->probe = true;
    request->probe_pool = pool;
    request->meta.flags = wire::RequestMeta::kIdempotent | wire::RequestMeta::kSafe;  // no Host: the server's is added
    request->head = zmq::message_t(check.head.data(), check.head.size());
    request->legs_open = 1;
    Exchange* exchange = NewExchange(request, 0, pool);
    exchange->cluster_index = -1;
    exchange->give_up_ms = now_ms_ + check.timeout_ms;
    Dispatch(exchange, /*fresh_connection=*/false);
  }
}

void Worker::ProbeDone(ClientRequest* request, const LegResult& result) {
  bool ok = result.kind == LegResult::Kind::kResponse && result.status < 400;
  if (!ok) {
    LOG_DEBUG("health check of %s failed: %s", pools_[request->probe_pool].server().label.c_str(),
              result.kind == LegResult::Kind::kResponse ? ("status " + std::to_string(result.status)).c_str()
                                                        : result.error.c_str());
  }
  RecordServerOutcome(request->probe_pool, ok, /*from_check=*/true);
  if (auto check = checks_.find(request->probe_pool); check != checks_.end()) check->second.in_flight = false;
  FinishRequest(request);
}

void Worker::RecordServerOutcome(size_t server, bool ok, bool from_check) {
  BackendPool& pool = pools_[server];
  ServerHealth& health = pool.health();
  if (!(ok ? health.RecordSuccess() : health.RecordFailure(now_ms_, from_check))) return;
  if (ok) {
    LOG_INFO("backend %s is back in rotation", pool.server().label.c_str());
  } else {
    LOG_WARN("backend %s ejected for %lld ms after %d failure(s) in a row", pool.server().label.c_str(),
             static_cast<long long>(health.ejected_until_ms() - now_ms_), health.consecutive_failures());
  }
  servers_changed_ = true;
  next_health_report_ms_ = now_ms_;
}

nlohmann::json Worker::ServersJson() const {
  nlohmann::json servers = nlohmann::json::object();
  for (const Route& route : routes_) {
    for (size_t pool : route.pools) {
      const ServerHealth& health = pools_[pool].health();
      if (health.Available(now_ms_) && health.consecutive_failures() == 0) continue;  // up: not worth a line
      servers[pools_[pool].server().label] = health.ToJson(now_ms_);
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
  HealthReport report = health_.TakeReport(follower_.replica().seq());
  report.servers = std::move(servers);
  std::string text = EncodeHealthReport(report);
  zmq::message_t frames[3] = {Frame(wire::kSignature), Frame(wire::kHealth), Frame(text)};
  link_.Send(frames, 3);  // refused while not connected: those figures are lost
}

// ---------------------------------------------------------------------------
// Backend side.

void Worker::Dispatch(Exchange* exchange, bool fresh_connection) {
  BackendPool& pool = pools_[exchange->server];
  if (!fresh_connection) {
    if (BackendConnection* connection = pool.PopIdle()) {
      Assign(connection, exchange);
      return;
    }
  } else if (!pool.CanOpen()) {
    // Make room for the fresh connection by dropping the least used idle one.
    if (BackendConnection* oldest = pool.PopOldestIdle()) CloseConnection(oldest);
  }
  if (pool.CanOpen()) {
    OpenConnectionFor(exchange);
    return;
  }
  exchange->phase = Exchange::Phase::kWaitingForConnection;
  exchange->deadline_ms = now_ms_ + options_.config.response_timeout_ms;
  pools_waiting_.insert(exchange->server);
  if (fresh_connection) {
    pool.waiting().push_front(exchange);  // a retry has waited once already
  } else {
    pool.waiting().push_back(exchange);
  }
}

void Worker::ServeWaitingForConnection() {
  // Only the pools that have had waiting requests: a table at its limits
  // has thousands of pools, and this runs on every turn of the loop.
  for (auto it = pools_waiting_.begin(); it != pools_waiting_.end();) {
    BackendPool& pool = pools_[*it];
    // Idle connections are handed to waiting requests as they come back, so
    // here only new connections are missing (one closed since).
    while (!pool.waiting().empty() && pool.CanOpen()) {
      Exchange* exchange = pool.waiting().front();
      pool.waiting().pop_front();
      OpenConnectionFor(exchange);
    }
    it = pool.waiting().empty() ? pools_waiting_.erase(it) : std::next(it);
  }
}

void Worker::FreeRetiredConnections() {
  for (size_t pool : pools_retired_) pools_[pool].FreeRetired();
  pools_retired_.clear();
}

void Worker::OpenConnectionFor(Exchange* exchange) {
  BackendPool& pool = pools_[exchange->server];
  const BackendServer& server = pool.server();
  int fd = socket(server.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int error = errno;
    LOG_ERROR_THROTTLED("socket() for backend %s: %s", server.label.c_str(), ErrnoText(error).c_str());
    FailExchange(exchange, 502, Outcome::kRefused, "cannot open a connection to the backend: " + ErrnoText(error), true);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&server.address), server.address_length) != 0 &&
      errno != EINPROGRESS) {
    int error = errno;
    close(fd);
    LOG_WARN_THROTTLED("connect to backend %s failed: %s", server.label.c_str(), ErrnoText(error).c_str());
    FailExchange(exchange, 502, Outcome::kRefused, "connect to backend " + server.label + " failed: " + ErrnoText(error),
                 true);
    return;
  }
  BackendConnection* connection = pool.Add(exchange->server, options_.name);
  connection->fd = fd;
  connection->exchange = exchange;
  exchange->connection = connection;
  exchange->phase = Exchange::Phase::kConnecting;
  exchange->deadline_ms = now_ms_ + options_.config.connect_timeout_ms;
  // Edge-triggered, registered once for the connection's whole life: the
  // first EPOLLOUT says the connect finished, later ones that a full send
  // buffer drained; EPOLLIN/RDHUP are read until EAGAIN.
  epoll_event event = {};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.ptr = connection;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    int error = errno;
    CloseConnection(connection);
    FailExchange(exchange, 502, Outcome::kRefused, "cannot watch the backend connection: " + ErrnoText(error), true);
  }
}

void Worker::Assign(BackendConnection* connection, Exchange* exchange) {
  connection->exchange = exchange;
  connection->state = BackendConnection::State::kBusy;
  exchange->connection = connection;
  exchange->phase = Exchange::Phase::kExchanging;
  exchange->deadline_ms = now_ms_ + options_.config.response_timeout_ms;
  connection->reader.Start((exchange->request->meta.flags & wire::RequestMeta::kHeadMethod) != 0,
                           options_.config.max_response_bytes);

  // head + [Host line] + blank line + body, in one writev.
  iovec* pieces = connection->pending;
  int count = 0;
  pieces[count++] = {exchange->head.data(), exchange->head.size()};
  if (!(exchange->request->meta.flags & wire::RequestMeta::kHasHost)) {
    const std::string& host_line = pools_[exchange->server].server().host_line;
    pieces[count++] = {const_cast<char*>(host_line.data()), host_line.size()};
  }
  pieces[count++] = {const_cast<char*>(kBlankLine.data()), kBlankLine.size()};
  if (exchange->body.size() > 0) pieces[count++] = {exchange->body.data(), exchange->body.size()};
  connection->pending_first = 0;
  connection->pending_count = count;
  WritePending(connection);
}

void Worker::WritePending(BackendConnection* connection) {
  while (connection->pending_count > 0) {
    iovec* first = connection->pending + connection->pending_first;
    ssize_t written = writev(connection->fd, first, connection->pending_count);
    if (written < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // EPOLLOUT resumes
      ConnectionBroken(connection, "writing the request to the backend failed: " + ErrnoText(errno));
      return;
    }
    size_t left = static_cast<size_t>(written);
    while (connection->pending_count > 0 && left >= first->iov_len) {
      left -= first->iov_len;
      ++first;
      ++connection->pending_first;
      --connection->pending_count;
    }
    if (connection->pending_count > 0) {
      first->iov_base = static_cast<char*>(first->iov_base) + left;
      first->iov_len -= left;
    }
  }
}

void Worker::HandleConnectionEvent(BackendConnection* connection, uint32_t events) {
  if (connection->state == BackendConnection::State::kClosed) return;  // closed earlier in this batch
  if (connection->state == BackendConnection::State::kConnecting) {
    FinishConnecting(connection);
    if (connection->state != BackendConnection::State::kBusy) return;
  } else if ((events & EPOLLOUT) && connection->pending_count > 0) {
    WritePending(connection);
    if (connection->state == BackendConnection::State::kClosed) return;
  }
  // The same edge may carry input (or a hang-up): it will not be reported
  // again, so read now.
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) ReadFrom(connection, events);
}

void Worker::FinishConnecting(BackendConnection* connection) {
  int error = 0;
  socklen_t length = sizeof error;
  if (getsockopt(connection->fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error == EINPROGRESS || error == EALREADY) return;  // not yet (spurious wake-up)
  Exchange* exchange = connection->exchange;
  const std::string& label = pools_[connection->server].server().label;
  if (error != 0) {
    LOG_WARN_THROTTLED("connect to backend %s failed: %s", label.c_str(), ErrnoText(error).c_str());
    CloseConnection(connection);
    if (exchange) {
      FailExchange(exchange, 502, Outcome::kRefused, "connect to backend " + label + " failed: " + ErrnoText(error),
                   true);
    }
    return;
  }
  LOG_DEBUG("connected to backend %s (fd %d)", label.c_str(), connection->fd);
  if (exchange == nullptr) {  // its request is gone: keep no unused connection
    CloseConnection(connection);
    return;
  }
  Assign(connection, exchange);
}

void Worker::ReadFrom(BackendConnection* connection, uint32_t events) {
  // A short read means the socket is empty, and anything arriving later is
  // a new edge, so one read usually suffices. A hang-up reported with this
  // edge would not be reported again, though: then read until EOF/EAGAIN.
  bool hang_up_reported = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  char* buffer = read_buffer_.get();
  for (;;) {
    ssize_t received = read(connection->fd, buffer, kReadBufferBytes);
    if (received < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      int error = errno;
      if (connection->state == BackendConnection::State::kIdle) {
        CloseConnection(connection);
      } else {
        ConnectionBroken(connection, "reading from the backend failed: " + ErrnoText(error));
      }
      return;
    }
    if (received == 0) {
      if (connection->state == BackendConnection::State::kIdle) {
        LOG_DEBUG("backend %s closed an idle connection", pools_[connection->server].server().label.c_str());
        CloseConnection(connection);
        return;
      }
      if (connection->reader.FeedEof() == ResponseReader::Result::kComplete) {
        CompleteExchange(connection, /*reusable=*/false);
      } else {
        ConnectionBroken(connection, connection->reader.error());
      }
      return;
    }
    if (connection->state == BackendConnection::State::kIdle) {
      LOG_WARN_THROTTLED("backend %s sent %zd byte(s) on an idle connection: closing it",
               pools_[connection->server].server().label.c_str(), received);
      CloseConnection(connection);
      return;
    }
    size_t consumed = 0;
    ResponseReader::Result result = connection->reader.Feed(buffer, static_cast<size_t>(received), &consumed);
    bool drained = !hang_up_reported && static_cast<size_t>(received) < kReadBufferBytes;
    if (result == ResponseReader::Result::kIncomplete) {
      if (drained) return;
      continue;
    }
    if (result == ResponseReader::Result::kError) {
      Exchange* exchange = connection->exchange;
      std::string detail = connection->reader.error();
      LOG_WARN_THROTTLED("backend %s: %s", pools_[connection->server].server().label.c_str(), detail.c_str());
      CloseConnection(connection);
      FailExchange(exchange, 502, Outcome::kBadFraming, detail, /*may_fall_back=*/false);
      return;
    }
    // Bytes after the response, or a request not yet fully written (the
    // backend answered early): the connection is in an unknown state.
    bool reusable = connection->reader.keep_alive() && consumed == static_cast<size_t>(received) &&
                    connection->pending_count == 0;
    CompleteExchange(connection, reusable);
    if (connection->state == BackendConnection::State::kClosed || drained) return;
    // Still open (idle or carrying the next request) and maybe more to read.
  }
}

void Worker::CompleteExchange(BackendConnection* connection, bool reusable) {
  Exchange* exchange = connection->exchange;
  ResponseReader& reader = connection->reader;
  LOG_DEBUG("%s -> %d (%zu body bytes)", pools_[connection->server].server().label.c_str(), reader.status(),
            reader.body().size());
  LegResult result;
  result.kind = LegResult::Kind::kResponse;
  result.cluster_uuid = exchange->cluster_uuid;
  result.status = reader.status();
  result.head = reader.head();
  result.body = std::move(reader.body());
  result.chunked = reader.chunked();
  result.elapsed_ms = now_ms_ - exchange->started_ms;
  if (!exchange->request->probe) RecordServerOutcome(connection->server, /*ok=*/true);
  if (exchange->started_us > 0) result.elapsed_us = NowUs() - exchange->started_us;
  connection->exchange = nullptr;
  exchange->connection = nullptr;
  // The connection goes back first: the leg's end may start a new exchange.
  if (!reusable) {
    CloseConnection(connection);
  } else {
    connection->reused = true;
    BackendPool& pool = pools_[connection->server];
    if (!pool.waiting().empty()) {
      Exchange* next = pool.waiting().front();
      pool.waiting().pop_front();
      Assign(connection, next);
    } else {
      pool.PushIdle(connection, now_ms_);
    }
  }
  ClientRequest* request = exchange->request;
  int leg = exchange->leg;
  int cluster_index = exchange->cluster_index;
  FinishExchange(exchange);
  LegDone(request, leg, cluster_index, std::move(result), /*may_fall_back=*/false);
}

void Worker::ConnectionBroken(BackendConnection* connection, const std::string& detail) {
  Exchange* exchange = connection->exchange;
  // A pooled connection the backend closed while it sat idle (the race
  // every keep-alive client has): the request never reached the backend if
  // no byte came back, so an idempotent one may go again, once.
  bool idempotent = (exchange->request->meta.flags & wire::RequestMeta::kIdempotent) != 0;
  bool received_any = connection->reader.received_any();
  bool retry = connection->reused && !received_any && !exchange->retried && idempotent;
  const std::string& label = pools_[connection->server].server().label;
  CloseConnection(connection);
  if (retry) {
    LOG_DEBUG("backend %s closed a reused connection (%s): retrying on a fresh one", label.c_str(),
              detail.c_str());
    exchange->retried = true;
    Dispatch(exchange, /*fresh_connection=*/true);
    return;
  }
  LOG_WARN_THROTTLED("backend %s: %s", label.c_str(), detail.c_str());
  // Nothing came back: unless the request could have changed something
  // (not idempotent), another version may take it.
  bool may_fall_back = !received_any && idempotent;
  FailExchange(exchange, 502, Outcome::kReset, detail, may_fall_back);
}

void Worker::FailExchange(Exchange* exchange, int status, Outcome failure, const std::string& detail,
                          bool may_fall_back) {
  LegResult result;
  result.kind = LegResult::Kind::kFailed;
  result.failure = failure;
  result.cluster_uuid = exchange->cluster_uuid;
  result.error_status = status;
  result.error = detail;
  // Waiting for a free connection of our own pool is not the server's fault.
  if (exchange->phase != Exchange::Phase::kWaitingForConnection && !exchange->request->probe) {
    RecordServerOutcome(exchange->server, /*ok=*/false);
  }
  ClientRequest* request = exchange->request;
  int leg = exchange->leg;
  int cluster_index = exchange->cluster_index;
  FinishExchange(exchange);
  LegDone(request, leg, cluster_index, std::move(result), may_fall_back);
}

void Worker::FinishExchange(Exchange* exchange) {
  if (exchange->connection) {
    exchange->connection->exchange = nullptr;
    exchange->connection = nullptr;
  }
  if (exchange->request->live[exchange->leg] == exchange) exchange->request->live[exchange->leg] = nullptr;
  exchanges_.erase(exchange->self);
}

void Worker::CloseConnection(BackendConnection* connection) {
  if (connection->exchange) connection->exchange->connection = nullptr;
  close(connection->fd);  // also removes it from the epoll set
  connection->fd = -1;
  pools_[connection->server].Retire(connection);
  pools_retired_.insert(connection->server);
}

// ---------------------------------------------------------------------------
// Time.

void Worker::Sweep() {
  std::vector<Exchange*> expired;
  for (Exchange& exchange : exchanges_) {
    if (exchange.deadline_ms <= now_ms_ || exchange.give_up_ms <= now_ms_) expired.push_back(&exchange);
  }
  for (Exchange* exchange : expired) ExpireExchange(exchange);
  if (!draining_) StartDueChecks();

  while (!waiting_for_capacity_.empty() && waiting_for_capacity_.front()->deadline_ms <= now_ms_) {
    ClientRequest* request = waiting_for_capacity_.front();
    waiting_for_capacity_.pop_front();
    ReplyError(request, 504, "no capacity in the worker in time");
  }
  if (!waiting_for_config_.empty()) ReleaseWaitingForConfig();
  if (routes_incomplete_ && now_ms_ >= next_resolve_ms_) RebuildRoutes();

  std::vector<BackendConnection*> idle_expired;
  for (BackendPool& pool : pools_) {
    pool.TakeExpiredIdle(now_ms_ - options_.config.idle_connection_timeout_ms, &idle_expired);
  }
  for (BackendConnection* connection : idle_expired) CloseConnection(connection);
}

void Worker::ExpireExchange(Exchange* exchange) {
  const std::string& label = pools_[exchange->server].server().label;
  switch (exchange->phase) {
    case Exchange::Phase::kWaitingForConnection: {
      std::deque<Exchange*>& waiting = pools_[exchange->server].waiting();
      waiting.erase(std::find(waiting.begin(), waiting.end(), exchange));
      LOG_WARN_THROTTLED("no connection to backend %s became free in time", label.c_str());
      FailExchange(exchange, 504, Outcome::kTimeout, "no connection to the backend became free in time", false);
      return;
    }
    case Exchange::Phase::kConnecting:
      LOG_WARN_THROTTLED("connect to backend %s timed out", label.c_str());
      if (exchange->connection) CloseConnection(exchange->connection);
      // Nothing was sent: an older version may answer instead.
      FailExchange(exchange, 504, Outcome::kTimeout, "connect to backend " + label + " timed out", true);
      return;
    case Exchange::Phase::kExchanging:
      LOG_WARN_THROTTLED("backend %s did not respond within %d ms", label.c_str(), options_.config.response_timeout_ms);
      if (exchange->connection) CloseConnection(exchange->connection);
      FailExchange(exchange, 504, Outcome::kTimeout, "the backend did not respond in time", false);
      return;
  }
}

// ---------------------------------------------------------------------------
// Shutdown.

void Worker::StartDrain() {
  draining_ = true;
  drain_deadline_ms_ = now_ms_ + options_.config.drain_timeout_ms;
  link_.SayBye();
  LOG_INFO("stopping: told the router, finishing %zu request(s) in flight", requests_.size());
}

void Worker::FailEverything(const std::string& detail) {
  waiting_for_capacity_.clear();
  waiting_for_config_.clear();
  while (!requests_.empty()) ReplyError(&requests_.front(), 503, detail);
}

}  // namespace upmesh::worker
