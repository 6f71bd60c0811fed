#include "shared/metrics_endpoint.h"

#include <algorithm>

#include "shared/http_fields.h"
#include "shared/zmq_frame.h"

namespace upmesh {
namespace {

constexpr char kMetricsContentType[] = "text/plain; version=0.0.4; charset=utf-8";

http::RequestLimits EndpointLimits() {
  http::RequestLimits limits;
  limits.max_header_bytes = 8 * 1024;
  limits.max_target_bytes = 1024;
  limits.max_body_bytes = 4 * 1024;  // read, then refused (405): only GET and HEAD are served
  return limits;
}

}  // namespace

MetricsEndpoint::MetricsEndpoint(zmq::context_t* context, Render render)
    : socket_(*context, zmq::socket_type::stream), render_(std::move(render)) {
  socket_.set(zmq::sockopt::linger, 0);
}

Status MetricsEndpoint::Bind(const std::string& address, int port) {
  bool ipv6 = address.find(':') != std::string::npos;
  std::string endpoint = "tcp://" + (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  try {
    if (ipv6) socket_.set(zmq::sockopt::ipv6, 1);
    socket_.bind(endpoint);
  } catch (const zmq::error_t& error) {
    return Status::IoError("metrics port " + endpoint + ": " + error.what());
  }
  return Status::Ok();
}

void MetricsEndpoint::HandleReadable(int64_t now_ms) {
  while (ReceiveMultipart(socket_, &frames_)) {
    if (frames_.size() != 2) continue;
    std::string id(View(frames_[0]));
    OnBytes(id, View(frames_[1]), now_ms);
  }
}

void MetricsEndpoint::OnBytes(const std::string& id, std::string_view bytes, int64_t now_ms) {
  auto found = connections_.find(id);
  if (bytes.empty()) {  // ZMQ_STREAM: a connection opened, or closed
    if (found != connections_.end()) {
      connections_.erase(found);
      return;
    }
    if (connections_.size() >= kMaxConnections) {
      auto oldest = std::min_element(connections_.begin(), connections_.end(), [](const auto& a, const auto& b) {
        return a.second->opened_ms < b.second->opened_ms;
      });
      Close(oldest->first);
    }
    auto connection = std::make_unique<Connection>(EndpointLimits());
    connection->opened_ms = now_ms;
    connections_.emplace(id, std::move(connection));
    return;
  }
  if (found == connections_.end()) return;
  Connection* connection = found->second.get();
  if (connection->close_at_ms) return;  // answered: what else it sends is not read
  connection->unread.append(bytes);
  size_t used = connection->reader.Feed(connection->unread.data(), connection->unread.size());
  connection->unread.erase(0, used);
  http::RequestReader& reader = connection->reader;
  if (reader.failed()) {
    Answer(connection, id, reader.error_status(), std::string(http::ReasonPhrase(reader.error_status())) + "\n",
           false, now_ms);
  } else if (reader.request_ready()) {
    http::Request request = reader.TakeRequest();
    bool get = request.method == "GET" || request.method == "HEAD";
    std::string path = request.target.substr(0, request.target.find('?'));
    if (!get) {
      Answer(connection, id, 405, "only GET and HEAD\n", false, now_ms);
    } else if (path != "/metrics") {
      Answer(connection, id, 404, "not found: this port serves /metrics\n", request.is_head, now_ms);
    } else {
      Answer(connection, id, 200, render_(), request.is_head, now_ms);
    }
  }
}

void MetricsEndpoint::Answer(Connection* connection, const std::string& id, int status, const std::string& body,
                             bool head_only, int64_t now_ms) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + http::ReasonPhrase(status) + "\r\n";
  http::AppendField(&head, "Content-Type", status == 200 ? kMetricsContentType : "text/plain; charset=utf-8");
  http::AppendField(&head, "Content-Length", std::to_string(body.size()));
  if (status == 405) http::AppendField(&head, "Allow", "GET, HEAD");
  http::AppendField(&head, "Cache-Control", "no-store");
  http::AppendField(&head, "Connection", "close");
  head.append("\r\n");
  if (!head_only) head.append(body);
  try {
    if (socket_.send(Frame(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)socket_.send(Frame(head), zmq::send_flags::dontwait);
    }
  } catch (const zmq::error_t&) {
    // The client is gone; its close notification is on its way.
  }
  connection->close_at_ms = now_ms + kLingerMs;
}

void MetricsEndpoint::Sweep(int64_t now_ms) {
  std::vector<std::string> late;
  for (const auto& [id, connection] : connections_) {
    bool answered = connection->close_at_ms != 0;
    if ((answered && now_ms >= connection->close_at_ms) ||
        (!answered && now_ms - connection->opened_ms > kRequestTimeoutMs)) {
      late.push_back(id);
    }
  }
  for (const std::string& id : late) Close(id);
}

void MetricsEndpoint::Close(const std::string& id) {
  try {
    if (socket_.send(Frame(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)socket_.send(zmq::message_t(), zmq::send_flags::dontwait);
    }
  } catch (const zmq::error_t&) {
  }
  connections_.erase(id);
}

}  // namespace upmesh
