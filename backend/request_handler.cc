#include "backend/request_handler.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "shared/log.h"

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
  } else if (request.http_minor == 0) {
    http::AppendField(head, "Connection", "keep-alive");
  }
  head->append("\r\n");
}

// True if request number `i` (from 1) is one of the `percent` in 100 that
// fail: floor(i*P/100) steps up exactly P times in any 100 consecutive numbers.
bool InjectsError(uint64_t i, int percent) {
  uint64_t p = static_cast<uint64_t>(percent);
  return i * p / 100 > (i - 1) * p / 100;
}

std::string DefaultsJson(const Defaults& defaults) {
  const ResponseOptions& response = defaults.response;
  nlohmann::ordered_json size = nullptr;  // null: the text body
  if (response.has_size) size = response.size;
  nlohmann::ordered_json json = {
      {"status", response.status},
      {"delayMs", response.delay_ms},
      {"size", std::move(size)},
      {"errorPercent", defaults.error_percent},
  };
  return json.dump();
}

}  // namespace

int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RequestHandler::RequestHandler(std::string name, int port, const Defaults& defaults, ServerStats* stats,
                               std::function<int64_t()> wall_clock)
    : name_(std::move(name)),
      port_(port),
      port_text_(std::to_string(port)),
      startup_(defaults),
      defaults_(defaults),
      stats_(stats),
      wall_clock_(std::move(wall_clock)) {}

bool RequestHandler::WantsBodyDigest(std::string_view target) const {
  ResponseOptions options;
  return ParseResponseOptions(QueryOf(target), defaults_.response, &options).ok() && options.echo;
}

std::string RequestHandler::HeadStart(int status) const {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " " + http::ReasonPhrase(status) + "\r\n";
  http::AppendField(&head, "X-Backend-Version", name_);
  http::AppendField(&head, "X-Backend-Port", port_text_);
  return head;
}

ResponseStream RequestHandler::Simple(const ParsedRequest& request, std::string head,
                                      std::string_view content_type, std::string body) const {
  http::AppendField(&head, "Content-Type", content_type);
  http::AppendField(&head, "Content-Length", std::to_string(body.size()));
  EndHead(request, request.keep_alive, &head);
  bool is_head = request.method == "HEAD";
  return ResponseStream::Text(std::move(head), std::move(body), false,
                              is_head ? ResponseStream::BodyPart::kNone : ResponseStream::BodyPart::kAll,
                              request.keep_alive ? ResponseStream::Ending::kKeepAlive
                                                 : ResponseStream::Ending::kClose);
}

ResponseStream RequestHandler::MalformedRequest(int status, std::string_view detail) const {
  http::SimpleResponse simple = http::MakeSimpleResponse(status, detail);
  std::string head = HeadStart(status);
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

ResponseStream RequestHandler::Stats(const ParsedRequest& request) const {
  nlohmann::ordered_json stats = {
      {"requests", stats_->requests},
      {"connections", stats_->connections},
      {"errors", stats_->errors},
      {"lastRequestAtMs", stats_->last_request_at_ms},
      {"firstInjectedErrorAtMs", stats_->first_injected_error_at_ms},
  };
  return Simple(request, HeadStart(200), kJson, stats.dump() + "\n");
}

ResponseStream RequestHandler::Control(const ParsedRequest& request) {
  if (request.method == "GET" || request.method == "HEAD") {
    return Simple(request, HeadStart(200), kJson, DefaultsJson(defaults_) + "\n");
  }
  if (request.method != "PUT" && request.method != "POST") {
    std::string head = HeadStart(405);
    http::AppendField(&head, "Allow", "GET, HEAD, PUT, POST");
    return Simple(request, std::move(head), kTextPlain,
                  "405 Method Not Allowed: /__control takes GET, HEAD, PUT or POST\n");
  }
  Status applied = ApplyControl(QueryOf(request.target), startup_, &defaults_);
  if (!applied.ok()) {
    return Simple(request, HeadStart(400), kTextPlain, "400 Bad Request: " + applied.message() + "\n");
  }
  stats_->first_injected_error_at_ms = 0;  // the new settings' first error is the one of interest
  std::string json = DefaultsJson(defaults_);
  LOG_INFO("defaults set through /__control: %s", json.c_str());
  return Simple(request, HeadStart(200), kJson, json + "\n");
}

Reply RequestHandler::Handle(const ParsedRequest& request) {
  std::string_view path = PathOf(request.target);
  if (path == "/__stats") return Reply{Stats(request), 0};
  if (path == "/__control") return Reply{Control(request), 0};
  ++stats_->requests;
  const int64_t now_ms = wall_clock_();
  stats_->last_request_at_ms = now_ms;

  // Decided before the query is even parsed, so the spread stays exact
  // whatever the requests ask for.
  if (InjectsError(stats_->requests, defaults_.error_percent)) {
    ++stats_->errors;
    if (stats_->first_injected_error_at_ms == 0) stats_->first_injected_error_at_ms = now_ms;
    return Reply{Simple(request, HeadStart(500), kTextPlain, "injected error\n"), 0};
  }

  ResponseOptions options;
  Status parsed = ParseResponseOptions(QueryOf(request.target), defaults_.response, &options);
  if (!parsed.ok()) {
    std::string body = "400 Bad Request: " + parsed.message() + "\n";
    return Reply{Simple(request, HeadStart(400), kTextPlain, std::move(body)), 0};
  }

  const bool keep_alive = request.keep_alive && !options.close && !options.drop;
  const bool has_body = StatusAllowsBody(options.status);
  // Chunked framing does not exist in HTTP/1.0: such clients get Content-Length.
  const bool chunked = options.chunked && has_body && request.http_minor >= 1;

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

