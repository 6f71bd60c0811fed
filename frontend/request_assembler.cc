#include "frontend/request_assembler.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "frontend/request_target.h"

namespace upmesh::frontend {
namespace {

RequestAssembler* Self(http_parser* parser) { return static_cast<RequestAssembler*>(parser->data); }

bool IsIdempotent(http_method method) {
  // RFC 9110 9.2.2: safe methods plus PUT and DELETE.
  switch (method) {
    case HTTP_GET: case HTTP_HEAD: case HTTP_OPTIONS: case HTTP_TRACE: case HTTP_PUT: case HTTP_DELETE:
      return true;
    default:
      return false;
  }
}

bool IsSafe(http_method method) {
  return method == HTTP_GET || method == HTTP_HEAD || method == HTTP_OPTIONS || method == HTTP_TRACE;
}

// The list fields BuildUpstreamHead rewrites with this hop's entry appended.
bool IsListWeExtend(std::string_view name) {
  return http::EqualsIgnoreCase(name, "via") || http::EqualsIgnoreCase(name, "x-forwarded-for") ||
         http::EqualsIgnoreCase(name, "forwarded");
}

// RFC 7239 forwarded-element for the client: IPv6 addresses in quotes and brackets.
std::string ForwardedFor(const std::string& client_ip) {
  if (client_ip.find(':') == std::string::npos) return "for=" + client_ip;
  return "for=\"[" + client_ip + "]\"";
}

}  // namespace

RequestAssembler::RequestAssembler(const RequestLimits& limits)
    : limits_(limits),
      scanner_(http::MessageScanner::Kind::kRequest, limits.max_header_bytes, limits.max_target_bytes) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
  http_parser_settings_init(&settings_);
  settings_.on_message_begin = OnMessageBegin;
  settings_.on_url = OnUrl;
  settings_.on_header_field = OnHeaderField;
  settings_.on_header_value = OnHeaderValue;
  settings_.on_headers_complete = OnHeadersComplete;
  settings_.on_body = OnBody;
  settings_.on_message_complete = OnMessageComplete;
}

void RequestAssembler::Fail(int status, std::string detail) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_detail_ = std::move(detail);
  }
}

size_t RequestAssembler::Feed(const char* data, size_t len) {
  size_t offset = 0;
  while (offset < len && !ready_ && !failed()) {
    size_t passed = scanner_.Scan(data + offset, len - offset);
    if (passed > 0) offset += Parse(data + offset, passed);
    if (failed()) return len;
    if (scanner_.failed()) {
      Fail(scanner_.error_status(), scanner_.error());
      return len;
    }
    if (passed == 0 && !ready_) {
      // The scanner waits for framing the parser did not report.
      Fail(400, http::kScannerParserDisagree);
      return len;
    }
  }
  return offset;
}

size_t RequestAssembler::Parse(const char* data, size_t len) {
  size_t consumed = http_parser_execute(&parser_, &settings_, data, len);
  http_errno error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_PAUSED) {
    // OnMessageComplete pauses the parser so that Feed stops after one request.
    http_parser_pause(&parser_, 0);
    if (!scanner_.message_complete()) Fail(400, http::kScannerParserDisagree);
    scanner_.Reset();
    return consumed;
  }
  if (error != HPE_OK) {
    if (error_status_ == 0) {
      // Our callbacks set a specific status before failing; this is the parser's own verdict.
      Fail(error == HPE_HEADER_OVERFLOW ? 431 : 400, http_errno_description(error));
    }
    return len;
  }
  if (parser_.upgrade) {
    // An Upgrade request whose message completed; Upgrade is hop-by-hop, so
    // the request is served as plain HTTP and the next bytes are a request.
    parser_.upgrade = 0;
  }
  return consumed;
}

Request RequestAssembler::TakeRequest() {
  ready_ = false;
  headers_done_ = false;
  in_message_ = false;
  Request request = std::move(current_);
  current_ = Request();
  return request;
}

bool RequestAssembler::TakeContinueRequest() {
  bool wanted = continue_wanted_;
  continue_wanted_ = false;
  return wanted;
}

int RequestAssembler::OnMessageBegin(http_parser* parser) {
  Self(parser)->in_message_ = true;
  return 0;
}

int RequestAssembler::OnUrl(http_parser* parser, const char* at, size_t len) {
  // The scanner has bounded the target to limits_.max_target_bytes.
  Self(parser)->current_.target.append(at, len);
  return 0;
}

int RequestAssembler::OnHeaderField(http_parser* parser, const char* at, size_t len) {
  RequestAssembler* self = Self(parser);
  if (self->headers_done_) return 0;  // a trailer field: dropped (RFC 9110 6.5.1)
  if (self->last_was_value_ || self->current_.fields.empty()) self->current_.fields.emplace_back();
  self->current_.fields.back().name.append(at, len);
  self->last_was_value_ = false;
  return 0;
}

int RequestAssembler::OnHeaderValue(http_parser* parser, const char* at, size_t len) {
  RequestAssembler* self = Self(parser);
  if (self->headers_done_) return 0;
  self->current_.fields.back().value.append(at, len);
  self->last_was_value_ = true;
  return 0;
}

int RequestAssembler::CheckHeaders() {
  Request& request = current_;
  // http-parser's lenient build lets spaces into field names ("Transfer-Encoding : chunked"):
  // a backend could frame such a request differently from us, so refuse it (RFC 9112 5.1).
  for (const http::Field& field : request.fields) {
    if (!http::IsToken(field.name)) {
      Fail(400, "invalid header field name");
      return 400;
    }
  }
  if (parser_.http_major != 1 || parser_.http_minor > 1) {
    Fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
    return 505;
  }
  if (parser_.method == HTTP_CONNECT) {
    Fail(501, "CONNECT is not supported");
    return 501;
  }
  int hosts = http::CountFields(request.fields, "host");
  if (hosts > 1 || (hosts == 0 && parser_.http_minor == 1)) {
    Fail(400, hosts > 1 ? "more than one Host field" : "missing Host field");
    return 400;
  }
  const std::string* host = http::FindField(request.fields, "host");
  if (host && !IsValidHostValue(*host)) {
    Fail(400, "invalid Host field");
    return 400;
  }
  if (int status = CheckTarget()) return status;
  const std::string* transfer_encoding = http::FindField(request.fields, "transfer-encoding");
  if (transfer_encoding) {
    if (http::FindField(request.fields, "content-length")) {
      Fail(400, "both Content-Length and Transfer-Encoding");
      return 400;
    }
    if (parser_.http_minor == 0) {
      // RFC 9112 6.1: HTTP/1.0 has no transfer codings; the framing is faulty.
      Fail(400, "Transfer-Encoding in an HTTP/1.0 request");
      return 400;
    }
    std::vector<std::string> codings;
    for (const http::Field& field : request.fields) {
      if (!http::EqualsIgnoreCase(field.name, "transfer-encoding")) continue;
      for (std::string& coding : http::SplitTokens(field.value)) codings.push_back(std::move(coding));
    }
    if (codings.empty() || codings.back() != "chunked") {
      Fail(400, "Transfer-Encoding must end in chunked");
      return 400;
    }
    if (std::count(codings.begin(), codings.end(), "chunked") > 1) {
      Fail(400, "chunked applied more than once");  // RFC 9112 7.1
      return 400;
    }
    if (codings.size() > 1) {
      Fail(501, "transfer codings other than chunked are not supported");
      return 501;
    }
  }
  // Duplicate Content-Length fields are refused by http-parser itself.
  if (const std::string* expect = http::FindField(request.fields, "expect")) {
    if (!http::EqualsIgnoreCase(*expect, "100-continue")) {
      Fail(417, "only Expect: 100-continue is supported");
      return 417;
    }
    continue_wanted_ = parser_.http_minor == 1;  // RFC 9110 10.1.1: never a 1xx to HTTP/1.0
  }
  if ((parser_.flags & F_CONTENTLENGTH) && parser_.content_length > limits_.max_body_bytes) {
    Fail(413, "body larger than " + std::to_string(limits_.max_body_bytes) + " bytes");
    return 413;
  }
  return 0;
}

int RequestAssembler::CheckTarget() {
  Request& request = current_;
  TargetForm form = ParseRequestTarget(http_method_str(static_cast<http_method>(parser_.method)), request.target);
  if (!form.error.empty()) {
    Fail(400, form.error);
    return 400;
  }
  request.target = std::move(form.origin_form);
  if (form.authority.empty()) return 0;
  // RFC 9112 3.2.2: the target's authority wins over any Host field.
  for (http::Field& field : request.fields) {
    if (http::EqualsIgnoreCase(field.name, "host")) {
      field.value = form.authority;
      return 0;
    }
  }
  request.fields.push_back({"Host", form.authority});
  return 0;
}

int RequestAssembler::OnHeadersComplete(http_parser* parser) {
  RequestAssembler* self = Self(parser);
  if (self->CheckHeaders() != 0) return -1;  // any non-zero value stops the parser with an error
  Request& request = self->current_;
  auto method = static_cast<http_method>(parser->method);
  request.method = http_method_str(method);
  request.idempotent = IsIdempotent(method);
  request.safe = IsSafe(method);
  request.is_head = method == HTTP_HEAD;
  request.version_minor = parser->http_minor;
  request.keep_alive = http_should_keep_alive(parser) != 0;
  request.had_framing = (parser->flags & (F_CONTENTLENGTH | F_CHUNKED)) != 0;
  self->headers_done_ = true;
  if (parser->flags & F_CHUNKED) {
    self->scanner_.SetBody(http::MessageScanner::Body::kChunked);
  } else if (parser->flags & F_CONTENTLENGTH) {
    self->scanner_.SetBody(http::MessageScanner::Body::kLength, parser->content_length);
  } else {
    self->scanner_.SetBody(http::MessageScanner::Body::kNone);
  }
  if (self->continue_wanted_ && !(parser->flags & F_CHUNKED) && parser->content_length == 0) {
    self->continue_wanted_ = false;  // nothing to wait for
  }
  return 0;
}

int RequestAssembler::OnBody(http_parser* parser, const char* at, size_t len) {
  RequestAssembler* self = Self(parser);
  self->continue_wanted_ = false;  // the body is coming anyway
  if (self->current_.body.size() + len > self->limits_.max_body_bytes) {
    self->Fail(413, "body larger than " + std::to_string(self->limits_.max_body_bytes) + " bytes");
    return 1;
  }
  self->current_.body.append(at, len);
  return 0;
}

int RequestAssembler::OnMessageComplete(http_parser* parser) {
  RequestAssembler* self = Self(parser);
  self->ready_ = true;
  self->continue_wanted_ = false;
  self->last_was_value_ = false;
  http_parser_pause(parser, 1);
  return 0;
}

std::string BuildUpstreamHead(const Request& request, const std::string& client_ip) {
  std::string head;
  head.reserve(256 + request.target.size() + request.fields.size() * 48);
  head.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  http::HopByHop hop_by_hop(request.fields);
  for (const http::Field& field : request.fields) {
    if (hop_by_hop.Contains(field.name) || http::EqualsIgnoreCase(field.name, "content-length")) continue;
    if (http::EqualsIgnoreCase(field.name, "expect")) continue;  // the body is already here
    if (IsListWeExtend(field.name)) continue;
    http::AppendField(&head, field.name, field.value);
  }
  if (request.had_framing || !request.body.empty()) {
    http::AppendField(&head, "Content-Length", std::to_string(request.body.size()));
  }
  http::AppendListField(&head, request.fields, "Via", request.version_minor == 0 ? "1.0 upmesh" : "1.1 upmesh");
  // The client's own entries are passed on as they came: only the last entry
  // of each list is upmesh's word (docs/http-conformance.md).
  http::AppendListField(&head, request.fields, "X-Forwarded-For", client_ip);
  http::AppendListField(&head, request.fields, "Forwarded", ForwardedFor(client_ip));
  return head;
}

}  // namespace upmesh::frontend
