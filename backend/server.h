// The demo backend's event loop: one thread, one epoll set, a listening
// socket and any number of Connections, plus a timer heap for the delays and
// closing deadlines the connections ask for.
#pragma once

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/connection.h"
#include "backend/request_handler.h"
#include "backend/response_options.h"
#include "shared/status.h"

namespace upmesh::backend {

struct ServerOptions {
  std::string address = "127.0.0.1";  // an IPv4 or IPv6 literal
  int port = 8001;                    // 0: any free port
  std::string name = "v1";            // X-Backend-Version
  Defaults defaults;                  // --delay-ms, --status, --size, --error-percent
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens (SO_REUSEADDR). Fails with a message naming the address.
  Status Listen();
  // The port actually bound (differs from the option when it was 0).
  int port() const { return port_; }
  // Serves until SIGINT/SIGTERM (see shared/shutdown_signal.h); returns OK
  // then, or the error that stopped the loop.
  Status Run();

 private:
  struct Slot {
    std::unique_ptr<Connection> connection;
    int64_t armed_deadline = -1;  // the deadline a heap entry is pending for
  };
  using TimerEntry = std::pair<int64_t, uint64_t>;  // (deadline ms, connection id)

  void AcceptAll(int64_t now_ms);
  // Forgets a closed connection, or arms its next timer.
  void AfterActivity(uint64_t id);
  void RunDueTimers(int64_t now_ms);
  int WaitTimeoutMs(int64_t now_ms) const;

  ServerOptions options_;
  int port_ = 0;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-close when out of descriptors
  ServerStats stats_;
  std::unique_ptr<RequestHandler> handler_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Slot> connections_;
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<TimerEntry>> timers_;
};

}  // namespace upmesh::backend
