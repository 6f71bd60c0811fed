// ConfigListener: serves the ConfigApi over HTTP/1.1 on a ZMQ_STREAM socket
// that the router polls next to its ROUTER sockets (so the API and request
// dispatch never race: one thread owns the cluster table).
//
// A STREAM frame is only the bytes one read() returned, never a message:
// each connection has its own http::RequestReader (shared/http_request_reader.h)
// that reassembles whole requests however TCP split them. Requests on a
// connection are answered in order as each completes (the API answers at
// once, except answers held for a change, see below). Keep-alive is the default; a request
// with "Connection: close" (or HTTP/1.0 without keep-alive) is answered with
// "Connection: close" and the connection is closed once the client hangs up
// (at the latest the linger later: libzmq drops unsent bytes of a STREAM peer
// it is told to close, so it is never closed right after a response).
// Malformed requests get the reader's status (a head over 16 KiB: 431, a
// body over ConfigApi::max_body_bytes(): 413, as the API promises) and the
// connection is closed after the linger (input meanwhile is discarded, so the
// client reads the response rather than a reset).
//
// So that an operator always gets through (ConnectionDeadlines has the
// timers and the eviction order): a request must arrive whole, head and body
// (on a new connection also the TLS handshake), within the request timeout,
// else it gets 408 and the connection closes (a connection that sent nothing,
// or whose handshake is unfinished, is closed without an answer); a
// keep-alive connection idle beyond the idle timeout is closed; at the
// connection cap a new connection is always let in and the one waiting
// longest without a complete request is closed (logged, throttled, with the
// count); a request answered later than at once must be marked
// ConnectionDeadlines::Answering meanwhile, or its request deadline fires. Output is bounded too: libzmq holds at most kSendHighWater frames
// per connection; an answer it refuses waits in the connection's outbox,
// which stops the connection's requests from being read (what arrives
// meanwhile is kept up to one request's worth, beyond that the connection is
// closed) until it drains; an answer not read within the request timeout
// closes the connection. A client that reads nothing at all cannot even be
// told to close (libzmq needs room in its pipe for that): TCP_USER_TIMEOUT
// (ZMQ_TCP_MAXRT), set to the request timeout, makes the kernel drop it.
//
// Deferred answers (DeferChangeAnswers): the answer to a request that
// changed the table (the seq grew) is held until ReleaseAnswers() is told
// that seq may be answered (every live frontend acknowledged it, or the
// bounded wait ran out). Meanwhile the connection is kAnswering (no
// deadline) and what else it sends is kept unread, as behind a full outbox,
// so pipelined answers keep their order. The poll loop never blocks.
//
// With a token (RequireToken), every request must carry exactly one
// "Authorization: Bearer TOKEN" whose token matches (shared/api_token.h,
// compared in constant time); any other request gets 401 with
// "WWW-Authenticate: Bearer" and never reaches the ConfigApi. The connection
// stays open (a client may retry with the token). The dashboard's files are
// the exception (router/dashboard_assets.h): they hold no data, and a browser
// opening the page cannot send a token; the page sends it with its API calls.
//
// With TLS (UseTls), every connection has its own TlsSession
// (router/tls_session.h): the STREAM frames carry ciphertext, the session
// turns it into the plaintext the reader reads, and every response goes
// out through it; whatever the handshake produces is sent as it appears. A
// connection whose TLS fails (a failed handshake, plain HTTP on the TLS
// port, a broken record) is logged (throttled: garbage must not flood the
// log), gets the alert if OpenSSL made one, and is closed like a refused
// request: after kLingerMs, its input discarded meanwhile. A response with
// "Connection: close" is followed by a close_notify.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <zmq.hpp>

#include "router/config_api.h"
#include "router/connection_deadlines.h"
#include "router/tls_session.h"
#include "shared/http_request_reader.h"
#include "shared/status.h"

namespace upmesh::router {

class ConfigListener {
 public:
  static constexpr int64_t kLingerMs = 1000;
  static constexpr int kSendHighWater = 64;  // frames libzmq queues per connection

  // `settings`: the request and idle timeouts and the connection cap (its linger_ms is ignored: kLingerMs).
  ConfigListener(zmq::context_t& context, ConfigApi* api, const ConnectionDeadlines::Settings& settings);

  // Binds tcp://ADDRESS:PORT (IPv6 addresses are bracketed as needed).
  Status Bind(const std::string& address, uint16_t port);
  // From now on every request needs "Authorization: Bearer <token>".
  void RequireToken(std::string token) { token_ = std::move(token); }
  // From now on every connection speaks TLS with this context (which must outlive the listener).
  void UseTls(const TlsServerContext* context) { tls_ = context; }
  // From now on an answer to a change waits for ReleaseAnswers(seq) with the
  // seq `current_seq` returns after the change.
  void DeferChangeAnswers(std::function<uint64_t()> current_seq) { current_seq_ = std::move(current_seq); }
  // Sends the held answers of changes up to `released_seq`.
  void ReleaseAnswers(uint64_t released_seq);
  bool has_deferred() const { return deferred_count_ > 0; }
  void* handle() { return socket_.handle(); }

  // Reads what is waiting (a bounded batch) and answers complete requests.
  void OnReadable();
  // Retries refused output; answers 408 and closes what its deadline caught.
  void Sweep(int64_t now_ms);

 private:
  enum class SendResult { kSent, kFull, kGone };
  // An answer held until its change may be answered.
  struct Deferred {
    uint64_t seq;
    ApiResponse response;
    bool head_only;
    bool close;
  };

  struct Connection {
    explicit Connection(const http::RequestLimits& limits) : reader(limits) {}
    http::RequestReader reader;
    std::unique_ptr<TlsSession> tls;  // with TLS only
    std::string outbox;    // bytes libzmq refused for now (its pipe for this client is full)
    std::string unparsed;  // plaintext that arrived while the outbox was waiting
    bool closing = false;  // answered for the last time or refused: input is discarded
    std::optional<Deferred> deferred;  // an answer held for a change: nothing more is read meanwhile
  };

  void Admit(const std::string& routing_id, int64_t now);
  // Decrypts what a TLS connection sent and hands the plaintext to OnData.
  void OnCiphertext(const std::string& routing_id, Connection& connection, const char* data, size_t len);
  // False if the connection was closed.
  bool OnData(const std::string& routing_id, Connection& connection, const char* data, size_t len);
  // Moves the connection to the phase its state calls for once its input is handled.
  void Settle(const std::string& routing_id, Connection& connection, int64_t now);
  // Marks the connection as answered for the last time (it closes after the linger).
  static void Finish(Connection& connection);
  // The 401 for a request without the right token, or nothing if it may pass.
  bool Unauthorized(const http::FieldList& fields, ApiResponse* refusal) const;
  // Sends one response; false if the peer is gone.
  bool Respond(const std::string& routing_id, Connection& connection, const ApiResponse& response, bool head_only,
               bool close);
  // Sends HTTP bytes: as they are, or through the connection's TLS session.
  bool Send(const std::string& routing_id, Connection& connection, const std::string& bytes);
  // Sends what the TLS session has for the peer; false if the peer is gone.
  bool Flush(const std::string& routing_id, Connection& connection);
  // Hands bytes to libzmq, or to the outbox behind what it refused; false if the peer is gone.
  bool Deliver(const std::string& routing_id, Connection& connection, const std::string& bytes);
  SendResult SendFrame(const std::string& routing_id, const std::string& bytes);
  void RetryOutboxes(int64_t now);
  void Expire(const std::string& routing_id, ConnectionDeadlines::Phase phase, int64_t now);
  void Close(const std::string& routing_id);
  void Forget(const std::string& routing_id);
  // Feeds what arrived while the connection could not answer (outbox or deferred answer).
  void ReadUnparsed(const std::string& routing_id, Connection& connection, int64_t now);

  zmq::socket_t socket_;
  ConfigApi* api_;
  http::RequestLimits limits_;
  std::string token_;  // empty: no token required
  const TlsServerContext* tls_ = nullptr;  // null: plain HTTP
  size_t max_unparsed_bytes_;  // one whole request's worth
  ConnectionDeadlines deadlines_;
  std::unordered_map<std::string, std::unique_ptr<Connection>> connections_;  // by STREAM routing id
  std::set<std::string> blocked_;  // connections with a non-empty outbox
  // Forgotten connections whose close libzmq refused (pipe full): the close
  // is retried every sweep, and their hang-up is not a new connection.
  std::set<std::string> unclosed_;
  uint64_t evicted_ = 0;           // connections closed at the cap to let a new one in
  std::function<uint64_t()> current_seq_;  // unset: answers go at once
  size_t deferred_count_ = 0;              // connections holding a deferred answer
};

}  // namespace upmesh::router
