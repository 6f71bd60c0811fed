#include "frontend/frontend_server.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "frontend/upstream_head.h"
#include "shared/clock.h"
#include "shared/gradual_ramp.h"
#include "shared/http_fields.h"
#include "shared/json_reader.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"
#include "shared/wire.h"

namespace upmesh::frontend {
namespace {

constexpr int kSweepIntervalMs = 100;
constexpr int kOutboxRetryMs = 2;
constexpr int kBatch = 256;  // messages read per socket per wakeup, so neither side starves
// Input buffered while a connection's pipeline is full; past this the client
// is sending faster than we answer and the connection is closed.
constexpr size_t kMaxUnparsedBytes = 4 * 1024 * 1024;
// Lingering close: time for the last response to leave before the close,
// plus 100 ms per MiB still queued (see the class comment).
constexpr int64_t kLingerMs = 200;

std::string EncodeRequestId(uint64_t id) {
  std::string bytes(wire::kRequestIdSize, '\0');
  std::memcpy(&bytes[0], &id, sizeof id);
  return bytes;
}

uint64_t DecodeRequestId(std::string_view bytes) {
  uint64_t id = 0;  // 0 is never used: a malformed id matches no request
  if (bytes.size() == wire::kRequestIdSize) std::memcpy(&id, bytes.data(), sizeof id);
  return id;
}

void MarkAnswered(ResponseSlot& slot, int status, const std::string& detail) {
  http::SimpleResponse response = http::MakeSimpleResponse(status, detail);
  slot.head = std::move(response.head);
  slot.body = zmq::message_t(response.body.data(), response.body.size());
  slot.ready = true;
  slot.status = status;
  slot.generated = true;
}

std::string BindEndpoint(const FrontendConfig& config) {
  bool ipv6 = config.address.find(':') != std::string::npos;
  return "tcp://" + (ipv6 ? "[" + config.address + "]" : config.address) + ":" + std::to_string(config.port);
}

}  // namespace

FrontendServer::FrontendServer(const FrontendConfig& config, FrontendSecurity security)
    : config_(config),
      security_(std::move(security)),
      context_(1),
      clients_(context_, zmq::socket_type::stream),
      router_(context_, zmq::socket_type::dealer),
      dispatch_(context_, config_,
                [this](wire::Reply& reply) { OnReply(reply); }),
      subscriber_(&context_, config.config_endpoint, security_.curve) {
  if (config_.worker_advertise.empty()) config_.worker_advertise = config_.worker_bind;
  limits_.max_header_bytes = config.max_header_bytes;
  limits_.max_target_bytes = config.max_target_bytes;
  limits_.max_body_bytes = config.max_body_bytes;
}

Status FrontendServer::Start() {
  char host[256] = "frontend";
  gethostname(host, sizeof host - 1);
  std::string identity = std::string("frontend-") + host + "-" + std::to_string(getpid());
  // A fixed id: the router knows this frontend again after a reconnect.
  router_.set(zmq::sockopt::routing_id, identity);
  ApplyCurveClient(router_, security_.curve);
  // No router connected: control messages are refused at once and sent again later.
  router_.set(zmq::sockopt::immediate, 1);
  router_.set(zmq::sockopt::sndhwm, 100000);
  router_.set(zmq::sockopt::rcvhwm, 100000);
  router_.set(zmq::sockopt::linger, 1000);
  router_.set(zmq::sockopt::reconnect_ivl, 100);
  router_.set(zmq::sockopt::reconnect_ivl_max, 1000);
  try {
    router_.connect(config_.router_endpoint);
  } catch (const zmq::error_t& e) {
    return Status::InvalidArgument("frontend.routerEndpoint \"" + config_.router_endpoint + "\": " + e.what());
  }

  if (security_.worker_curve.enabled()) {
    // Before the CURVE socket binds: without a handler libzmq lets everyone in.
    zap_ = std::make_unique<ZapAuthenticator>(context_, security_.allowed_client_keys);
    UPMESH_RETURN_IF_ERROR(zap_->Bind());
    handshakes_ = std::make_unique<HandshakeMonitor>(context_);
    UPMESH_RETURN_IF_ERROR(handshakes_->Watch(dispatch_.socket(), "frontend.workerBind"));
  }
  UPMESH_RETURN_IF_ERROR(dispatch_.Bind(security_.worker_curve));

  Status subscribed = subscriber_.Open();
  if (!subscribed.ok()) return Status::InvalidArgument("frontend.configEndpoint: " + subscribed.message());
  follower_.Start(NowMs());

  std::string endpoint = BindEndpoint(config_);
  if (config_.address.find(':') != std::string::npos) clients_.set(zmq::sockopt::ipv6, 1);
  clients_.set(zmq::sockopt::sndhwm, 64);  // messages per client; beyond it sends return EAGAIN -> outbox
  clients_.set(zmq::sockopt::rcvhwm, 1000);
  clients_.set(zmq::sockopt::linger, 2000);
  clients_.set(zmq::sockopt::backlog, 1024);
  try {
    clients_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot listen on " + endpoint + " (proxy.address / proxy.port, --address / --port): " +
                           e.what());
  }
  if (config_.metrics.port != 0) {
    metrics_ = std::make_unique<MetricsEndpoint>(&context_, [this] { return MetricsPage(); });
    UPMESH_RETURN_IF_ERROR(metrics_->Bind(config_.metrics.address, config_.metrics.port));
    LOG_INFO("metrics on %s:%u", config_.metrics.address.c_str(), static_cast<unsigned>(config_.metrics.port));
  }
  LOG_INFO("listening on %s, workers on %s (advertised as %s), router %s, config broadcast %s", endpoint.c_str(),
           config_.worker_bind.c_str(), config_.worker_advertise.c_str(), config_.router_endpoint.c_str(),
           config_.config_endpoint.c_str());
  return Status::Ok();
}

void FrontendServer::Run() {
  int64_t next_sweep = NowMs() + kSweepIntervalMs;
  for (;;) {
    int signals = ShutdownRequests();
    if (signals > 0 && !draining_) BeginDrain();
    if (signals > 1) {
      LOG_WARN("second signal: exiting without waiting for %zu request(s)", pending_.size());
      break;
    }
    if (draining_ && (Drained() || NowMs() >= drain_deadline_ms_)) {
      if (!Drained()) LOG_WARN("drain timeout: %zu request(s) unanswered", pending_.size());
      break;
    }

    // The optional sockets last, each only when present (a null socket would poll fd 0).
    zmq::pollitem_t items[6] = {{clients_.handle(), 0, ZMQ_POLLIN, 0},
                                {router_.handle(), 0, ZMQ_POLLIN, 0},
                                {subscriber_.handle(), 0, ZMQ_POLLIN, 0},
                                {dispatch_.socket().handle(), 0, ZMQ_POLLIN, 0}};
    int polled = 4;
    const int zap_item = zap_ ? polled++ : -1;
    if (zap_) items[zap_item] = {zap_->handle(), 0, ZMQ_POLLIN, 0};
    const int metrics_item = metrics_ ? polled++ : -1;
    if (metrics_) items[metrics_item] = {metrics_->socket().handle(), 0, ZMQ_POLLIN, 0};
    int64_t wake = std::min({next_sweep, next_ack_ms_, follower_.next_snapshot_ms(), dispatch_.next_tick_ms(),
                             awaiting_position_.empty() ? INT64_MAX : awaiting_position_.front().since_ms + kPositionWaitMs});
    int64_t timeout = blocked_.empty() ? std::max<int64_t>(0, wake - NowMs()) : kOutboxRetryMs;
    int ready = zmq_poll(items, polled, static_cast<long>(timeout));
    if (ready < 0 && zmq_errno() != EINTR) {
      LOG_ERROR("zmq_poll: %s", zmq_strerror(zmq_errno()));
      break;
    }
    if (ready > 0) {
      if (zap_ && (items[zap_item].revents & ZMQ_POLLIN)) zap_->OnReadable(NowMs());
      if (metrics_ && (items[metrics_item].revents & ZMQ_POLLIN)) metrics_->HandleReadable(NowMs());
      // The config first: requests read with an update already waiting are stamped with it.
      if (items[2].revents & ZMQ_POLLIN) ReadConfig();
      // Workers before clients: replies free capacity for the requests that follow.
      if (items[3].revents & ZMQ_POLLIN) dispatch_.OnReadable(NowMs());
      if (items[0].revents & ZMQ_POLLIN) ReadClients();
      if (items[1].revents & ZMQ_POLLIN) ReadRouter();
    }
    if (!blocked_.empty()) RetryOutboxes();
    int64_t now = NowMs();
    ControlTick(now);
    dispatch_.Tick(now);
    if (now >= next_sweep) {
      if (handshakes_) handshakes_->Poll(now);
      if (metrics_) metrics_->Sweep(now);
      Sweep(now);
      next_sweep = now + kSweepIntervalMs;
    }
  }
  LOG_INFO("stopped");
}

void FrontendServer::ReadClients() {
  for (int i = 0; i < kBatch; ++i) {
    zmq::message_t id;
    if (!clients_.recv(id, zmq::recv_flags::dontwait)) return;
    zmq::message_t data;
    (void)clients_.recv(data);  // a STREAM message is always [id][data]
    std::string routing_id(static_cast<const char*>(id.data()), id.size());
    auto it = connections_.find(routing_id);
    if (data.size() == 0) {
      // Empty data: a connect notification for a new id, a hang-up for a known one.
      if (it == connections_.end()) {
        OnClientConnected(routing_id, data);
      } else {
        ForgetConnection(routing_id);
      }
      continue;
    }
    if (it == connections_.end()) continue;  // data racing a close we asked for
    OnClientData(*it->second, static_cast<const char*>(data.data()), data.size());
  }
}

void FrontendServer::OnClientConnected(const std::string& routing_id, zmq::message_t& notification) {
  if (draining_) {
    zmq::message_t empty;
    zmq::message_t id(routing_id.data(), routing_id.size());
    (void)clients_.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    (void)clients_.send(empty, zmq::send_flags::dontwait);
    return;
  }
  auto connection = std::make_unique<ClientConnection>(limits_);
  connection->routing_id = routing_id;
  const char* peer = zmq_msg_gets(notification.handle(), "Peer-Address");
  connection->client_ip = peer ? peer : "unknown";
  connection->last_activity_ms = NowMs();
  connections_.emplace(routing_id, std::move(connection));
}

void FrontendServer::ForgetConnection(const std::string& routing_id) {
  auto it = connections_.find(routing_id);
  if (it == connections_.end()) return;
  // Replies still on their way for this connection will find no pending entry and be dropped.
  for (const ResponseSlot& slot : it->second->slots) pending_.erase(slot.request_id);
  blocked_.erase(routing_id);
  connections_.erase(it);
}

void FrontendServer::OnClientData(ClientConnection& connection, const char* data, size_t len) {
  if (connection.reading_stopped) return;  // refused or closing: the rest is discarded
  connection.last_activity_ms = NowMs();
  if (connection.unparsed.empty()) {
    size_t consumed = FeedRequests(connection, data, len);
    if (!connection.reading_stopped) connection.unparsed.assign(data + consumed, len - consumed);
  } else {
    connection.unparsed.append(data, len);
  }
  if (connection.unparsed.size() > kMaxUnparsedBytes) {
    LOG_WARN_THROTTLED("client %s: %zu bytes waiting behind a full pipeline; closing", connection.client_ip.c_str(),
             connection.unparsed.size());
    connection.unparsed.clear();
    connection.reading_stopped = true;
    if (connection.slots.empty()) StartClosing(connection, 0);
    else if (connection.held) connection.held->keep_alive = false;  // close once it is answered
    else connection.slots.back().close_after = true;
  }
  Pump(connection);
}

// RFC 9112 9.3.2: pipelined requests may be processed in parallel only while
// they all have safe methods. An unsafe request goes to the mesh once every
// earlier one is answered, and the requests after it once it is answered.
bool FrontendServer::MayDispatch(const ClientConnection& connection, const http::Request& request) const {
  for (const ResponseSlot& slot : connection.slots) {
    if (!slot.ready && (slot.unsafe || !request.safe)) return false;
  }
  return true;
}

void FrontendServer::DispatchHeld(ClientConnection& connection) {
  if (!connection.held || !MayDispatch(connection, *connection.held)) return;
  http::Request request = std::move(*connection.held);
  connection.held.reset();
  Dispatch(connection, std::move(request));
}

void FrontendServer::Pump(ClientConnection& connection) {
  do {
    DispatchHeld(connection);
    if (!connection.unparsed.empty() && !connection.reading_stopped) {
      size_t consumed = FeedRequests(connection, connection.unparsed.data(), connection.unparsed.size());
      connection.unparsed.erase(0, consumed);
    }
  } while (FlushReadySlots(connection));
}

size_t FrontendServer::FeedRequests(ClientConnection& connection, const char* data, size_t len) {
  size_t offset = 0;
  http::RequestReader& reader = connection.reader;
  while (offset < len && !connection.reading_stopped && !connection.held &&
         connection.slots.size() < static_cast<size_t>(config_.max_pipelined)) {
    offset += reader.Feed(data + offset, len - offset);
    int64_t now = NowMs();
    if (reader.in_progress() && connection.message_start_ms == 0) connection.message_start_ms = now;
    if (reader.reading_body() && connection.body_start_ms == 0) connection.body_start_ms = now;
    if (reader.failed()) {
      LOG_INFO_THROTTLED("client %s: %d %s", connection.client_ip.c_str(), reader.error_status(),
               reader.error_detail().c_str());
      RespondLocally(connection, reader.error_status(), reader.error_detail(), /*close_after=*/true);
      return len;
    }
    if (reader.TakeContinueRequest() && connection.slots.empty()) {
      // Only when no earlier response is owed: interim responses must not jump the queue.
      SendToClient(connection, zmq::message_t(std::string_view("HTTP/1.1 100 Continue\r\n\r\n")));
    }
    if (reader.request_ready()) {
      connection.message_start_ms = 0;
      connection.body_start_ms = 0;
      http::Request request = reader.TakeRequest();
      if (MayDispatch(connection, request)) {
        Dispatch(connection, std::move(request));
      } else {
        connection.held = std::move(request);
      }
    }
  }
  return offset;
}

void FrontendServer::Dispatch(ClientConnection& connection, http::Request request) {
  ResponseSlot slot;
  slot.request_id = next_request_id_++;
  slot.http10 = request.version_minor == 0;
  slot.is_head = request.is_head;
  slot.unsafe = !request.safe;
  slot.close_after = !request.keep_alive || draining_;
  slot.sent_at_ms = NowMs();
  if (slot.close_after) connection.reading_stopped = true;  // nothing after this request will be answered
  uint64_t request_id = slot.request_id;
  connection.slots.push_back(std::move(slot));
  pending_.emplace(request_id, &connection);
  if (MustWaitForPosition(connection.slots.back().sent_at_ms)) {
    ramp_.Want();
    awaiting_position_.push_back({request_id, std::move(request), connection.client_ip, NowMs()});
    AskForRamp(NowMs());
    return;
  }
  SendToWorkers(request_id, request, connection.client_ip);
}

bool FrontendServer::PositionNeeded() const {
  const Cluster* newest = follower_.replica().table().NewestLive();
  return newest && newest->uuid == ramp_.uuid() && !newest->ramp_hold.held() && ramp_.Starved();
}

bool FrontendServer::MustWaitForPosition(int64_t now) const {
  if (!awaiting_position_.empty()) return true;
  return now >= position_wait_off_until_ms_ && PositionNeeded();
}

void FrontendServer::SendAwaiting(int64_t now) {
  while (!awaiting_position_.empty()) {
    AwaitingPosition& next = awaiting_position_.front();
    auto it = pending_.find(next.request_id);
    if (it == pending_.end()) {  // the client left, or it was answered 504
      awaiting_position_.pop_front();
      continue;
    }
    if (PositionNeeded()) {
      if (now - next.since_ms < kPositionWaitMs) return;
      LOG_WARN_THROTTLED("no GRADUAL ramp lease from the router within %lld ms: sending with the last share",
                         static_cast<long long>(kPositionWaitMs));
      position_wait_off_until_ms_ = now + RampLease::kAnswerWaitMs;
    }
    AwaitingPosition request = std::move(next);
    awaiting_position_.pop_front();
    SendToWorkers(request.request_id, request.request, request.client_ip);
  }
}

void FrontendServer::SendToWorkers(uint64_t request_id, const http::Request& request, const std::string& client_ip) {
  wire::RequestMeta meta;
  if (request.idempotent) meta.flags |= wire::RequestMeta::kIdempotent;
  if (request.safe) meta.flags |= wire::RequestMeta::kSafe;
  if (request.is_head) meta.flags |= wire::RequestMeta::kHeadMethod;
  if (http::FindField(request.fields, "host")) meta.flags |= wire::RequestMeta::kHasHost;
  wire::Request message;
  message.request_id = Frame(EncodeRequestId(request_id));
  message.meta = meta;
  message.stamp = Stamp();
  message.head = Frame(BuildUpstreamHead(request, client_ip));
  message.body = Frame(request.body);
  dispatch_.Submit(std::move(message), request.idempotent, NowMs());
}

void FrontendServer::RespondLocally(ClientConnection& connection, int status, const std::string& detail,
                                    bool close_after) {
  ResponseSlot slot;
  slot.request_id = next_request_id_++;
  MarkAnswered(slot, status, detail);
  slot.close_after = close_after;
  if (close_after) {
    connection.reading_stopped = true;
    connection.unparsed.clear();
  }
  connection.slots.push_back(std::move(slot));
}

void FrontendServer::ReadRouter() {
  Frames frames;
  for (int i = 0; i < kBatch && ReceiveMultipart(router_, &frames); ++i) {
    std::string_view command;
    Status status = wire::PeekCommand(frames, &command);
    if (status.ok() && command == wire::Snapshot::kCommand) {
      if (follower_.OnSnapshot(frames)) ConfigApplied();  // it logs what it refuses
    } else if (status.ok() && command == wire::Ramp::kCommand) {
      wire::Ramp ramp;
      status = wire::Ramp::Decode(frames, &ramp);
      if (status.ok()) OnRampGrant(ramp);
    } else if (status.ok()) {
      status = Status::InvalidArgument("unknown command " + std::string(command));
    }
    if (!status.ok()) LOG_WARN_THROTTLED("dropping a message from the router: %s", status.message().c_str());
  }
}

void FrontendServer::ReadConfig() {
  Frames frames;
  bool changed = false;
  while (subscriber_.Receive(&frames)) changed = follower_.OnBroadcast(frames, NowMs()) || changed;
  if (changed) ConfigApplied();
}

void FrontendServer::ConfigApplied() {
  const Cluster* newest = follower_.replica().table().NewestLive();
  if (newest && IsRequestRamp(*newest)) {
    ramp_.Follow(newest->uuid, RequestRampLength(newest->transition.percentage_per_request));
  } else {
    ramp_.Follow("", 0);
  }
  SendAck();
  SendAwaiting(NowMs());  // the ramp may be held, done, or another one now
}

void FrontendServer::OnRampGrant(const wire::Ramp& ramp) {
  int64_t now = NowMs();
  ramp_.OnGrant(std::string(ramp.uuid), ramp.first, ramp.count, now);
  SendAwaiting(now);
  AskForRamp(now);
}

template <typename Message>
bool FrontendServer::SendControl(const Message& message) {
  Frames frames = wire::Encoded(message);
  // Refused when no router is connected (ZMQ_IMMEDIATE).
  return SendMultipart(router_, frames);
}

void FrontendServer::SendAck() {
  // Refused: the next interval says it again.
  (void)SendControl(wire::Ack{follower_.seq(), config_.worker_advertise, {}});
  next_ack_ms_ = NowMs() + kAckIntervalMs;
}

void FrontendServer::AskForRamp(int64_t now) {
  if (!ramp_.AskDue(now)) return;
  (void)SendControl(wire::RampRequest{ramp_.uuid(), kMaxRampLease});  // unanswered: asked again later
}

void FrontendServer::ControlTick(int64_t now) {
  if (follower_.SnapshotDue(now) && !SendControl(wire::SnapshotRequest{})) {
    follower_.SnapshotRefused(now);  // no router connected yet (ZMQ_IMMEDIATE)
  }
  if (now >= next_ack_ms_) SendAck();
  if (!awaiting_position_.empty()) SendAwaiting(now);
  AskForRamp(now);
}

wire::RouteStamp FrontendServer::Stamp() {
  wire::RouteStamp stamp;
  stamp.config_seq = follower_.seq();
  const Cluster* newest = follower_.replica().table().NewestLive();
  if (!newest || newest->transition.mode != UpgradeMode::kGradual) return stamp;
  // A held ramp does not advance: the last position again.
  uint64_t position = ramp_.uuid() == newest->uuid && !newest->ramp_hold.held() ? ramp_.Take() : ramp_.last();
  stamp.gradual_share_micros = ShareMicros(GradualShare(newest, position, newest->ramp_hold, WallClockMs()));
  return stamp;
}

void FrontendServer::OnReply(wire::Reply& reply) {
  uint64_t request_id = DecodeRequestId(View(reply.request_id));
  auto it = pending_.find(request_id);
  if (it == pending_.end()) return;  // client gone or already answered 504
  ClientConnection& connection = *it->second;
  pending_.erase(it);
  for (ResponseSlot& slot : connection.slots) {
    if (slot.request_id != request_id) continue;
    slot.head.assign(static_cast<const char*>(reply.head.data()), reply.head.size());
    slot.body = std::move(reply.body);
    slot.ready = true;
    slot.status = reply.meta.status;
    slot.generated = (reply.meta.flags & wire::ReplyMeta::kGenerated) != 0;
    break;
  }
  Pump(connection);
}

bool FrontendServer::FlushReadySlots(ClientConnection& connection) {
  bool progressed = false;
  while (!connection.slots.empty() && connection.slots.front().ready) {
    ResponseSlot& slot = connection.slots.front();
    responses_.Count(slot.status, slot.generated);
    std::string head = std::move(slot.head);
    if (slot.close_after) {
      head.append("Connection: close\r\n");
    } else if (slot.http10) {
      head.append("Connection: keep-alive\r\n");
    }
    head.append("\r\n");
    size_t bytes = head.size();
    SendToClient(connection, zmq::message_t(head.data(), head.size()));
    if (slot.body.size() > 0 && !slot.is_head) {
      bytes += slot.body.size();
      SendToClient(connection, std::move(slot.body));
    }
    bool close_after = slot.close_after;
    connection.slots.pop_front();
    connection.last_activity_ms = NowMs();
    progressed = true;
    if (close_after) {
      StartClosing(connection, bytes);
      for (const ResponseSlot& dropped : connection.slots) pending_.erase(dropped.request_id);
      connection.slots.clear();
      connection.held.reset();
      return false;
    }
  }
  if (draining_ && connection.slots.empty() && !connection.held && !connection.close_at_ms) {
    StartClosing(connection, 0);
  }
  return progressed;
}

bool FrontendServer::TrySend(const std::string& routing_id, zmq::message_t& message) {
  try {
    if (!clients_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return false;  // this client's pipe is full
    }
    (void)clients_.send(message, zmq::send_flags::dontwait);
  } catch (const zmq::error_t&) {
    // EHOSTUNREACH: the client is gone; its hang-up notification is on its way.
  }
  return true;
}

void FrontendServer::SendToClient(ClientConnection& connection, zmq::message_t message) {
  if (connection.outbox.empty() && TrySend(connection.routing_id, message)) return;
  connection.outbox.push_back(std::move(message));
  blocked_.insert(connection.routing_id);
}

void FrontendServer::RetryOutboxes() {
  for (auto it = blocked_.begin(); it != blocked_.end();) {
    auto found = connections_.find(*it);
    if (found == connections_.end()) {
      it = blocked_.erase(it);
      continue;
    }
    ClientConnection& connection = *found->second;
    while (!connection.outbox.empty() && TrySend(connection.routing_id, connection.outbox.front())) {
      connection.outbox.pop_front();
    }
    it = connection.outbox.empty() ? blocked_.erase(it) : std::next(it);
  }
}

void FrontendServer::StartClosing(ClientConnection& connection, size_t bytes_just_sent) {
  connection.reading_stopped = true;
  connection.unparsed.clear();
  int64_t linger = kLingerMs + static_cast<int64_t>(bytes_just_sent / (10 * 1024 * 1024)) * 1000;
  connection.close_at_ms = NowMs() + linger;
}

void FrontendServer::CloseNow(const std::string& routing_id) {
  zmq::message_t empty;
  TrySend(routing_id, empty);
  ForgetConnection(routing_id);
}

void FrontendServer::Sweep(int64_t now) {
  std::vector<std::string> to_close;
  for (auto& [routing_id, connection_ptr] : connections_) {
    ClientConnection& connection = *connection_ptr;
    if (connection.close_at_ms) {
      if (now >= connection.close_at_ms && connection.outbox.empty()) to_close.push_back(routing_id);
      continue;
    }
    bool answered = false;  // a slot or a refusal became ready: flush it
    for (ResponseSlot& slot : connection.slots) {
      if (!slot.ready && now - slot.sent_at_ms > config_.reply_timeout_ms) {
        answered = true;
        pending_.erase(slot.request_id);
        MarkAnswered(slot, 504, "no reply from the mesh in time");
      }
    }
    http::RequestReader& reader = connection.reader;
    if (!connection.reading_stopped && reader.in_progress() && connection.message_start_ms) {
      bool late_head = !reader.reading_body() && now - connection.message_start_ms > config_.header_timeout_ms;
      bool late_body = reader.reading_body() && now - connection.body_start_ms > config_.body_timeout_ms;
      if (late_head || late_body) {
        answered = true;
        RespondLocally(connection, 408, late_head ? "header section not received in time" : "body not received in time",
                       /*close_after=*/true);
      }
    } else if (connection.slots.empty() && !reader.in_progress() &&
               now - connection.last_activity_ms > config_.idle_timeout_ms) {
      to_close.push_back(routing_id);  // idle keep-alive connection
      continue;
    }
    if (answered) Pump(connection);
  }
  for (const std::string& routing_id : to_close) CloseNow(routing_id);
}

void FrontendServer::BeginDrain() {
  draining_ = true;
  drain_deadline_ms_ = NowMs() + config_.drain_timeout_ms;
  LOG_INFO("draining: %zu connection(s), %zu request(s) in flight", connections_.size(), pending_.size());
  for (auto& [routing_id, connection] : connections_) {
    connection->reading_stopped = true;
    connection->unparsed.clear();
    if (connection->held) {
      // Dispatch() closes after it, since draining_ is set.
    } else if (connection->slots.empty()) {
      if (!connection->close_at_ms) StartClosing(*connection, 0);
    } else {
      connection->slots.back().close_after = true;
    }
  }
}

bool FrontendServer::Drained() const {
  for (const auto& [routing_id, connection] : connections_) {
    if (!connection->slots.empty() || connection->held || !connection->outbox.empty()) return false;
  }
  return true;
}

std::string FrontendServer::MetricsPage() const {
  using Type = MetricsText::Type;
  MetricsText out;
  out.Family("upmesh_frontend_connections", Type::kGauge, "Client connections open.");
  out.Gauge({}, static_cast<double>(connections_.size()));
  responses_.Render(&out);
  out.Family("upmesh_frontend_requests_in_flight", Type::kGauge, "Requests sent to workers and not answered yet.");
  out.Gauge({}, static_cast<double>(pending_.size()));
  out.Family("upmesh_frontend_requests_queued", Type::kGauge,
             "Requests waiting for a worker with free capacity (frontend.maxQueued).");
  out.Gauge({}, static_cast<double>(dispatch_.queued()));
  out.Family("upmesh_workers", Type::kGauge, "Workers this frontend sees alive.");
  out.Gauge({}, static_cast<double>(dispatch_.workers()));
  out.Family("upmesh_config_seq", Type::kGauge, "The config seq of this frontend's cluster table.");
  out.Gauge({}, static_cast<double>(follower_.seq()));
  out.Family("upmesh_build_info", Type::kGauge, "Always 1; this frontend's upmesh version.");
  out.Gauge({{"version", UPMESH_VERSION}}, 1);
  return out.text();
}

}  // namespace upmesh::frontend
