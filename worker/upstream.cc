#include "worker/upstream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iterator>
#include <string_view>
#include <vector>

#include "shared/clock.h"
#include "shared/log.h"
#include "shared/wire.h"
#include "worker/mesh_response.h"

namespace upmesh::worker {
namespace {

constexpr size_t kReadBufferBytes = 128 * 1024;
constexpr std::string_view kBlankLine = "\r\n";

std::string ErrnoText(int error) { return std::strerror(error); }

}  // namespace

Upstream::Upstream(const WorkerConfig& config, std::string worker_name, const int64_t* now_ms, Listener* listener)
    : config_(config),
      worker_name_(std::move(worker_name)),
      now_ms_(now_ms),
      listener_(listener),
      read_buffer_(new char[kReadBufferBytes]) {}

Upstream::~Upstream() {
  for (const BackendPool& pool : pools_) {
    for (const BackendConnection& connection : pool.connections()) close(connection.fd);
  }
}

bool Upstream::PoolFor(const ServerAddress& address, size_t* pool) {
  std::string label = address.host + ":" + std::to_string(address.port);
  if (auto found = pool_by_label_.find(label); found != pool_by_label_.end()) {
    *pool = found->second;
    return true;
  }
  BackendServer server;
  Status status = ResolveServer(address, config_.backend_networks, &server);
  if (!status.ok()) {
    LOG_WARN("%s; will try again", status.message().c_str());
    return false;
  }
  pools_.emplace_back(server, config_.max_connections_per_server);
  *pool = pools_.size() - 1;
  pool_by_label_.emplace(label, *pool);
  return true;
}

Exchange* Upstream::NewExchange(ClientRequest* request, int leg, size_t server, bool timed) {
  exchanges_.emplace_back();
  Exchange* exchange = &exchanges_.back();
  exchange->self = std::prev(exchanges_.end());
  exchange->request = request;
  exchange->leg = leg;
  exchange->started_ms = *now_ms_;
  if (timed) exchange->started_us = NowUs();
  exchange->head.copy(request->head);  // shares the buffer
  exchange->body.copy(request->body);
  exchange->server = server;
  request->live[leg] = exchange;
  return exchange;
}

void Upstream::Abandon(Exchange* exchange) {
  if (exchange->connection) CloseConnection(exchange->connection);
  if (exchange->phase == Exchange::Phase::kWaitingForConnection) pools_[exchange->server].StopWaiting(exchange);
  FinishExchange(exchange);
}

void Upstream::RecordServerOutcome(size_t server, bool ok, bool from_check) {
  BackendPool& pool = pools_[server];
  ServerHealth& health = pool.health();
  if (!(ok ? health.RecordSuccess() : health.RecordFailure(*now_ms_, from_check))) return;
  if (ok) {
    LOG_INFO("backend %s is back in rotation", pool.server().label.c_str());
  } else {
    LOG_WARN("backend %s ejected for %lld ms after %d failure(s) in a row", pool.server().label.c_str(),
             static_cast<long long>(health.ejected_until_ms() - *now_ms_), health.consecutive_failures());
  }
  listener_->ServersChanged();
}

void Upstream::Dispatch(Exchange* exchange, bool fresh_connection) {
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
  exchange->deadline_ms = *now_ms_ + config_.response_timeout_ms;
  pools_waiting_.insert(exchange->server);
  pool.Wait(exchange, /*first=*/fresh_connection);  // a retry has waited once already
}

void Upstream::ServeWaiting() {
  // Only the pools that have had waiting requests: a table at its limits
  // has thousands of pools, and this runs on every turn of the loop.
  for (auto it = pools_waiting_.begin(); it != pools_waiting_.end();) {
    BackendPool& pool = pools_[*it];
    // Idle connections are handed to waiting requests as they come back, so
    // here only new connections are missing (one closed since).
    while (pool.has_waiting() && pool.CanOpen()) OpenConnectionFor(pool.TakeWaiting());
    it = pool.has_waiting() ? std::next(it) : pools_waiting_.erase(it);
  }
}

void Upstream::FreeRetired() {
  for (size_t pool : pools_retired_) pools_[pool].FreeRetired();
  pools_retired_.clear();
}

void Upstream::OpenConnectionFor(Exchange* exchange) {
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
  BackendConnection* connection = pool.Add(exchange->server);
  connection->fd = fd;
  connection->exchange = exchange;
  exchange->connection = connection;
  exchange->phase = Exchange::Phase::kConnecting;
  exchange->deadline_ms = *now_ms_ + config_.connect_timeout_ms;
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

void Upstream::Assign(BackendConnection* connection, Exchange* exchange) {
  connection->exchange = exchange;
  connection->state = BackendConnection::State::kBusy;
  exchange->connection = connection;
  exchange->phase = Exchange::Phase::kExchanging;
  exchange->deadline_ms = *now_ms_ + config_.response_timeout_ms;
  connection->reader.Start((exchange->request->meta.flags & wire::RequestMeta::kHeadMethod) != 0,
                           config_.max_response_bytes);

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

void Upstream::WritePending(BackendConnection* connection) {
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

void Upstream::HandleEvent(BackendConnection* connection, uint32_t events) {
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

void Upstream::FinishConnecting(BackendConnection* connection) {
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

void Upstream::ReadFrom(BackendConnection* connection, uint32_t events) {
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
      if (connection->reader.FeedEof() == http::ResponseReader::Result::kComplete) {
        CompleteExchange(connection, /*reusable=*/false);
      } else {
        ConnectionBroken(connection, BackendError(connection->reader));
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
    http::ResponseReader::Result result = connection->reader.Feed(buffer, static_cast<size_t>(received), &consumed);
    bool drained = !hang_up_reported && static_cast<size_t>(received) < kReadBufferBytes;
    if (result == http::ResponseReader::Result::kIncomplete) {
      if (drained) return;
      continue;
    }
    if (result == http::ResponseReader::Result::kError) {
      Exchange* exchange = connection->exchange;
      std::string detail = BackendError(connection->reader);
      LOG_WARN_THROTTLED("backend %s: %s", pools_[connection->server].server().label.c_str(), detail.c_str());
      CloseConnection(connection);
      FailExchange(exchange, 502, Outcome::kBadFraming, detail, /*nothing_acted_on=*/false);
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

void Upstream::CompleteExchange(BackendConnection* connection, bool reusable) {
  Exchange* exchange = connection->exchange;
  http::ResponseReader& reader = connection->reader;
  LOG_DEBUG("%s -> %d (%zu body bytes)", pools_[connection->server].server().label.c_str(), reader.status(),
            reader.body().size());
  LegResult result;
  result.kind = LegResult::Kind::kResponse;
  result.cluster_uuid = exchange->cluster_uuid;
  result.status = reader.status();
  result.head = MeshResponseHead(reader, worker_name_);
  result.body = std::move(reader.body());
  result.chunked = reader.chunked();
  result.elapsed_ms = *now_ms_ - exchange->started_ms;
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
    if (Exchange* next = pool.TakeWaiting()) {
      Assign(connection, next);
    } else {
      pool.PushIdle(connection, *now_ms_);
    }
  }
  ClientRequest* request = exchange->request;
  int leg = exchange->leg;
  int cluster_index = exchange->cluster_index;
  FinishExchange(exchange);
  listener_->ExchangeDone(request, leg, cluster_index, std::move(result), /*nothing_acted_on=*/false);
}

void Upstream::ConnectionBroken(BackendConnection* connection, const std::string& detail) {
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
  bool nothing_acted_on = !received_any && idempotent;
  FailExchange(exchange, 502, Outcome::kReset, detail, nothing_acted_on);
}

void Upstream::FailExchange(Exchange* exchange, int status, Outcome failure, const std::string& detail,
                            bool nothing_acted_on) {
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
  listener_->ExchangeDone(request, leg, cluster_index, std::move(result), nothing_acted_on);
}

void Upstream::FinishExchange(Exchange* exchange) {
  if (exchange->connection) {
    exchange->connection->exchange = nullptr;
    exchange->connection = nullptr;
  }
  if (exchange->request->live[exchange->leg] == exchange) exchange->request->live[exchange->leg] = nullptr;
  exchanges_.erase(exchange->self);
}

void Upstream::CloseConnection(BackendConnection* connection) {
  if (connection->exchange) connection->exchange->connection = nullptr;
  close(connection->fd);  // also removes it from the epoll set
  connection->fd = -1;
  pools_[connection->server].Retire(connection);
  pools_retired_.insert(connection->server);
}

void Upstream::Expire() {
  std::vector<Exchange*> expired;
  for (Exchange& exchange : exchanges_) {
    if (exchange.deadline_ms <= *now_ms_ || exchange.give_up_ms <= *now_ms_) expired.push_back(&exchange);
  }
  for (Exchange* exchange : expired) ExpireExchange(exchange);

  std::vector<BackendConnection*> idle_expired;
  for (BackendPool& pool : pools_) pool.TakeExpiredIdle(*now_ms_ - config_.idle_connection_timeout_ms, &idle_expired);
  for (BackendConnection* connection : idle_expired) CloseConnection(connection);
}

void Upstream::ExpireExchange(Exchange* exchange) {
  const std::string& label = pools_[exchange->server].server().label;
  switch (exchange->phase) {
    case Exchange::Phase::kWaitingForConnection: {
      pools_[exchange->server].StopWaiting(exchange);
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
      LOG_WARN_THROTTLED("backend %s did not respond within %d ms", label.c_str(), config_.response_timeout_ms);
      if (exchange->connection) CloseConnection(exchange->connection);
      FailExchange(exchange, 504, Outcome::kTimeout, "the backend did not respond in time", false);
      return;
  }
}

}  // namespace upmesh::worker
