#include "router/router_server.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <vector>

#include "shared/clock.h"
#include "shared/frontend_list.h"
#include "shared/json_parse.h"
#include "shared/json_reader.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"
#include "shared/wire.h"
#include "shared/zmq_frame.h"

namespace upmesh::router {
namespace {

constexpr int kBatch = 256;
// A held GRADUAL ramp advances again once the new version was judged healthy this long.
constexpr int64_t kRampReleaseMs = 1000;

// Sends [peer][message] without blocking: false when the peer's queue is
// full; throws zmq::error_t when the peer is gone (ROUTER_MANDATORY).
template <typename Message>
bool SendToPeer(zmq::socket_t& socket, std::string_view peer, const Message& message) {
  Frames frames = wire::Encoded(message);
  return SendMultipart(socket, peer, frames);
}

ConnectionDeadlines::Settings ApiConnectionSettings(const RouterConfig& config) {
  ConnectionDeadlines::Settings settings;
  settings.request_timeout_ms = config.api_request_timeout_ms;
  settings.idle_timeout_ms = config.api_idle_timeout_ms;
  settings.max_connections = config.api_max_connections;
  return settings;
}


}  // namespace

RouterServer::RouterServer(const RouterConfig& config, const Cluster* initial, RouterSecurity security)
    : config_(config),
      has_initial_cluster_(initial != nullptr),
      initial_cluster_(initial ? *initial : Cluster()),
      security_(std::move(security)),
      context_(1),
      frontends_(context_, zmq::socket_type::router),
      workers_(context_, zmq::socket_type::router),
      workers_seen_(int64_t{config.heartbeat_ms} * config.heartbeat_liveness),
      frontend_endpoints_(std::max<int64_t>(int64_t{config.heartbeat_ms} * config.heartbeat_liveness, 1500)),
      clusters_(config.state_file, config.limits),
      publisher_(context_),
      api_(&clusters_, &monitor_, [this](uint64_t seq, const nlohmann::json& change) { OnConfigChange(seq, change); },
           config.backend_networks),
      listener_(context_, &api_, ApiConnectionSettings(config)),
      // Frontends ACK every kFrontendAckMs (frontend_server.cc); three missed make one silent.
      acks_(std::max<int64_t>(int64_t{config.heartbeat_ms} * config.heartbeat_liveness, 1500), config.ack_wait_ms) {
  listener_.DeferChangeAnswers([this] { return clusters_.seq(); });
  api_.CountWorkersWith([this] { return workers_seen_.size(); });
  api_.DescribePeersWith([this] { return DescribePeers(NowMs()); });
}

nlohmann::json RouterServer::DescribePeers(int64_t now) const {
  int64_t expiry_ms = int64_t{config_.heartbeat_ms} * config_.heartbeat_liveness;
  nlohmann::json workers = nlohmann::json::array();
  for (const WorkerState& worker : workers_seen_.workers()) {
    workers.push_back({{"id", worker.id},
                       {"capacity", worker.capacity},
                       {"draining", worker.draining},
                       {"served", clusters_.ServedBy(worker.id)},
                       {"heardMsAgo", std::max<int64_t>(0, expiry_ms - (worker.expires_at_ms - now))}});
  }
  nlohmann::json frontends = nlohmann::json::array();
  for (const auto& [id, seq] : acks_.AckedSeqs()) {
    frontends.push_back({{"id", id}, {"endpoint", frontend_endpoints_.EndpointOf(id)}, {"seq", seq}});
  }
  return {{"workers", std::move(workers)}, {"frontends", std::move(frontends)}};
}

Status RouterServer::Start() {
  bool loaded = false;
  UPMESH_RETURN_IF_ERROR(
      clusters_.Open(has_initial_cluster_ ? &initial_cluster_ : nullptr, WallClockMs(), &loaded));
  if (loaded) {
    LOG_INFO("state file %s loaded: %zu cluster(s), seq %llu%s", clusters_.state_file().c_str(),
             clusters_.table().clusters().size(), static_cast<unsigned long long>(clusters_.seq()),
             has_initial_cluster_ ? " (the configured initial cluster is ignored: the state file wins)" : "");
  } else {
    LOG_INFO("state file %s created: %zu cluster(s)", clusters_.state_file().c_str(),
             clusters_.table().clusters().size());
  }
  if (security_.curve.enabled()) {
    // Before any CURVE socket binds: without a handler libzmq lets everyone in.
    zap_ = std::make_unique<ZapAuthenticator>(context_, security_.allowed_client_keys);
    UPMESH_RETURN_IF_ERROR(zap_->Bind());
    handshakes_ = std::make_unique<HandshakeMonitor>(context_);
    UPMESH_RETURN_IF_ERROR(handshakes_->Watch(frontends_, "router.frontendBind"));
    UPMESH_RETURN_IF_ERROR(handshakes_->Watch(workers_, "router.workerBind"));
    UPMESH_RETURN_IF_ERROR(handshakes_->Watch(publisher_.socket(), "router.publishBind"));
  }
  if (!security_.api_token.empty()) listener_.RequireToken(security_.api_token);
  if (security_.api_tls) listener_.UseTls(security_.api_tls.get());
  for (zmq::socket_t* socket : {&frontends_, &workers_}) {
    ApplyCurveServer(*socket, security_.curve);
    socket->set(zmq::sockopt::router_mandatory, 1);
    socket->set(zmq::sockopt::sndhwm, 100000);
    socket->set(zmq::sockopt::rcvhwm, 100000);
    socket->set(zmq::sockopt::linger, 1000);
  }
  // A worker reconnecting with the same id replaces its stale connection.
  workers_.set(zmq::sockopt::router_handover, 1);
  frontends_.set(zmq::sockopt::router_handover, 1);
  try {
    frontends_.bind(config_.frontend_bind);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot bind " + config_.frontend_bind + " (router.frontendBind / --frontend-bind): " +
                           e.what());
  }
  try {
    workers_.bind(config_.worker_bind);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot bind " + config_.worker_bind + " (router.workerBind / --worker-bind): " + e.what());
  }
  UPMESH_RETURN_IF_ERROR(publisher_.Bind(config_.publish_bind, security_.curve));
  UPMESH_RETURN_IF_ERROR(listener_.Bind(config_.config_address, config_.config_port));
  LOG_INFO("frontends on %s, workers on %s", config_.frontend_bind.c_str(), config_.worker_bind.c_str());
  return Status::Ok();
}

void RouterServer::Run() {
  int64_t next_heartbeat = NowMs();
  for (;;) {
    // No request passes through the router: it has nothing to drain.
    if (ShutdownRequests() > 0) break;
    zmq::pollitem_t items[] = {{frontends_.handle(), 0, ZMQ_POLLIN, 0},
                               {workers_.handle(), 0, ZMQ_POLLIN, 0},
                               {listener_.handle(), 0, ZMQ_POLLIN, 0},
                               {zap_ ? zap_->handle() : nullptr, 0, ZMQ_POLLIN, 0}};
    int64_t wake = std::min<int64_t>(next_heartbeat, listener_.has_deferred() ? acks_.next_deadline_ms() : INT64_MAX);
    int64_t timeout = std::max<int64_t>(0, wake - NowMs());
    int ready = zmq_poll(items, zap_ ? 4 : 3, static_cast<long>(timeout));
    if (ready < 0 && zmq_errno() != EINTR) {
      LOG_ERROR("zmq_poll: %s", zmq_strerror(zmq_errno()));
      break;
    }
    if (ready > 0 && zap_ && (items[3].revents & ZMQ_POLLIN)) zap_->OnReadable(NowMs());
    if (ready > 0 && (items[1].revents & ZMQ_POLLIN)) ReadWorkers();
    if (ready > 0 && (items[0].revents & ZMQ_POLLIN)) ReadFrontends();
    if (ready > 0 && (items[2].revents & ZMQ_POLLIN)) listener_.OnReadable();
    int64_t now = NowMs();
    if (listener_.has_deferred()) ReleaseApiAnswers(now);
    if (now >= next_heartbeat) {
      SendHeartbeats();
      Sweep(now);
      if (handshakes_) handshakes_->Poll(now);
      next_heartbeat = now + config_.heartbeat_ms;
    }
  }
  LOG_INFO("stopped");
}

void RouterServer::ReadFrontends() {
  std::string frontend_id;
  Frames frames;
  int64_t now = NowMs();
  for (int i = 0; i < kBatch && ReceiveMultipart(frontends_, &frontend_id, &frames); ++i) {
    OnFrontendControl(frontend_id, frames, now);
  }
}

void RouterServer::OnFrontendControl(const std::string& frontend_id, const Frames& frames, int64_t now) {
  std::string_view command;
  Status status = wire::PeekCommand(frames, &command);
  if (status.ok() && command == wire::SnapshotRequest::kCommand) {
    wire::SnapshotRequest request;
    status = wire::SnapshotRequest::Decode(frames, &request);
    if (status.ok()) SendSnapshot(frontends_, frontend_id);
  } else if (status.ok() && command == wire::Ack::kCommand) {
    wire::Ack ack;
    status = wire::Ack::Decode(frames, &ack);
    if (status.ok()) OnAck(frontend_id, ack, now);
  } else if (status.ok() && command == wire::RampRequest::kCommand) {
    wire::RampRequest request;
    status = wire::RampRequest::Decode(frames, &request);
    if (status.ok()) SendRampLease(frontend_id, std::string(request.uuid), request.count);
  } else if (status.ok()) {
    status = Status::InvalidArgument("unknown command " + std::string(command));
  }
  if (!status.ok()) LOG_WARN_THROTTLED("frontend %s: dropped a message: %s", frontend_id.c_str(), status.message().c_str());
}

void RouterServer::OnAck(const std::string& frontend_id, const wire::Ack& ack, int64_t now) {
  bool known = acks_.IsLive(frontend_id);
  acks_.Heard(frontend_id, ack.seq, now);
  if (!ack.worker_endpoint.empty()) {
    std::string endpoint = AdvertisedEndpoint(std::string(ack.worker_endpoint), std::string(ack.peer_address));
    if (frontend_endpoints_.Heard(frontend_id, endpoint, now)) {
      LOG_INFO("frontend %s: workers reach it at %s", frontend_id.c_str(), endpoint.c_str());
      SendFrontendList();
    }
  }
  if (!known) {
    LOG_INFO("frontend %s joined the live set", frontend_id.c_str());
    // A frontend new to this router with another table (this router restarted,
    // perhaps without its state): it need not wait for a HUGZ to find out.
    if (ack.seq != clusters_.seq()) SendSnapshot(frontends_, frontend_id);
  }
  if (listener_.has_deferred()) ReleaseApiAnswers(now);
}

void RouterServer::SendRampLease(const std::string& frontend_id, const std::string& uuid, uint64_t wanted) {
  ClusterRegistry::Lease lease = clusters_.LeaseRamp(uuid, wanted, WallClockMs());
  try {
    if (!SendToPeer(frontends_, frontend_id, wire::Ramp{uuid, lease.first, lease.count})) {
      // Granted but not delivered: those positions are skipped, never handed out twice.
      LOG_WARN_THROTTLED("frontend %s: queue full, ramp lease dropped", frontend_id.c_str());
    }
  } catch (const zmq::error_t&) {
    LOG_DEBUG("ramp lease for a frontend that is gone");
  }
}

void RouterServer::ReleaseApiAnswers(int64_t now) {
  std::vector<std::string> dropped;
  uint64_t released = acks_.Released(clusters_.seq(), now, &dropped);
  for (const std::string& id : dropped) {
    LOG_WARN("frontend %s did not acknowledge a config change within %d ms: answering the API without it "
             "(it rejoins with its next acknowledgement)", id.c_str(), config_.ack_wait_ms);
  }
  listener_.ReleaseAnswers(released);
}

void RouterServer::ReadWorkers() {
  std::string worker_id;
  Frames frames;
  for (int i = 0; i < kBatch && ReceiveMultipart(workers_, &worker_id, &frames); ++i) {
    OnWorkerMessage(worker_id, frames);
  }
}

void RouterServer::OnWorkerMessage(const std::string& worker_id, const Frames& frames) {
  int64_t now = NowMs();
  std::string_view command;
  Status status = wire::PeekCommand(frames, &command);
  if (status.ok() && command == wire::Ready::kCommand) {
    wire::Ready ready;
    status = wire::Ready::Decode(frames, &ready);
    if (status.ok()) WorkerHeard(worker_id, ready.capacity, true, now);
  } else if (status.ok() && command == wire::WorkerHeartbeat::kCommand) {
    wire::WorkerHeartbeat heartbeat;
    status = wire::WorkerHeartbeat::Decode(frames, &heartbeat);
    if (status.ok() && heartbeat.has_stats) OnWorkerStats(worker_id, heartbeat.stats_json);
    if (status.ok()) WorkerHeard(worker_id, heartbeat.capacity, false, now);
  } else if (status.ok() && command == wire::Bye::kCommand) {
    wire::Bye bye;
    status = wire::Bye::Decode(frames, &bye);
    if (status.ok()) OnBye(worker_id, now);
  } else if (status.ok() && command == wire::Health::kCommand) {
    wire::Health health;
    status = wire::Health::Decode(frames, &health);
    if (status.ok()) status = OnHealth(worker_id, health.json, now);
  } else if (status.ok() && command == wire::SnapshotRequest::kCommand) {
    wire::SnapshotRequest request;
    status = wire::SnapshotRequest::Decode(frames, &request);
    if (status.ok()) SendSnapshot(workers_, worker_id);
  } else if (status.ok() && command == wire::Mismatch::kCommand) {
    wire::Mismatch mismatch;
    status = wire::Mismatch::Decode(frames, &mismatch);
    nlohmann::json report;
    if (status.ok()) status = ParseJson(mismatch.json, wire::kWorkerReportLimits, &report);
    if (status.ok()) status = clusters_.RecordMismatch(worker_id, report, WallClockMs());
    if (!status.ok()) status = Status::InvalidArgument("MISMATCH: " + status.message());
  } else if (status.ok()) {
    status = Status::InvalidArgument("unknown command " + std::string(command));
  }
  if (!status.ok()) LOG_WARN_THROTTLED("worker %s: %s", worker_id.c_str(), status.message().c_str());
}

void RouterServer::WorkerHeard(const std::string& worker_id, int capacity, bool ready, int64_t now) {
  bool joined = workers_seen_.Find(worker_id) == nullptr;
  WorkerState& worker = workers_seen_.Heard(worker_id, capacity, now);
  if (ready) worker.draining = false;
  if (joined) {
    LOG_INFO("worker %s joined (capacity %d)", worker_id.c_str(), capacity);
    SendFrontendList(worker_id);  // it need not wait a heartbeat to find the frontends
  }
}

void RouterServer::OnWorkerStats(const std::string& worker_id, std::string_view stats_json) {
  nlohmann::json stats;
  Status recorded = ParseJson(stats_json, wire::kWorkerReportLimits, &stats);
  recorded = recorded.ok() ? clusters_.RecordWorkerStats(worker_id, stats)
                           : Status::InvalidArgument("stats: " + recorded.message());
  if (!recorded.ok()) LOG_WARN_THROTTLED("worker %s: HB %s", worker_id.c_str(), recorded.message().c_str());
  if (auto seq = stats.find("seq"); recorded.ok() && seq != stats.end() && seq->is_number_unsigned()) {
    timelines_.WorkerAt(worker_id, seq->get<uint64_t>(), WallClockMs());
  }
}

void RouterServer::OnBye(const std::string& worker_id, int64_t now) {
  if (WorkerState* worker = workers_seen_.Find(worker_id)) {
    worker->draining = true;
    workers_seen_.Heard(worker_id, -1, now);
    LOG_INFO("worker %s is draining", worker_id.c_str());
  }
}

Status RouterServer::OnHealth(const std::string& worker_id, std::string_view report_json, int64_t now) {
  HealthReport report;
  if (Status decoded = DecodeHealthReport(report_json, &report); !decoded.ok()) return decoded;
  monitor_.Record(worker_id, report, clusters_.table(), now);
  timelines_.WorkerAt(worker_id, report.seq, WallClockMs());
  JudgeVersions(now);
  return Status::Ok();
}

void RouterServer::OnConfigChange(uint64_t seq, const nlohmann::json& change) {
  publisher_.PublishChange(seq, change);
  acks_.Changed(seq, NowMs());
  std::string op = change.value("op", "");
  if (op == "delete") monitor_.Forget(change.value("uuid", ""));
  // The API shows the new table's verdicts at once; a rollback it calls for
  // is made by the next JudgeVersions (not from inside this API call).
  (void)monitor_.Evaluate(clusters_.table(), NowMs());
  if (op == "rollback") {
    std::vector<std::string> workers;
    for (const WorkerState& worker : workers_seen_.workers()) workers.push_back(worker.id);
    timelines_.Start(change.value("uuid", ""), seq, workers, WallClockMs());
  }
}

void RouterServer::JudgeVersions(int64_t now) {
  int64_t now_wall = WallClockMs();
  if (std::optional<VersionMonitor::Decision> decision = monitor_.Evaluate(clusters_.table(), now)) {
    Status status = api_.RollBack(decision->uuid, decision->judgement.rule, decision->judgement.detail, now_wall);
    // On success the change listener (OnConfigChange) already judged the next candidate.
    if (!status.ok()) LOG_ERROR("cannot roll back cluster %s: %s", decision->uuid.c_str(), status.message().c_str());
  }
  // A GRADUAL ramp past its probe share advances only while the new version
  // is judged healthy: it holds at once, and advances again once the verdict
  // has stayed healthy for kRampReleaseMs (a verdict wavering at the edge of
  // minRequests does not toggle it on every report).
  const Cluster* newest = clusters_.table().NewestLive();
  bool healthy = newest && monitor_.VerdictOf(newest->uuid) == Health::kHealthy;
  if (!healthy) healthy_since_ms_ = 0;
  if (healthy && healthy_since_ms_ == 0) healthy_since_ms_ = now;
  bool hold = false;
  if (newest && newest->transition.mode == UpgradeMode::kGradual && newest->transition.monitor.enabled &&
      clusters_.table().Live().size() > 1) {
    bool released = healthy && (!clusters_.ramp_held() || now - healthy_since_ms_ >= kRampReleaseMs);
    hold = clusters_.GradualShare(now_wall) >= newest->transition.monitor.ramp_probe_percent && !released;
  }
  nlohmann::json change;
  Status held = clusters_.SetRampHold(hold, now_wall, &change);
  if (!held.ok()) LOG_WARN_THROTTLED("GRADUAL hold not changed: %s", held.message().c_str());
  // Frontends compute time ramps from the hold: it is broadcast like any change.
  if (!change.is_null()) publisher_.PublishChange(clusters_.seq(), change);
  FinishRollbackTimelines();
}

void RouterServer::FinishRollbackTimelines() {
  if (timelines_.empty()) return;
  for (RollbackTimelines::Finished& finished : timelines_.TakeFinished(WallClockMs())) {
    const nlohmann::json* stored = clusters_.RollbackRecord(finished.uuid);
    if (!stored) continue;  // deleted meanwhile
    nlohmann::json record = *stored;
    record["timeline"].update(finished.additions);
    Status status = clusters_.UpdateRollbackRecord(finished.uuid, record);
    if (!status.ok()) LOG_WARN("rollback record of %s not persisted: %s", finished.uuid.c_str(), status.message().c_str());
    // The evidence, whole, as one line for log collectors.
    LOG_WARN("rollback %s", record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  }
}

void RouterServer::SendSnapshot(zmq::socket_t& socket, const std::string& peer_id) {
  // The whole table at seq.
  uint64_t seq = clusters_.seq();
  try {
    if (!SendToPeer(socket, peer_id, wire::Snapshot{seq, clusters_.SnapshotJson()})) {
      LOG_WARN("%s: queue full, snapshot not sent (it will ask again)", peer_id.c_str());
      return;
    }
    LOG_DEBUG("%s: snapshot at seq %llu", peer_id.c_str(), static_cast<unsigned long long>(seq));
  } catch (const zmq::error_t&) {
    LOG_DEBUG("snapshot for a peer that is gone");
  }
}

void RouterServer::SendHeartbeats() {
  publisher_.PublishHeartbeat(clusters_.seq());
  SendFrontendList();  // the workers' heartbeat (Paranoid Pirate)
}

void RouterServer::SendFrontendList(const std::string& only_worker) {
  std::string list = EncodeFrontendList(frontend_endpoints_.Endpoints());
  std::vector<std::string> unreachable;
  for (const WorkerState& worker : workers_seen_.workers()) {
    if (!only_worker.empty() && worker.id != only_worker) continue;
    try {
      (void)SendToPeer(workers_, worker.id, wire::Frontends{list});
    } catch (const zmq::error_t&) {
      unreachable.push_back(worker.id);
    }
  }
  for (const std::string& id : unreachable) WorkerGone(id, "disconnected");
}

void RouterServer::WorkerGone(const std::string& worker_id, const char* why) {
  workers_seen_.Remove(worker_id);
  timelines_.WorkerLost(worker_id);
  monitor_.ForgetWorker(worker_id);
  LOG_INFO("worker %s left (%s)", worker_id.c_str(), why);
}

void RouterServer::Sweep(int64_t now) {
  for (const std::string& id : acks_.Expire(now)) LOG_INFO("frontend %s left the live set (silent)", id.c_str());
  if (frontend_endpoints_.Expire(now)) SendFrontendList();
  for (const std::string& id : workers_seen_.Expired(now)) WorkerGone(id, "silent");
  if (listener_.has_deferred()) ReleaseApiAnswers(now);
  listener_.Sweep(now);
  JudgeVersions(now);
  if (no_workers_warning_.Due(workers_seen_.size() == 0, now)) {
    LOG_WARN("no worker attached for %lld s; workers connect to %s (router.workerBind / --worker-bind)",
             static_cast<long long>(no_workers_warning_.waited_ms(now) / 1000), config_.worker_bind.c_str());
  }
}

}  // namespace upmesh::router
