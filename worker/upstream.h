// Upstream: the mechanics of the worker's trips to backend servers, in the
// manner of h2o's http1client over its socketpool: for each Exchange it
// takes a pooled keep-alive connection (or opens one, or queues the exchange
// until the pool has room), writes the request, reads the response through an
// http::ResponseReader (worker/mesh_response.h shapes it), hands the connection back, and ends the exchange with a
// LegResult: the response, or a 502/504 failure. Deadlines (connect,
// response, waiting for a connection, an active check's own timeout) are
// enforced by Expire(). It knows nothing of versions: which server a leg goes
// to, and what happens after its exchange ends, is the listener's business.
//
// The one retry it makes itself is connection-level: a reused keep-alive
// connection that the backend closed before answering (the race every
// keep-alive client has) carries an idempotent request again, once, on a
// fresh connection.
//
// Connections are registered in the worker's epoll set, edge-triggered,
// once for their whole life, with the BackendConnection as data.ptr; they
// are watched for input also while idle, so an idle connection that becomes
// readable (closed or spoken on by the backend) is closed. The loop hands
// their events to HandleEvent(). Closed connections stay allocated until
// FreeRetired(), so a pointer later in the same epoll batch stays valid.
// Time is the loop's: read from `now_ms`, set by the loop every turn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "shared/config.h"
#include "worker/backend_pool.h"
#include "worker/exchange.h"

namespace upmesh::worker {

class Upstream {
 public:
  class Listener {
   public:
    virtual ~Listener() = default;
    // An exchange ended (and was freed) with `result`. `nothing_acted_on`:
    // the backend cannot have acted on the request (nothing was sent, or an
    // idempotent request got no byte back).
    virtual void ExchangeDone(ClientRequest* request, int leg, int cluster_index, LegResult result,
                              bool nothing_acted_on) = 0;
    // A server was ejected or came back in rotation.
    virtual void ServersChanged() = 0;
  };

  Upstream(const WorkerConfig& config, std::string worker_name, const int64_t* now_ms, Listener* listener);
  ~Upstream();  // closes every connection
  Upstream(const Upstream&) = delete;
  Upstream& operator=(const Upstream&) = delete;

  // The epoll set the connections join.
  void Open(int epoll_fd) { epoll_fd_ = epoll_fd; }

  // The pool index of `address`'s server, resolved (and its pool made) on
  // first use. False, logged, if it does not resolve or the backend network
  // policy refuses it.
  bool PoolFor(const ServerAddress& address, size_t* pool);
  // Every pool ever made, by index (never moved).
  const std::deque<BackendPool>& pools() const { return pools_; }

  // A new exchange of `request`'s leg to pool `server`, started now
  // (`timed`: also in microseconds, for latency figures). The caller fills
  // in the version (and any give_up_ms), then calls Dispatch().
  Exchange* NewExchange(ClientRequest* request, int leg, size_t server, bool timed);
  // Sends it: over an idle connection, a new one, or once the pool has room.
  void Dispatch(Exchange* exchange) { Dispatch(exchange, /*fresh_connection=*/false); }
  // Ends an exchange whose request is gone, without a result.
  void Abandon(Exchange* exchange);
  size_t exchange_count() const { return exchanges_.size(); }

  // The loop's handlers: a connection's epoll event; then, once per turn,
  // new connections for exchanges waiting for room, and freeing what was
  // closed during the turn.
  void HandleEvent(BackendConnection* connection, uint32_t events);
  void ServeWaiting();
  void FreeRetired();

  // Fails the exchanges past a deadline, closes idle connections past
  // idleConnectionTimeoutMs. Called by the loop's sweep.
  void Expire();

  // A trip's outcome for the server's passive health (`from_check`: an
  // active health check's); ejections and returns are logged and told to
  // the listener.
  void RecordServerOutcome(size_t server, bool ok, bool from_check = false);

 private:
  void Dispatch(Exchange* exchange, bool fresh_connection);
  void OpenConnectionFor(Exchange* exchange);
  void Assign(BackendConnection* connection, Exchange* exchange);
  void WritePending(BackendConnection* connection);
  void FinishConnecting(BackendConnection* connection);
  void ReadFrom(BackendConnection* connection, uint32_t events);
  void CompleteExchange(BackendConnection* connection, bool reusable);
  void ConnectionBroken(BackendConnection* connection, const std::string& detail);
  void FailExchange(Exchange* exchange, int status, Outcome failure, const std::string& detail,
                    bool nothing_acted_on);
  void ExpireExchange(Exchange* exchange);
  void FinishExchange(Exchange* exchange);
  void CloseConnection(BackendConnection* connection);

  const WorkerConfig& config_;
  const std::string worker_name_;
  const int64_t* const now_ms_;
  Listener* const listener_;
  int epoll_fd_ = -1;

  std::deque<BackendPool> pools_;
  std::unordered_map<std::string, size_t> pool_by_label_;
  std::set<size_t> pools_waiting_;  // pools that may have exchanges waiting for a connection
  std::set<size_t> pools_retired_;  // pools with retired connections to free
  std::list<Exchange> exchanges_;   // every exchange under way
  std::unique_ptr<char[]> read_buffer_;
};

}  // namespace upmesh::worker
