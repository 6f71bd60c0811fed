#include "worker/worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "shared/clock.h"
#include "shared/http_fields.h"
#include "shared/log.h"
#include "shared/shutdown_signal.h"
#include "shared/wire.h"

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

}  // namespace

Worker::Worker(WorkerOptions options)
    : options_(std::move(options)),
      context_(1),
      link_(&context_, RouterLink::Options{options_.config.router_endpoint, options_.name,
                                           options_.config.capacity, options_.config.heartbeat_ms,
                                           options_.config.heartbeat_liveness}),
      read_buffer_(new char[kReadBufferBytes]) {
  for (const BackendServer& server : options_.servers) {
    pools_.emplace_back(server, options_.config.max_connections_per_server);
  }
}

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
  next_sweep_ms_ = now_ms_ + kSweepIntervalMs;
  LOG_INFO("worker %s: router %s, %zu backend server(s), capacity %d", options_.name.c_str(),
           options_.config.router_endpoint.c_str(), pools_.size(), options_.config.capacity);

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
      if (exchanges_.empty()) break;
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
    // Last before waiting: ZMQ_FD only signals changes, so everything that
    // is already readable must be taken now (this also covers every send
    // made above and while handling the previous batch).
    bool more_from_router = false;
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
    for (BackendPool& pool : pools_) pool.FreeRetired();
  }
  for (BackendPool& pool : pools_) pool.FreeRetired();
  return Status::Ok();
}

int Worker::EpollTimeoutMs(bool more_waiting) const {
  if (more_waiting) return 0;
  int64_t wake = std::min(next_sweep_ms_, link_.next_tick_ms());
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
  LOG_WARN("dropped a router message with unknown command \"%.*s\"", static_cast<int>(command.size()),
           command.data());
}

void Worker::AcceptRequest(std::vector<zmq::message_t>& frames) {
  // [UPM1][REQ][frontend-id][request-id][request-meta][head][body]
  wire::RequestMeta meta;
  if (frames.size() != 7) {
    LOG_WARN("dropped a malformed REQ: %zu frames, expected 7", frames.size());
    return;
  }
  if (frames[3].size() != wire::kRequestIdSize || !wire::RequestMeta::Decode(View(frames[4]), &meta) ||
      frames[5].size() == 0) {
    LOG_WARN("dropped a malformed REQ: bad request-id, request-meta or empty head");
    return;
  }
  exchanges_.emplace_back();
  Exchange* exchange = &exchanges_.back();
  exchange->self = std::prev(exchanges_.end());
  exchange->frontend_id = std::move(frames[2]);
  exchange->request_id = std::move(frames[3]);
  exchange->meta = meta;
  exchange->head = std::move(frames[5]);
  exchange->body = std::move(frames[6]);
  exchange->server = next_server_;
  next_server_ = (next_server_ + 1) % pools_.size();

  size_t in_progress = exchanges_.size() - 1 - waiting_for_capacity_.size();
  if (in_progress < static_cast<size_t>(options_.config.capacity)) {
    Dispatch(exchange, /*fresh_connection=*/false);
  } else {
    exchange->phase = Exchange::Phase::kWaitingForCapacity;
    exchange->deadline_ms = now_ms_ + options_.config.response_timeout_ms;
    waiting_for_capacity_.push_back(exchange);
  }
}

void Worker::AdmitWaitingForCapacity() {
  while (!waiting_for_capacity_.empty() &&
         exchanges_.size() - waiting_for_capacity_.size() < static_cast<size_t>(options_.config.capacity)) {
    Exchange* exchange = waiting_for_capacity_.front();
    waiting_for_capacity_.pop_front();
    Dispatch(exchange, /*fresh_connection=*/false);
  }
}

void Worker::SendReply(Exchange* exchange, int status, bool generated, const std::string& head,
                       std::string body) {
  wire::ReplyMeta meta;
  meta.status = static_cast<uint16_t>(status);
  meta.flags = generated ? wire::ReplyMeta::kGenerated : 0;
  zmq::message_t frames[7] = {Frame(wire::kSignature),
                              Frame(wire::kReply),
                              std::move(exchange->frontend_id),
                              std::move(exchange->request_id),
                              Frame(meta.Encode()),
                              Frame(head),
                              BodyFrame(std::move(body))};
  if (!link_.Send(frames, 7)) {
    // The frontend's own reply timeout answers the client then.
    LOG_WARN("reply (status %d) dropped: no router connection or send queue full", status);
  }
}

void Worker::ReplyError(Exchange* exchange, int status, const std::string& detail) {
  http::SimpleResponse response = http::MakeSimpleResponse(status, detail);
  response.head.append("X-Upmesh-Worker: ").append(options_.name).append("\r\n");
  SendReply(exchange, status, /*generated=*/true, response.head, std::move(response.body));
  FinishExchange(exchange);
}

void Worker::FinishExchange(Exchange* exchange) {
  if (exchange->connection) exchange->connection->exchange = nullptr;
  exchanges_.erase(exchange->self);
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
  if (fresh_connection) {
    pool.waiting().push_front(exchange);  // a retry has waited once already
  } else {
    pool.waiting().push_back(exchange);
  }
}

void Worker::ServeWaitingForConnection() {
  for (BackendPool& pool : pools_) {
    // Idle connections are handed to waiting requests as they come back, so
    // here only new connections are missing (one closed since).
    while (!pool.waiting().empty() && pool.CanOpen()) {
      Exchange* exchange = pool.waiting().front();
      pool.waiting().pop_front();
      OpenConnectionFor(exchange);
    }
  }
}

void Worker::OpenConnectionFor(Exchange* exchange) {
  BackendPool& pool = pools_[exchange->server];
  const BackendServer& server = pool.server();
  int fd = socket(server.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int error = errno;
    LOG_ERROR("socket() for backend %s: %s", server.label.c_str(), ErrnoText(error).c_str());
    ReplyError(exchange, 502, "cannot open a connection to the backend: " + ErrnoText(error));
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&server.address), server.address_length) != 0 &&
      errno != EINPROGRESS) {
    int error = errno;
    close(fd);
    LOG_WARN("connect to backend %s failed: %s", server.label.c_str(), ErrnoText(error).c_str());
    ReplyError(exchange, 502, "connect to the backend failed: " + ErrnoText(error));
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
    ReplyError(exchange, 502, "cannot watch the backend connection: " + ErrnoText(error));
  }
}

void Worker::Assign(BackendConnection* connection, Exchange* exchange) {
  connection->exchange = exchange;
  connection->state = BackendConnection::State::kBusy;
  exchange->connection = connection;
  exchange->phase = Exchange::Phase::kExchanging;
  exchange->deadline_ms = now_ms_ + options_.config.response_timeout_ms;
  connection->reader.Start((exchange->meta.flags & wire::RequestMeta::kHeadMethod) != 0,
                           options_.config.max_response_bytes);

  // head + [Host line] + blank line + body, in one writev.
  iovec* pieces = connection->pending;
  int count = 0;
  pieces[count++] = {exchange->head.data(), exchange->head.size()};
  if (!(exchange->meta.flags & wire::RequestMeta::kHasHost)) {
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
    LOG_WARN("connect to backend %s failed: %s", label.c_str(), ErrnoText(error).c_str());
    CloseConnection(connection);
    if (exchange) ReplyError(exchange, 502, "connect to the backend failed: " + ErrnoText(error));
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
      LOG_WARN("backend %s sent %zd byte(s) on an idle connection: closing it",
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
      LOG_WARN("backend %s: %s", pools_[connection->server].server().label.c_str(), detail.c_str());
      CloseConnection(connection);
      ReplyError(exchange, 502, detail);
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
  SendReply(exchange, reader.status(), /*generated=*/false, reader.head(), std::move(reader.body()));
  FinishExchange(exchange);
  connection->exchange = nullptr;
  if (!reusable) {
    CloseConnection(connection);
    return;
  }
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

void Worker::ConnectionBroken(BackendConnection* connection, const std::string& detail) {
  Exchange* exchange = connection->exchange;
  // A pooled connection the backend closed while it sat idle (the race
  // every keep-alive client has): the request never reached the backend if
  // no byte came back, so an idempotent one may go again, once.
  bool retry = connection->reused && !connection->reader.received_any() && !exchange->retried &&
               (exchange->meta.flags & wire::RequestMeta::kIdempotent);
  const std::string& label = pools_[connection->server].server().label;
  CloseConnection(connection);
  if (retry) {
    LOG_DEBUG("backend %s closed a reused connection (%s): retrying on a fresh one", label.c_str(),
              detail.c_str());
    exchange->retried = true;
    Dispatch(exchange, /*fresh_connection=*/true);
    return;
  }
  LOG_WARN("backend %s: %s", label.c_str(), detail.c_str());
  ReplyError(exchange, 502, detail);
}

void Worker::CloseConnection(BackendConnection* connection) {
  if (connection->exchange) connection->exchange->connection = nullptr;
  close(connection->fd);  // also removes it from the epoll set
  connection->fd = -1;
  pools_[connection->server].Retire(connection);
}

// ---------------------------------------------------------------------------
// Time.

void Worker::Sweep() {
  std::vector<Exchange*> expired;
  for (Exchange& exchange : exchanges_) {
    if (exchange.deadline_ms <= now_ms_) expired.push_back(&exchange);
  }
  for (Exchange* exchange : expired) ExpireExchange(exchange);

  std::vector<BackendConnection*> idle_expired;
  for (BackendPool& pool : pools_) {
    pool.TakeExpiredIdle(now_ms_ - options_.config.idle_connection_timeout_ms, &idle_expired);
  }
  for (BackendConnection* connection : idle_expired) CloseConnection(connection);
}

void Worker::ExpireExchange(Exchange* exchange) {
  const std::string& label = pools_[exchange->server].server().label;
  switch (exchange->phase) {
    case Exchange::Phase::kWaitingForCapacity:
      waiting_for_capacity_.erase(
          std::find(waiting_for_capacity_.begin(), waiting_for_capacity_.end(), exchange));
      ReplyError(exchange, 504, "no capacity in the worker in time");
      return;
    case Exchange::Phase::kWaitingForConnection: {
      std::deque<Exchange*>& waiting = pools_[exchange->server].waiting();
      waiting.erase(std::find(waiting.begin(), waiting.end(), exchange));
      LOG_WARN("no connection to backend %s became free in time", label.c_str());
      ReplyError(exchange, 504, "no connection to the backend became free in time");
      return;
    }
    case Exchange::Phase::kConnecting:
      LOG_WARN("connect to backend %s timed out", label.c_str());
      if (exchange->connection) CloseConnection(exchange->connection);
      ReplyError(exchange, 504, "connect to the backend timed out");
      return;
    case Exchange::Phase::kExchanging:
      LOG_WARN("backend %s did not respond within %d ms", label.c_str(), options_.config.response_timeout_ms);
      if (exchange->connection) CloseConnection(exchange->connection);
      ReplyError(exchange, 504, "the backend did not respond in time");
      return;
  }
}

// ---------------------------------------------------------------------------
// Shutdown.

void Worker::StartDrain() {
  draining_ = true;
  drain_deadline_ms_ = now_ms_ + options_.config.drain_timeout_ms;
  link_.SayBye();
  LOG_INFO("stopping: told the router, finishing %zu request(s) in flight", exchanges_.size());
}

void Worker::FailEverything(const std::string& detail) {
  waiting_for_capacity_.clear();
  for (BackendPool& pool : pools_) pool.waiting().clear();
  while (!exchanges_.empty()) {
    Exchange* exchange = &exchanges_.front();
    if (exchange->connection) CloseConnection(exchange->connection);
    ReplyError(exchange, 503, detail);
  }
}

}  // namespace upmesh::worker
