// Backend servers and the pool of keep-alive connections to each of them.
//
// BackendServer: one resolved "host:port" of the cluster.
// BackendConnection: one TCP connection to a server and its state.
// BackendPool: the bookkeeping of one server's connections, in the manner of
//   h2o's socketpool: idle keep-alive connections are reused most recently
//   used first (LIFO, so the rest age out), at most max_connections are open
//   at once, and exchanges beyond that wait in a FIFO queue. The pool does no
//   I/O: its user (upstream.h) opens, writes, reads and closes sockets and
//   tells the pool. A connection is leased out (Add, PopIdle) and comes back
//   (PushIdle) or is retired (Retire); the waiting queue is the pool's own.
//   Connections live in the pool; one that is retired stays allocated until
//   FreeRetired(), so a pointer in the same epoll batch stays valid.
//   The pool also keeps the server's passive health (server_health.h).
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <deque>
#include <list>
#include <string>
#include <vector>

#include "shared/config.h"
#include "shared/status.h"
#include "shared/http_response_reader.h"
#include "worker/server_health.h"

namespace upmesh::worker {

struct Exchange;

struct BackendServer {
  std::string label;      // "host:port" as configured, for logs and errors
  std::string host_line;  // "Host: host:port\r\n", for requests without Host
  sockaddr_storage address = {};
  socklen_t address_length = 0;
};

// Resolves `server` to the first address getaddrinfo returns (IPv4 or
// IPv6) that `policy` allows. NotFound if the name does not resolve;
// InvalidArgument naming the address and the rule if the policy refuses
// every address.
Status ResolveServer(const ServerAddress& server, const NetworkPolicy& policy, BackendServer* out);

struct BackendConnection {
  enum class State { kConnecting, kBusy, kIdle, kClosed };

  explicit BackendConnection(size_t server_index) : server(server_index) {}

  int fd = -1;
  const size_t server;
  State state = State::kConnecting;
  bool reused = false;       // has completed a response before (may be stale)
  int64_t idle_since_ms = 0;
  Exchange* exchange = nullptr;  // while kConnecting or kBusy
  http::ResponseReader reader;

  // The request still to be written: pieces consumed from the front.
  iovec pending[4] = {};
  int pending_first = 0;
  int pending_count = 0;

  std::list<BackendConnection>::iterator self;
};

class BackendPool {
 public:
  BackendPool(BackendServer server, int max_connections);

  const BackendServer& server() const { return server_; }

  // Open (connecting, busy or idle) connections.
  size_t open_count() const { return connections_.size(); }
  bool CanOpen() const { return connections_.size() < max_connections_; }

  // Adds a connection in state kConnecting (the caller sets its fd).
  BackendConnection* Add(size_t server_index);

  // The most recently used idle connection (now kBusy), or nullptr.
  BackendConnection* PopIdle();
  // The least recently used idle connection, or nullptr; the caller closes it.
  BackendConnection* PopOldestIdle();
  // Makes a busy connection idle, unused since `now_ms`.
  void PushIdle(BackendConnection* connection, int64_t now_ms);
  size_t idle_count() const { return idle_.size(); }

  // Moves idle connections unused since before `cutoff_ms` to *expired
  // (the caller closes them).
  void TakeExpiredIdle(int64_t cutoff_ms, std::vector<BackendConnection*>* expired);

  // Forgets a connection whose socket the caller closed (state kClosed).
  void Retire(BackendConnection* connection);
  // Frees retired connections; call when no pointer to them is left.
  void FreeRetired() { retired_.clear(); }

  // Exchanges waiting for a connection: queued last, or `first` (ahead of
  // the others); taken oldest first (nullptr if none); or taken off the
  // queue when one gives up.
  void Wait(Exchange* exchange, bool first);
  Exchange* TakeWaiting();
  void StopWaiting(Exchange* exchange);
  bool has_waiting() const { return !waiting_.empty(); }

  // Every open connection (for shutdown).
  const std::list<BackendConnection>& connections() const { return connections_; }

  // The server's passive health, as this worker sees it.
  ServerHealth& health() { return health_; }
  const ServerHealth& health() const { return health_; }

 private:
  const BackendServer server_;
  const size_t max_connections_;
  std::list<BackendConnection> connections_;
  std::list<BackendConnection> retired_;
  std::vector<BackendConnection*> idle_;  // back = most recently used
  std::deque<Exchange*> waiting_;
  ServerHealth health_;
};

}  // namespace upmesh::worker
