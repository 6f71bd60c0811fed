// ConfigListener: serves the ConfigApi over HTTP/1.1 on a ZMQ_STREAM socket
// that the router polls next to its ROUTER sockets (so the API and request
// dispatch never race: one thread owns the cluster table).
//
// A STREAM frame is only the bytes one read() returned, never a message:
// each connection has its own RequestAssembler (frontend/request_assembler.h)
// that reassembles whole requests however TCP split them. Requests on a
// connection are answered in order as each completes (the API answers at
// once; an answer held for a change queues the ones after it, see below). Keep-alive is the default; a request
// with "Connection: close" (or HTTP/1.0 without keep-alive) is answered with
// "Connection: close" and the connection is closed once the client hangs up
// (at the latest kLingerMs later: libzmq drops unsent bytes of a STREAM peer
// it is told to close, so it is never closed right after a response). Malformed requests get
// the assembler's status (a body over ConfigApi::max_body_bytes(): 413, as the
// API promises) and the connection is closed kLingerMs later (input
// meanwhile is discarded, so the client reads the response rather than a
// reset). A connection silent for
// kIdleTimeoutMs is closed; beyond kMaxConnections new ones are closed at once.
//
// Deferred answers (DeferChangeAnswers): the answer to a request that
// changed the table (the seq grew) is held until ReleaseAnswers() is told
// that seq may be answered (every live frontend acknowledged it, or the
// bounded wait ran out); later answers on the same connection queue behind
// it, so pipelined answers keep their order. The poll loop never blocks.
//
// With a token (RequireToken), every request must carry exactly one
// "Authorization: Bearer TOKEN" whose token matches (shared/api_token.h,
// compared in constant time); any other request gets 401 with
// "WWW-Authenticate: Bearer" and never reaches the ConfigApi. The connection
// stays open (a client may retry with the token).
//
// With TLS (UseTls), every connection has its own TlsSession
// (router/tls_session.h): the STREAM frames carry ciphertext, the session
// turns it into the plaintext the assembler reads, and every response goes
// out through it; whatever the handshake produces is sent as it appears. A
// connection whose TLS fails (a failed handshake, plain HTTP on the TLS
// port, a broken record) is logged (throttled: garbage must not flood the
// log), gets the alert if OpenSSL made one, and is closed like a refused
// request: after kLingerMs, its input discarded meanwhile. A response with
// "Connection: close" is followed by a close_notify.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <zmq.hpp>

#include "frontend/request_assembler.h"
#include "router/config_api.h"
#include "router/tls_session.h"
#include "shared/status.h"

namespace upmesh::router {

class ConfigListener {
 public:
  static constexpr int64_t kIdleTimeoutMs = 60000;
  static constexpr size_t kMaxConnections = 1024;
  static constexpr int64_t kLingerMs = 1000;

  ConfigListener(zmq::context_t& context, ConfigApi* api);

  // Binds tcp://ADDRESS:PORT (IPv6 addresses are bracketed as needed).
  Status Bind(const std::string& address, uint16_t port);
  // From now on every request needs "Authorization: Bearer <token>".
  void RequireToken(std::string token) { token_ = std::move(token); }
  // From now on every connection speaks TLS with this context (which must outlive the listener).
  void UseTls(const TlsServerContext* context) { tls_ = context; }
  // From now on an answer to a change waits for ReleaseAnswers(seq) with the
  // seq `current_seq` returns after the change.
  void DeferChangeAnswers(std::function<uint64_t()> current_seq) { current_seq_ = std::move(current_seq); }
  // Sends the held answers of changes up to `released_seq` (and those queued behind them).
  void ReleaseAnswers(uint64_t released_seq);
  bool has_deferred() const { return deferred_count_ > 0; }
  void* handle() { return socket_.handle(); }

  // Reads what is waiting (a bounded batch) and answers complete requests.
  void OnReadable();
  // Closes idle connections.
  void Sweep(int64_t now_ms);

 private:
  struct Deferred {
    uint64_t seq;  // 0: no change of its own, only queued behind one
    ApiResponse response;
    bool head_only;
    bool close;
  };
  struct Connection {
    explicit Connection(const frontend::RequestLimits& limits) : assembler(limits) {}
    frontend::RequestAssembler assembler;
    std::unique_ptr<TlsSession> tls;  // with TLS only
    std::deque<Deferred> deferred;  // answers held for a change, in request order
    int64_t last_activity_ms = 0;
    int64_t close_at_ms = 0;  // set once refused: closed at this time
  };

  // Decrypts what a TLS connection sent and hands the plaintext to OnData.
  void OnCiphertext(const std::string& routing_id, Connection& connection, const char* data, size_t len);
  void OnData(const std::string& routing_id, Connection& connection, const char* data, size_t len);
  // The 401 for a request without the right token, or nothing if it may pass.
  bool Unauthorized(const http::FieldList& fields, ApiResponse* refusal) const;
  // Sends one response; false if the connection must close (or could not take it).
  bool Respond(const std::string& routing_id, Connection& connection, const ApiResponse& response, bool head_only,
               bool close);
  // Sends HTTP bytes: as they are, or through the connection's TLS session.
  bool Send(const std::string& routing_id, Connection& connection, const std::string& bytes);
  // Sends what the TLS session has for the peer; false if it could not be sent.
  bool Flush(const std::string& routing_id, Connection& connection);
  bool SendFrame(const std::string& routing_id, const std::string& bytes);
  void Close(const std::string& routing_id);
  void Forget(const std::string& routing_id);  // without closing (the client hung up)

  zmq::socket_t socket_;
  ConfigApi* api_;
  frontend::RequestLimits limits_;
  std::string token_;  // empty: no token required
  const TlsServerContext* tls_ = nullptr;  // null: plain HTTP
  std::unordered_map<std::string, std::unique_ptr<Connection>> connections_;  // by STREAM routing id
  std::function<uint64_t()> current_seq_;  // unset: answers go at once
  size_t deferred_count_ = 0;
};

}  // namespace upmesh::router
