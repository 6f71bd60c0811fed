#include "router/config_listener.h"

#include <iterator>
#include <vector>

#include "router/dashboard_assets.h"
#include "shared/api_token.h"
#include "shared/clock.h"
#include "shared/log.h"

namespace upmesh::router {
namespace {

constexpr int kBatch = 256;

const char* Reason(int status) {
  return status == 409 ? "Conflict" : http::ReasonPhrase(status);  // 409 is ours alone
}

ConnectionDeadlines::Settings WithLinger(ConnectionDeadlines::Settings settings) {
  settings.linger_ms = ConfigListener::kLingerMs;
  return settings;
}

}  // namespace

ConfigListener::ConfigListener(zmq::context_t& context, ConfigApi* api, const ConnectionDeadlines::Settings& settings)
    : socket_(context, zmq::socket_type::stream), api_(api), deadlines_(WithLinger(settings)) {
  limits_.max_body_bytes = api->max_body_bytes();
  max_unparsed_bytes_ = limits_.max_header_bytes + limits_.max_body_bytes;
}

Status ConfigListener::Bind(const std::string& address, uint16_t port) {
  bool ipv6 = address.find(':') != std::string::npos;
  std::string endpoint = "tcp://" + (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  socket_.set(zmq::sockopt::sndhwm, kSendHighWater);
  socket_.set(zmq::sockopt::linger, 1000);
  // A client that reads nothing leaves no room in its pipe for the close: the kernel drops it instead.
  socket_.set(zmq::sockopt::tcp_maxrt, static_cast<int>(deadlines_.settings().request_timeout_ms));
  if (ipv6) socket_.set(zmq::sockopt::ipv6, 1);
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot bind the config API on " + endpoint +
                           " (configService.address / configService.port, --config-address / --config-port): " +
                           e.what());
  }
  LOG_INFO("config API on %s (at most %zu connections, requests within %lld ms, idle %lld ms)", endpoint.c_str(),
           deadlines_.settings().max_connections,
           static_cast<long long>(deadlines_.settings().request_timeout_ms),
           static_cast<long long>(deadlines_.settings().idle_timeout_ms));
  return Status::Ok();
}

void ConfigListener::OnReadable() {
  for (int i = 0; i < kBatch; ++i) {
    zmq::message_t id;
    if (!socket_.recv(id, zmq::recv_flags::dontwait)) break;
    zmq::message_t data;
    (void)socket_.recv(data);  // a STREAM message is always [id][data]
    std::string routing_id(static_cast<const char*>(id.data()), id.size());
    auto it = connections_.find(routing_id);
    if (data.size() == 0) {
      // Empty data: a connect notification for a new id, a hang-up for a known one.
      if (it != connections_.end()) {
        Forget(routing_id);
      } else if (unclosed_.erase(routing_id) == 0) {
        Admit(routing_id, NowMs());
      }  // else: the hang-up of one we could not close (STREAM ids are never reused)
      continue;
    }
    if (it == connections_.end()) continue;  // data racing a close we asked for
    Connection& connection = *it->second;
    const char* bytes = static_cast<const char*>(data.data());
    if (connection.tls) {
      OnCiphertext(routing_id, connection, bytes, data.size());
    } else if (OnData(routing_id, connection, bytes, data.size())) {
      Settle(routing_id, connection, NowMs());
    }
  }
  if (!blocked_.empty()) RetryOutboxes(NowMs());
}

void ConfigListener::Admit(const std::string& routing_id, int64_t now) {
  ConnectionDeadlines::Victim victim;
  if (deadlines_.Admit(routing_id, now, &victim)) {
    ++evicted_;
    LOG_WARN_THROTTLED("config API: %zu connections open (configService.maxConnections): closed the one waiting "
                       "longest (%s for %lld ms) to let a new one in; %llu closed so far",
                       deadlines_.settings().max_connections, PhaseName(victim.phase),
                       static_cast<long long>(victim.waited_ms), static_cast<unsigned long long>(evicted_));
    Close(victim.id);
  }
  auto connection = std::make_unique<Connection>(limits_);
  if (tls_) connection->tls = std::make_unique<TlsSession>(*tls_);
  connections_[routing_id] = std::move(connection);
}

void ConfigListener::OnCiphertext(const std::string& routing_id, Connection& connection, const char* data,
                                  size_t len) {
  if (connection.closing) return;  // refused: closing after the linger
  std::string plaintext;
  bool fine = connection.tls->Feed(data, len, &plaintext);
  if (!Flush(routing_id, connection)) return Close(routing_id);
  if (!fine) {
    const std::string& error = connection.tls->error();
    bool plain_http = error.find("http request") != std::string::npos;
    LOG_WARN_THROTTLED("config API: closing a connection: TLS %s%s", error.c_str(),
                       plain_http ? " (plain HTTP sent to the TLS port)" : "");
    Finish(connection);  // the alert reaches the client first
    return Settle(routing_id, connection, NowMs());
  }
  bool peer_closed = connection.tls->peer_closed();
  if (!plaintext.empty() && !OnData(routing_id, connection, plaintext.data(), plaintext.size())) return;
  if (peer_closed) Finish(connection);  // close_notify: the client sends nothing more
  Settle(routing_id, connection, NowMs());
}

bool ConfigListener::OnData(const std::string& routing_id, Connection& connection, const char* data, size_t len) {
  if (connection.closing) return true;  // refused or answered for the last time: discarded
  if (!connection.outbox.empty() || connection.deferred) {
    // Its last answer is not out: read no further request until it is (a client that
    // pipelines without reading must not make the router queue answers without bound).
    if (connection.unparsed.size() + len > max_unparsed_bytes_) {
      LOG_INFO_THROTTLED("config API: closing a connection that sends requests but does not read the answers");
      Close(routing_id);
      return false;
    }
    connection.unparsed.append(data, len);
    return true;
  }
  http::RequestReader& reader = connection.reader;
  size_t offset = 0;
  while (offset < len) {
    offset += reader.Feed(data + offset, len - offset);
    if (reader.failed()) {
      ApiResponse refusal;
      if (reader.error_status() == 413) {
        refusal = api_->BodyTooLarge();
      } else {
        refusal.status = reader.error_status();
        refusal.body = reader.error_detail() + "\n";
      }
      LOG_INFO("config API: refused a request: %d %s", refusal.status, refusal.body.c_str());
      if (!Respond(routing_id, connection, refusal, /*head_only=*/false, /*close=*/true)) {
        Close(routing_id);
        return false;
      }
      // Linger: a client still sending its body would otherwise get a reset
      // instead of the response. What else it sends is discarded.
      Finish(connection);
      return true;
    }
    if (reader.TakeContinueRequest()) {
      // A client without the right token is refused before it is invited to send its body.
      ApiResponse refusal;
      if (Unauthorized(reader.fields(), &refusal)) {
        if (!Respond(routing_id, connection, refusal, /*head_only=*/false, /*close=*/true)) {
          Close(routing_id);
          return false;
        }
        Finish(connection);  // its body, if it sends it anyway, is discarded
        return true;
      }
      if (!Send(routing_id, connection, "HTTP/1.1 100 Continue\r\n\r\n")) {
        Close(routing_id);
        return false;
      }
    }
    if (!reader.request_ready()) continue;
    http::Request request = reader.TakeRequest();
    ApiResponse response;
    uint64_t seq_before = current_seq_ ? current_seq_() : 0;
    // The dashboard's files hold no data: a browser opening the page cannot send a token.
    bool is_public = IsDashboardPath(request.target.substr(0, request.target.find('?')));
    if (is_public || !Unauthorized(request.fields, &response)) {
      response = api_->Handle({request.method, request.target, std::move(request.body)}, WallClockMs());
    }
    LOG_DEBUG("config API: %s %s -> %d", request.method.c_str(), request.target.c_str(), response.status);
    uint64_t seq_after = current_seq_ ? current_seq_() : 0;
    if (seq_after != seq_before) {
      connection.deferred = Deferred{seq_after, std::move(response), request.is_head, !request.keep_alive};
      ++deferred_count_;
      deadlines_.Answering(routing_id);
      if (!request.keep_alive) {
        connection.closing = true;  // nothing after it is read
      } else {
        connection.unparsed.assign(data + offset, len - offset);  // read once it is answered
      }
      return true;
    }
    if (!Respond(routing_id, connection, response, request.is_head, !request.keep_alive)) {
      Close(routing_id);
      return false;
    }
    if (!request.keep_alive) {
      // Not closed at once: libzmq drops a STREAM peer's unsent bytes when
      // told to close it. The client hangs up first once it has the
      // response; if it does not, the sweep closes after the linger.
      Finish(connection);
      return true;
    }
    if (!connection.outbox.empty()) {
      connection.unparsed.assign(data + offset, len - offset);  // read once the answer is out
      return true;
    }
    deadlines_.Answered(routing_id, NowMs());
  }
  return true;
}

void ConfigListener::Settle(const std::string& routing_id, Connection& connection, int64_t now) {
  if (!connection.outbox.empty()) return;  // kSending until it drains
  if (connection.deferred) return;         // kAnswering until ReleaseAnswers
  ConnectionDeadlines::Phase phase = deadlines_.PhaseOf(routing_id);
  if (connection.closing) {
    if (phase != ConnectionDeadlines::Phase::kClosing) deadlines_.Closing(routing_id, now);
    return;
  }
  if (phase == ConnectionDeadlines::Phase::kSending || phase == ConnectionDeadlines::Phase::kAnswering) {
    deadlines_.Answered(routing_id, now);
  }
  if (connection.reader.in_progress()) deadlines_.RequestBegan(routing_id, now);
}

void ConfigListener::Finish(Connection& connection) {
  connection.closing = true;
  connection.unparsed.clear();
}

bool ConfigListener::Unauthorized(const http::FieldList& fields, ApiResponse* refusal) const {
  if (token_.empty()) return false;
  int count = http::CountFields(fields, "Authorization");
  std::string presented;
  bool parsed = count == 1 && ParseBearerCredentials(*http::FindField(fields, "Authorization"), &presented);
  // Compared even when absent, so a missing token costs the same time as a wrong one.
  bool match = TokensMatch(presented, token_);
  if (parsed && match) return false;
  refusal->status = 401;
  if (count == 0) {
    refusal->body = "this API needs a token: send \"Authorization: Bearer TOKEN\" "
                    "(upmeshctl: --token-file FILE or the environment variable UPMESH_API_TOKEN)\n";
    refusal->extra_fields.push_back({"WWW-Authenticate", "Bearer realm=\"upmesh\""});
  } else {
    refusal->body = parsed ? "the API token is wrong\n"
                           : "the Authorization field must be exactly one \"Bearer TOKEN\"\n";
    refusal->extra_fields.push_back({"WWW-Authenticate", "Bearer realm=\"upmesh\", error=\"invalid_token\""});
  }
  LOG_INFO("config API: 401 (%s)", count == 0 ? "no token" : parsed ? "wrong token" : "malformed Authorization");
  return true;
}

bool ConfigListener::Respond(const std::string& routing_id, Connection& connection, const ApiResponse& response,
                             bool head_only, bool close) {
  std::string bytes = "HTTP/1.1 " + std::to_string(response.status) + " " + Reason(response.status) + "\r\n";
  http::AppendField(&bytes, "Content-Type", response.content_type);
  http::AppendField(&bytes, "Content-Length", std::to_string(response.body.size()));
  for (const http::Field& field : response.extra_fields) http::AppendField(&bytes, field.name, field.value);
  if (close) http::AppendField(&bytes, "Connection", "close");
  bytes += "\r\n";
  if (!head_only) bytes += response.body;
  if (!close || !connection.tls) return Send(routing_id, connection, bytes);
  if (!connection.tls->Write(bytes)) return false;
  connection.tls->Shutdown();  // close_notify: nothing follows this response
  return Flush(routing_id, connection);
}

bool ConfigListener::Send(const std::string& routing_id, Connection& connection, const std::string& bytes) {
  if (!connection.tls) return Deliver(routing_id, connection, bytes);
  return connection.tls->Write(bytes) && Flush(routing_id, connection);
}

bool ConfigListener::Flush(const std::string& routing_id, Connection& connection) {
  std::string ciphertext = connection.tls->TakeOutput();
  return ciphertext.empty() || Deliver(routing_id, connection, ciphertext);
}

bool ConfigListener::Deliver(const std::string& routing_id, Connection& connection, const std::string& bytes) {
  if (!connection.outbox.empty()) {
    connection.outbox += bytes;  // in order, behind what is waiting
    return true;
  }
  switch (SendFrame(routing_id, bytes)) {
    case SendResult::kSent: return true;
    case SendResult::kGone: return false;
    case SendResult::kFull: break;
  }
  connection.outbox = bytes;
  blocked_.insert(routing_id);
  deadlines_.Blocked(routing_id, NowMs());
  return true;
}

ConfigListener::SendResult ConfigListener::SendFrame(const std::string& routing_id, const std::string& bytes) {
  try {
    if (!socket_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      return SendResult::kFull;  // EAGAIN: this client's pipe is full
    }
    (void)socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
    return SendResult::kSent;
  } catch (const zmq::error_t& e) {
    LOG_DEBUG("config API: send failed: %s", e.what());  // EHOSTUNREACH: its hang-up is on its way
    return SendResult::kGone;
  }
}

void ConfigListener::RetryOutboxes(int64_t now) {
  std::vector<std::string> ids(blocked_.begin(), blocked_.end());
  for (const std::string& routing_id : ids) {
    auto it = connections_.find(routing_id);
    if (it == connections_.end()) {
      blocked_.erase(routing_id);
      continue;
    }
    Connection& connection = *it->second;
    SendResult sent = SendFrame(routing_id, connection.outbox);
    if (sent == SendResult::kFull) continue;
    if (sent == SendResult::kGone) {
      Forget(routing_id);
      continue;
    }
    blocked_.erase(routing_id);
    connection.outbox.clear();
    Settle(routing_id, connection, now);
    ReadUnparsed(routing_id, connection, now);
  }
}

void ConfigListener::ReadUnparsed(const std::string& routing_id, Connection& connection, int64_t now) {
  if (!connection.outbox.empty() || connection.deferred) return;
  std::string pending = std::move(connection.unparsed);
  connection.unparsed.clear();
  if (!pending.empty() && OnData(routing_id, connection, pending.data(), pending.size())) {
    Settle(routing_id, connection, now);
  }
}

void ConfigListener::ReleaseAnswers(uint64_t released_seq) {
  if (deferred_count_ == 0) return;
  std::vector<std::string> ready;
  for (const auto& [routing_id, connection] : connections_) {
    if (connection->deferred && connection->deferred->seq <= released_seq) ready.push_back(routing_id);
  }
  int64_t now = NowMs();
  for (const std::string& routing_id : ready) {
    Connection& connection = *connections_.at(routing_id);
    Deferred answer = std::move(*connection.deferred);
    connection.deferred.reset();
    --deferred_count_;
    if (!Respond(routing_id, connection, answer.response, answer.head_only, answer.close)) {
      Close(routing_id);
      continue;
    }
    if (answer.close) Finish(connection);  // closes after the linger, as OnData does
    Settle(routing_id, connection, now);
    ReadUnparsed(routing_id, connection, now);
  }
}

void ConfigListener::Close(const std::string& routing_id) {
  // An empty frame closes a STREAM connection; with the pipe full it cannot
  // be sent, and the kernel's TCP_USER_TIMEOUT ends that connection instead.
  if (SendFrame(routing_id, "") == SendResult::kFull) unclosed_.insert(routing_id);
  Forget(routing_id);
}

void ConfigListener::Forget(const std::string& routing_id) {
  auto it = connections_.find(routing_id);
  if (it != connections_.end() && it->second->deferred) --deferred_count_;
  connections_.erase(routing_id);
  deadlines_.Forget(routing_id);
  blocked_.erase(routing_id);
}

void ConfigListener::Sweep(int64_t now_ms) {
  if (!blocked_.empty()) RetryOutboxes(now_ms);
  for (auto it = unclosed_.begin(); it != unclosed_.end();) {
    it = SendFrame(*it, "") == SendResult::kFull ? std::next(it) : unclosed_.erase(it);
  }
  for (const auto& [routing_id, phase] : deadlines_.Expired(now_ms)) Expire(routing_id, phase, now_ms);
}

void ConfigListener::Expire(const std::string& routing_id, ConnectionDeadlines::Phase phase, int64_t now) {
  auto it = connections_.find(routing_id);
  if (it == connections_.end()) return deadlines_.Forget(routing_id);
  Connection& connection = *it->second;
  bool began = connection.reader.in_progress() && (!connection.tls || connection.tls->handshake_done());
  if (phase != ConnectionDeadlines::Phase::kRequest || !began) {
    if (phase == ConnectionDeadlines::Phase::kSending) {
      LOG_INFO_THROTTLED("config API: closing a connection that did not read its answer within %lld ms "
                         "(configService.requestTimeoutMs)",
                         static_cast<long long>(deadlines_.settings().request_timeout_ms));
    }
    return Close(routing_id);
  }
  LOG_INFO_THROTTLED("config API: 408: a request was not complete within %lld ms (configService.requestTimeoutMs)",
                     static_cast<long long>(deadlines_.settings().request_timeout_ms));
  ApiResponse timeout;
  timeout.status = 408;
  timeout.body = "the request did not arrive in full within " +
                 std::to_string(deadlines_.settings().request_timeout_ms) + " ms\n";
  if (!Respond(routing_id, connection, timeout, /*head_only=*/false, /*close=*/true)) return Close(routing_id);
  Finish(connection);
  Settle(routing_id, connection, now);
}

}  // namespace upmesh::router
