#include "worker/backend_pool.h"

#include <netdb.h>

#include <algorithm>
#include <cstring>

namespace upmesh::worker {

Status ResolveServer(const ServerAddress& server, BackendServer* out) {
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
  std::memcpy(&out->address, results->ai_addr, results->ai_addrlen);
  out->address_length = results->ai_addrlen;
  freeaddrinfo(results);
  out->label = host_port;
  out->host_line = "Host: " + host_port + "\r\n";
  return Status::Ok();
}

BackendPool::BackendPool(BackendServer server, int max_connections)
    : server_(std::move(server)), max_connections_(static_cast<size_t>(max_connections)) {}

BackendConnection* BackendPool::Add(size_t server_index, const std::string& worker_name) {
  connections_.emplace_back(server_index, worker_name);
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

void BackendPool::Retire(BackendConnection* connection) {
  if (connection->state == BackendConnection::State::kIdle) {
    idle_.erase(std::find(idle_.begin(), idle_.end(), connection));
  }
  connection->state = BackendConnection::State::kClosed;
  connection->exchange = nullptr;
  retired_.splice(retired_.end(), connections_, connection->self);
}

}  // namespace upmesh::worker
