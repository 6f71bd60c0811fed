#include "backend/request_handler.h"

#include <nlohmann/json.hpp>

namespace upmesh::backend {
namespace {

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kJson = "application/json";

// The query part of an origin-form or absolute-form target ("" if none).
std::string_view QueryOf(std::string_view target) {
  size_t question = target.find('?');
  if (question == std::string_view::npos) return {};
  std::string_view query = target.substr(question + 1);
  return query.substr(0, query.find('#'));
}

std::string_view PathOf(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

// RFC 9110 6.4.1: these responses never carry content.
bool StatusAllowsBody(int status) { return status >= 200 && status != 204 && status != 304; }

// Connection field plus the blank line that ends the head.
void EndHead(const ParsedRequest& request, bool keep_alive, std::string* head) {
  if (!keep_alive) {
    http::AppendField(head, "Connection", "close");
  } else if (request.http_major == 1 && request.http_minor == 0) {
    http::AppendField(head, "Connection", "keep-alive");
  }
  head->append("\r\n");
}

}  // namespace

RequestHandler::RequestHandler(std::string name, int port, const ResponseOptions& defaults,
                               ServerStats* stats)
    : name_(std::move(name)),
      port_(port),
      port_text_(std::to_string(port)),
      defaults_(defaults),
      stats_(stats) {}

bool RequestHandler::WantsBodyDigest(std::string_view target) const {
  ResponseOptions options;
  return ParseResponseOptions(QueryOf(target), defaults_, &options).ok() && options.echo;
}

std::string RequestHandler::HeadStart(int status) const {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + http::ReasonPhrase(status) + "\r\n";
  http::AppendField(&head, "X-Backend-Version", name_);
  http::AppendField(&head, "X-Backend-Port", port_text_);
  return head;
}

ResponseStream RequestHandler::Simple(const ParsedRequest& request, int status,
                                      std::string_view content_type, std::string body) const {
  std::string head = HeadStart(status);
  http::AppendField(&head, "Content-Type", content_type);
  http::AppendField(&head, "Content-Length", std::to_string(body.size()));
  EndHead(request, request.keep_alive, &head);
  bool is_head = request.method == "HEAD";
  return ResponseStream::Text(std::move(head), std::move(body), false,
                              is_head ? ResponseStream::BodyPart::kNone : ResponseStream::BodyPart::kAll,
                              request.keep_alive ? ResponseStream::Ending::kKeepAlive
                                                 : ResponseStream::Ending::kClose);
}

ResponseStream RequestHandler::MalformedRequest(std::string_view detail) const {
  http::SimpleResponse simple = http::MakeSimpleResponse(400, detail);
  std::string head = HeadStart(400);
  // MakeSimpleResponse's head minus its status line: Content-Type, Content-Length.
  head.append(simple.head, simple.head.find("\r\n") + 2);
  http::AppendField(&head, "Connection", "close");
  head.append("\r\n");
  return ResponseStream::Text(std::move(head), std::move(simple.body), false,
                              ResponseStream::BodyPart::kAll, ResponseStream::Ending::kClose);
}

std::string RequestHandler::EchoJson(const ParsedRequest& request) const {
  nlohmann::json headers = nlohmann::json::array();
  for (const http::Field& field : request.fields) headers.push_back({field.name, field.value});
  nlohmann::json echo = {
      {"version", name_},
      {"port", port_},
      {"method", request.method},
      {"target", request.target},
      {"headers", std::move(headers)},
      {"bodyLength", request.body_length},
      {"bodySha256", request.body_sha256},
  };
  // Header bytes need not be UTF-8; replace rather than throw.
  return echo.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Reply RequestHandler::Handle(const ParsedRequest& request) {
  if (PathOf(request.target) == "/__stats") {
    nlohmann::json stats = {{"requests", stats_->requests}, {"connections", stats_->connections}};
    return Reply{Simple(request, 200, kJson, stats.dump() + "\n"), 0};
  }
  ++stats_->requests;

  ResponseOptions options;
  Status parsed = ParseResponseOptions(QueryOf(request.target), defaults_, &options);
  if (!parsed.ok()) {
    return Reply{Simple(request, 400, kTextPlain, "400 Bad Request: " + parsed.message() + "\n"), 0};
  }
  if (request.method == "CONNECT") {
    return Reply{MalformedRequest("CONNECT is not supported"), 0};
  }

  const bool keep_alive = request.keep_alive && !options.close && !options.drop;
  const bool has_body = StatusAllowsBody(options.status);
  // Chunked framing does not exist in HTTP/1.0: such clients get Content-Length.
  const bool chunked = options.chunked && has_body && (request.http_major > 1 || request.http_minor >= 1);

  std::string body_text;
  uint64_t body_length;
  std::string_view content_type = kTextPlain;
  if (options.echo) {
    body_text = EchoJson(request);
    body_length = body_text.size();
    content_type = kJson;
  } else if (options.has_size) {
    body_length = options.size;
  } else {
    body_text = "upmesh-backend " + name_ + " port " + port_text_ + "\n";
    body_length = body_text.size();
  }

  std::string head = HeadStart(options.status);
  if (has_body) {
    http::AppendField(&head, "Content-Type", content_type);
    if (chunked) {
      http::AppendField(&head, "Transfer-Encoding", "chunked");
    } else {
      http::AppendField(&head, "Content-Length", std::to_string(body_length));
    }
  }
  EndHead(request, keep_alive, &head);

  using BodyPart = ResponseStream::BodyPart;
  using Ending = ResponseStream::Ending;
  BodyPart part = BodyPart::kAll;
  if (!has_body || request.method == "HEAD") {
    part = BodyPart::kNone;
  } else if (options.drop) {
    part = BodyPart::kHalf;
  }
  Ending ending = options.drop ? Ending::kReset : keep_alive ? Ending::kKeepAlive : Ending::kClose;

  if (options.has_size) {
    return Reply{ResponseStream::Pattern(std::move(head), body_length, chunked, part, ending),
                 options.delay_ms};
  }
  return Reply{ResponseStream::Text(std::move(head), std::move(body_text), chunked, part, ending),
               options.delay_ms};
}

}  // namespace upmesh::backend

