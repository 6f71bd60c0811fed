// Worker: takes requests from the router and forwards each to a backend
// server of the cluster over pooled keep-alive connections, then returns the
// whole response as a REP. See docs/worker.md.
//
// One thread, one epoll loop: the router's DEALER socket (via RouterLink) and
// every backend connection are in the same epoll set, so many requests are in
// flight at once without threads. Backend connections are edge-triggered and
// always watched for input, also while idle in the pool: an idle connection
// that becomes readable was closed (or spoken on) by the backend and is
// closed. Deadlines (connect, response, idle, drain) are checked by a sweep
// every kSweepIntervalMs, which bounds how late a timeout fires.
//
// Every request gets exactly one REP: the backend's response, or a short
// response made here (reply-meta kGenerated): 502 when the backend cannot be
// reached or answers badly, 504 when it is too slow, 503 when the worker
// stops before the answer came.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/config.h"
#include "shared/status.h"
#include "worker/backend_pool.h"
#include "worker/exchange.h"
#include "worker/router_link.h"

namespace upmesh::worker {

struct WorkerOptions {
  std::string name;  // routing id, and the X-Upmesh-Worker value
  WorkerConfig config;
  std::vector<BackendServer> servers;  // at least one
};

class Worker {
 public:
  static constexpr int kSweepIntervalMs = 50;

  explicit Worker(WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until SIGINT/SIGTERM (shared/shutdown_signal.h) and the drain that
  // follows. Returns an error only if it could not start.
  Status Run();

 private:
  // Router side.
  void ReceiveFromRouter(bool* more_waiting);
  void HandleRouterMessage(std::vector<zmq::message_t>& frames);
  void AcceptRequest(std::vector<zmq::message_t>& frames);
  void SendReply(Exchange* exchange, int status, bool generated, const std::string& head, std::string body);
  void ReplyError(Exchange* exchange, int status, const std::string& detail);
  void FinishExchange(Exchange* exchange);
  void AdmitWaitingForCapacity();

  // Backend side.
  void Dispatch(Exchange* exchange, bool fresh_connection);
  void OpenConnectionFor(Exchange* exchange);
  void Assign(BackendConnection* connection, Exchange* exchange);
  void WritePending(BackendConnection* connection);
  void HandleConnectionEvent(BackendConnection* connection, uint32_t events);
  void FinishConnecting(BackendConnection* connection);
  void ReadFrom(BackendConnection* connection, uint32_t events);
  void CompleteExchange(BackendConnection* connection, bool reusable);
  void ConnectionBroken(BackendConnection* connection, const std::string& detail);
  void CloseConnection(BackendConnection* connection);
  void ServeWaitingForConnection();

  // Time.
  void Sweep();
  void ExpireExchange(Exchange* exchange);
  int EpollTimeoutMs(bool more_waiting) const;

  // Shutdown.
  void StartDrain();
  void FailEverything(const std::string& detail);

  const WorkerOptions options_;
  zmq::context_t context_;
  RouterLink link_;
  int epoll_fd_ = -1;
  int64_t now_ms_ = 0;
  int64_t next_sweep_ms_ = 0;

  std::deque<BackendPool> pools_;  // one per server, same order (never moved)
  size_t next_server_ = 0;          // round robin

  std::list<Exchange> exchanges_;                // every request not yet answered
  std::deque<Exchange*> waiting_for_capacity_;   // beyond capacity, FIFO

  bool draining_ = false;
  int64_t drain_deadline_ms_ = 0;

  std::vector<zmq::message_t> frames_;  // reused for every incoming message
  std::unique_ptr<char[]> read_buffer_;
};

}  // namespace upmesh::worker
