#include "router/config_listener.h"

#include <vector>

#include "shared/api_token.h"
#include "shared/clock.h"
#include "shared/log.h"

namespace upmesh::router {
namespace {

constexpr int kBatch = 256;

const char* Reason(int status) {
  return status == 409 ? "Conflict" : http::ReasonPhrase(status);  // 409 is ours alone
}

}  // namespace

ConfigListener::ConfigListener(zmq::context_t& context, ConfigApi* api)
    : socket_(context, zmq::socket_type::stream), api_(api) {
  limits_.max_body_bytes = api->max_body_bytes();
}

Status ConfigListener::Bind(const std::string& address, uint16_t port) {
  bool ipv6 = address.find(':') != std::string::npos;
  std::string endpoint = "tcp://" + (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  socket_.set(zmq::sockopt::sndhwm, 100000);
  socket_.set(zmq::sockopt::linger, 1000);
  if (ipv6) socket_.set(zmq::sockopt::ipv6, 1);
  try {
    socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return Status::IoError("cannot bind the config API on " + endpoint +
                           " (configService.address / configService.port, --config-address / --config-port): " +
                           e.what());
  }
  LOG_INFO("config API on %s", endpoint.c_str());
  return Status::Ok();
}

void ConfigListener::OnReadable() {
  for (int i = 0; i < kBatch; ++i) {
    zmq::message_t id;
    if (!socket_.recv(id, zmq::recv_flags::dontwait)) return;
    zmq::message_t data;
    (void)socket_.recv(data);  // a STREAM message is always [id][data]
    std::string routing_id(static_cast<const char*>(id.data()), id.size());
    auto it = connections_.find(routing_id);
    if (data.size() == 0) {
      // Empty data: a connect notification for a new id, a hang-up for a known one.
      if (it != connections_.end()) {
        Forget(routing_id);
      } else if (connections_.size() >= kMaxConnections) {
        LOG_WARN("config API: %zu connections open; closing a new one", connections_.size());
        Close(routing_id);
      } else {
        auto connection = std::make_unique<Connection>(limits_);
        if (tls_) connection->tls = std::make_unique<TlsSession>(*tls_);
        connection->last_activity_ms = NowMs();
        connections_.emplace(routing_id, std::move(connection));
      }
      continue;
    }
    if (it == connections_.end()) continue;  // data racing a close we asked for
    Connection& connection = *it->second;
    const char* bytes = static_cast<const char*>(data.data());
    if (connection.tls) {
      OnCiphertext(routing_id, connection, bytes, data.size());
    } else {
      OnData(routing_id, connection, bytes, data.size());
    }
  }
}

void ConfigListener::OnCiphertext(const std::string& routing_id, Connection& connection, const char* data,
                                  size_t len) {
  if (connection.close_at_ms) return;  // refused: closing after the linger
  connection.last_activity_ms = NowMs();
  std::string plaintext;
  bool fine = connection.tls->Feed(data, len, &plaintext);
  if (!Flush(routing_id, connection)) return Close(routing_id);
  if (!fine) {
    const std::string& error = connection.tls->error();
    bool plain_http = error.find("http request") != std::string::npos;
    LOG_WARN_THROTTLED("config API: closing a connection: TLS %s%s", error.c_str(),
                       plain_http ? " (plain HTTP sent to the TLS port)" : "");
    connection.close_at_ms = NowMs() + kLingerMs;  // the alert reaches the client first
    return;
  }
  bool peer_closed = connection.tls->peer_closed();
  if (!plaintext.empty()) OnData(routing_id, connection, plaintext.data(), plaintext.size());  // may close it
  auto it = connections_.find(routing_id);
  if (peer_closed && it != connections_.end() && !it->second->close_at_ms) {
    it->second->close_at_ms = NowMs() + kLingerMs;  // close_notify: the client sends nothing more
  }
}

void ConfigListener::OnData(const std::string& routing_id, Connection& connection, const char* data, size_t len) {
  if (connection.close_at_ms) return;  // refused: closing after the linger
  connection.last_activity_ms = NowMs();
  frontend::RequestAssembler& assembler = connection.assembler;
  size_t offset = 0;
  while (offset < len) {
    offset += assembler.Feed(data + offset, len - offset);
    if (assembler.failed()) {
      ApiResponse refusal;
      if (assembler.error_status() == 413) {
        refusal = api_->BodyTooLarge();
      } else {
        refusal.status = assembler.error_status();
        refusal.body = assembler.error_detail() + "\n";
      }
      LOG_INFO("config API: refused a request: %d %s", refusal.status, refusal.body.c_str());
      if (!Respond(routing_id, connection, refusal, /*head_only=*/false, /*close=*/true)) return Close(routing_id);
      // Linger: a client still sending its body would otherwise get a reset
      // instead of the response. What else it sends is discarded.
      connection.close_at_ms = NowMs() + kLingerMs;
      return;
    }
    if (assembler.TakeContinueRequest()) {
      if (!Send(routing_id, connection, "HTTP/1.1 100 Continue\r\n\r\n")) return Close(routing_id);
    }
    if (assembler.request_ready()) {
      frontend::Request request = assembler.TakeRequest();
      ApiResponse response;
      uint64_t seq_before = current_seq_ ? current_seq_() : 0;
      if (!Unauthorized(request.fields, &response)) {
        response = api_->Handle({request.method, request.target, std::move(request.body)}, WallClockMs());
      }
      LOG_DEBUG("config API: %s %s -> %d", request.method.c_str(), request.target.c_str(), response.status);
      uint64_t seq_after = current_seq_ ? current_seq_() : 0;
      if (seq_after != seq_before || !connection.deferred.empty()) {
        connection.deferred.push_back({seq_after != seq_before ? seq_after : 0, std::move(response), request.is_head,
                                       !request.keep_alive});
        ++deferred_count_;
        if (!request.keep_alive) {
          connection.close_at_ms = NowMs() + kLingerMs;  // nothing after it is read; renewed once sent
          return;
        }
        continue;
      }
      if (!Respond(routing_id, connection, response, request.is_head, !request.keep_alive)) return Close(routing_id);
      if (!request.keep_alive) {
        // Not closed at once: libzmq drops a STREAM peer's unsent bytes when
        // told to close it. The client hangs up first once it has the
        // response; if it does not, the sweep closes after the linger.
        connection.close_at_ms = NowMs() + kLingerMs;
        return;
      }
    }
  }
}

void ConfigListener::ReleaseAnswers(uint64_t released_seq) {
  if (deferred_count_ == 0) return;
  std::vector<std::string> failed;
  for (auto& [routing_id, connection] : connections_) {
    std::deque<Deferred>& deferred = connection->deferred;
    while (!deferred.empty() && deferred.front().seq <= released_seq) {
      Deferred answer = std::move(deferred.front());
      deferred.pop_front();
      --deferred_count_;
      if (!Respond(routing_id, *connection, answer.response, answer.head_only, answer.close)) {
        failed.push_back(routing_id);
        break;
      }
      if (answer.close) connection->close_at_ms = NowMs() + kLingerMs;  // as OnData does
    }
  }
  for (const std::string& routing_id : failed) Close(routing_id);
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
  if (!connection.tls) return SendFrame(routing_id, bytes);
  return connection.tls->Write(bytes) && Flush(routing_id, connection);
}

bool ConfigListener::Flush(const std::string& routing_id, Connection& connection) {
  std::string ciphertext = connection.tls->TakeOutput();
  return ciphertext.empty() || SendFrame(routing_id, ciphertext);
}

bool ConfigListener::SendFrame(const std::string& routing_id, const std::string& bytes) {
  try {
    if (!socket_.send(zmq::buffer(routing_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
    return socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait).has_value();
  } catch (const zmq::error_t& e) {
    LOG_DEBUG("config API: send failed: %s", e.what());
    return false;
  }
}

void ConfigListener::Close(const std::string& routing_id) {
  SendFrame(routing_id, "");  // an empty frame closes a STREAM connection
  Forget(routing_id);
}

void ConfigListener::Forget(const std::string& routing_id) {
  auto it = connections_.find(routing_id);
  if (it == connections_.end()) return;
  deferred_count_ -= it->second->deferred.size();
  connections_.erase(it);
}

void ConfigListener::Sweep(int64_t now_ms) {
  std::vector<std::string> idle;
  for (const auto& [routing_id, connection] : connections_) {
    bool lingered = connection->close_at_ms && now_ms >= connection->close_at_ms && connection->deferred.empty();
    if (lingered || now_ms - connection->last_activity_ms > kIdleTimeoutMs) idle.push_back(routing_id);
  }
  for (const std::string& routing_id : idle) Close(routing_id);
}

}  // namespace upmesh::router
