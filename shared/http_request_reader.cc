#include "shared/http_request_reader.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "shared/http_request_target.h"

namespace upmesh::http {
namespace {

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

std::string BodyTooLarge(size_t limit) { return "body larger than " + std::to_string(limit) + " bytes"; }

}  // namespace

RequestReader::RequestReader(const RequestLimits& limits)
    : limits_(limits),
      parser_(MessageParser::Kind::kRequest, this, &current_.target, &current_.fields, limits.max_header_bytes,
              limits.max_target_bytes) {}

size_t RequestReader::Feed(const char* data, size_t len) {
  size_t consumed = parser_.Feed(data, len);
  if (parser_.message_complete()) continue_wanted_ = false;
  return consumed;
}

Request RequestReader::TakeRequest() {
  Request request = std::move(current_);
  request.keep_alive = parser_.keep_alive();
  current_ = Request();
  body_bytes_ = 0;
  parser_.NextMessage();
  return request;
}

bool RequestReader::TakeContinueRequest() {
  bool wanted = continue_wanted_;
  continue_wanted_ = false;
  return wanted;
}

bool RequestReader::Refuse(int status, std::string detail) {
  parser_.Refuse(status, std::move(detail));
  return false;
}

bool RequestReader::OnHead(MessageParser::Body* body) {
  const http_parser& state = parser_.state();
  if (!CheckHeaders()) return false;
  auto method = static_cast<http_method>(state.method);
  current_.method = http_method_str(method);
  current_.idempotent = IsIdempotent(method);
  current_.safe = IsSafe(method);
  current_.is_head = method == HTTP_HEAD;
  current_.version_minor = state.http_minor;
  current_.had_framing = (state.flags & (F_CONTENTLENGTH | F_CHUNKED)) != 0;
  if (state.flags & F_CHUNKED) {
    *body = MessageParser::Body::kChunked;
  } else if (state.flags & F_CONTENTLENGTH) {
    *body = MessageParser::Body::kLength;
  } else {
    *body = MessageParser::Body::kNone;
  }
  if (continue_wanted_ && !(state.flags & F_CHUNKED) && state.content_length == 0) {
    continue_wanted_ = false;  // nothing to wait for
  }
  if (sink_) sink_->OnRequestHead(current_);
  return true;
}

bool RequestReader::CheckHeaders() {
  const http_parser& state = parser_.state();
  const FieldList& fields = current_.fields;
  // http-parser's lenient build lets spaces into field names ("Transfer-Encoding : chunked"):
  // a backend could frame such a request differently from us, so refuse it (RFC 9112 5.1).
  for (const Field& field : fields) {
    if (!IsToken(field.name)) return Refuse(400, "invalid header field name");
  }
  if (state.http_major != 1 || state.http_minor > 1) return Refuse(505, "only HTTP/1.0 and HTTP/1.1 are served");
  if (state.method == HTTP_CONNECT) return Refuse(501, "CONNECT is not supported");
  int hosts = CountFields(fields, "host");
  if (hosts > 1 || (hosts == 0 && state.http_minor == 1)) {
    return Refuse(400, hosts > 1 ? "more than one Host field" : "missing Host field");
  }
  const std::string* host = FindField(fields, "host");
  if (host && !IsValidHostValue(*host)) return Refuse(400, "invalid Host field");
  if (!CheckTarget() || !CheckTransferEncoding()) return false;
  // Duplicate Content-Length fields are refused by http-parser itself.
  if (const std::string* expect = FindField(fields, "expect")) {
    if (!EqualsIgnoreCase(*expect, "100-continue")) return Refuse(417, "only Expect: 100-continue is supported");
    continue_wanted_ = state.http_minor == 1;  // RFC 9110 10.1.1: never a 1xx to HTTP/1.0
  }
  if ((state.flags & F_CONTENTLENGTH) && state.content_length > limits_.max_body_bytes) {
    return Refuse(413, BodyTooLarge(limits_.max_body_bytes));
  }
  return true;
}

bool RequestReader::CheckTransferEncoding() {
  const FieldList& fields = current_.fields;
  if (!FindField(fields, "transfer-encoding")) return true;
  if (FindField(fields, "content-length")) return Refuse(400, "both Content-Length and Transfer-Encoding");
  if (parser_.state().http_minor == 0) {
    // RFC 9112 6.1: HTTP/1.0 has no transfer codings; the framing is faulty.
    return Refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  std::vector<std::string> codings;
  for (const Field& field : fields) {
    if (!EqualsIgnoreCase(field.name, "transfer-encoding")) continue;
    for (std::string& coding : SplitTokens(field.value)) codings.push_back(std::move(coding));
  }
  if (codings.empty() || codings.back() != "chunked") return Refuse(400, "Transfer-Encoding must end in chunked");
  if (std::count(codings.begin(), codings.end(), "chunked") > 1) {
    return Refuse(400, "chunked applied more than once");  // RFC 9112 7.1
  }
  if (codings.size() > 1) return Refuse(501, "transfer codings other than chunked are not supported");
  return true;
}

bool RequestReader::CheckTarget() {
  TargetForm form =
      ParseRequestTarget(http_method_str(static_cast<http_method>(parser_.state().method)), current_.target);
  if (!form.error.empty()) return Refuse(400, form.error);
  current_.target = std::move(form.origin_form);
  if (form.authority.empty()) return true;
  // RFC 9112 3.2.2: the target's authority wins over any Host field.
  for (Field& field : current_.fields) {
    if (EqualsIgnoreCase(field.name, "host")) {
      field.value = form.authority;
      return true;
    }
  }
  current_.fields.push_back({"Host", form.authority});
  return true;
}

bool RequestReader::OnBody(const char* data, size_t len) {
  continue_wanted_ = false;  // the body is coming anyway
  if (body_bytes_ + len > limits_.max_body_bytes) return Refuse(413, BodyTooLarge(limits_.max_body_bytes));
  body_bytes_ += len;
  if (sink_) {
    sink_->OnRequestBody(data, len);
  } else {
    current_.body.append(data, len);
  }
  return true;
}

}  // namespace upmesh::http
