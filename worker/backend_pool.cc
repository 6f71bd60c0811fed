#include "worker/backend_pool.h"

#include <netdb.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace upmesh::worker {

Status ResolveServer(const ServerAddress& server, const NetworkPolicy& policy, BackendServer* out) {
  bool ipv6_literal = server.host.find(':') != std::string::npos;
  std::string host_port =
      (ipv6_literal ? "[" + server.host + "]" : server.host) + ":" + std::to_string(server.port);
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* results = nullptr;
  int error = getaddrinfo(server.host.c_str(), std::to_string(server.port).c_str(), &hints, &results);
  if (error != 0) {
    return Status::NotFound("cannot resolve backend server " + host_port + ": " + gai_strerror(error));
  }
  // The first address the policy allows; a name is resolved here, so this is
  // where a hostname pointing at a denied network is caught.
  const addrinfo* chosen = nullptr;
  Status refusal;
  for (const addrinfo* result = results; result && !chosen; result = result->ai_next) {
    std::array<uint8_t, 16> ip;
    if (!SockaddrToIp(result->ai_addr, &ip)) continue;
    char shown[INET6_ADDRSTRLEN] = "?";
    (void)getnameinfo(result->ai_addr, result->ai_addrlen, shown, sizeof shown, nullptr, 0, NI_NUMERICHOST);
    Status allowed = policy.Check(ip, shown);
    if (allowed.ok()) {
      chosen = result;
    } else if (refusal.ok()) {
      refusal = allowed;
    }
  }
  if (!chosen) {
    freeaddrinfo(results);
    return Status::InvalidArgument("backend server " + host_port + " refused: " +
                                   (refusal.ok() ? std::string("no IPv4 or IPv6 address") : refusal.message()));
  }
  std::memcpy(&out->address, chosen->ai_addr, chosen->ai_addrlen);
  out->address_length = chosen->ai_addrlen;
  freeaddrinfo(results);
  out->label = host_port;
  out->host_line = "Host: " + host_port + "\r\n";
  return Status::Ok();
}

BackendPool::BackendPool(BackendServer server, int max_connections)
    : server_(std::move(server)), max_connections_(static_cast<size_t>(max_connections)) {}

BackendConnection* BackendPool::Add(size_t server_index) {
  connections_.emplace_back(server_index);
  BackendConnection* connection = &connections_.back();
  connection->self = std::prev(connections_.end());
  return connection;
}

BackendConnection* BackendPool::PopIdle() {
  if (idle_.empty()) return nullptr;
  BackendConnection* connection = idle_.back();
  idle_.pop_back();
  connection->state = BackendConnection::State::kBusy;
  return connection;
}

BackendConnection* BackendPool::PopOldestIdle() {
  if (idle_.empty()) return nullptr;
  BackendConnection* connection = idle_.front();
  idle_.erase(idle_.begin());
  connection->state = BackendConnection::State::kBusy;
  return connection;
}

void BackendPool::PushIdle(BackendConnection* connection, int64_t now_ms) {
  connection->state = BackendConnection::State::kIdle;
  connection->idle_since_ms = now_ms;
  connection->exchange = nullptr;
  idle_.push_back(connection);
}

void BackendPool::TakeExpiredIdle(int64_t cutoff_ms, std::vector<BackendConnection*>* expired) {
  // idle_ is ordered by idle_since_ms: the oldest are at the front.
  auto first_fresh = std::find_if(idle_.begin(), idle_.end(), [cutoff_ms](BackendConnection* c) {
    return c->idle_since_ms >= cutoff_ms;
  });
  for (auto it = idle_.begin(); it != first_fresh; ++it) {
    (*it)->state = BackendConnection::State::kBusy;
    expired->push_back(*it);
  }
  idle_.erase(idle_.begin(), first_fresh);
}

void BackendPool::Wait(Exchange* exchange, bool first) {
  if (first) {
    waiting_.push_front(exchange);
  } else {
    waiting_.push_back(exchange);
  }
}

Exchange* BackendPool::TakeWaiting() {
  if (waiting_.empty()) return nullptr;
  Exchange* exchange = waiting_.front();
  waiting_.pop_front();
  return exchange;
}

void BackendPool::StopWaiting(Exchange* exchange) {
  waiting_.erase(std::find(waiting_.begin(), waiting_.end(), exchange));
}

void BackendPool::Retire(BackendConnection* connection) {
  if (connection->state == BackendConnection::State::kIdle) {
    idle_.erase(std::find(idle_.begin(), idle_.end(), connection));
  }
  connection->state = BackendConnection::State::kClosed;
  connection->exchange = nullptr;
  retired_.splice(retired_.end(), connections_, connection->self);
}

}  // namespace upmesh::worker
