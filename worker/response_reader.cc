#include "worker/response_reader.h"

#include <algorithm>
#include <climits>
#include <utility>

namespace upmesh::worker {
namespace {

ResponseReader* ReaderOf(http_parser* parser) { return static_cast<ResponseReader*>(parser->data); }

bool HasNoBody(int status) { return status / 100 == 1 || status == 204 || status == 304; }

// The most body memory taken before the bytes arrive: Content-Length is only
// the backend's claim, and a claim must not allocate (or, past max_size(),
// throw) what was never sent.
constexpr size_t kMaxBodyReserve = 1 << 20;

}  // namespace

ResponseReader::ResponseReader(std::string worker_name)
    : worker_name_(std::move(worker_name)), scanner_(http::MessageScanner::Kind::kResponse, SIZE_MAX) {
  http_parser_settings_init(&settings_);
  settings_.on_status = OnStatus;
  settings_.on_header_field = OnHeaderField;
  settings_.on_header_value = OnHeaderValue;
  settings_.on_headers_complete = OnHeadersComplete;
  settings_.on_body = OnBody;
  settings_.on_message_complete = OnMessageComplete;
  Start(false, SIZE_MAX);
}

void ResponseReader::Start(bool head_request, size_t max_response_bytes) {
  head_request_ = head_request;
  max_response_bytes_ = max_response_bytes;
  bytes_received_ = 0;
  interim_head_bytes_ = 0;
  head_.clear();
  error_.clear();
  keep_alive_ = false;
  ResetMessage();
}

void ResponseReader::ResetMessage() {
  http_parser_init(&parser_, HTTP_RESPONSE);
  parser_.data = this;
  scanner_.Reset();
  reason_.clear();
  fields_.clear();
  in_value_ = false;
  headers_done_ = false;
  version_minor_ = 1;
  message_complete_ = false;
  interim_ = false;
  callback_error_.clear();
  status_ = 0;
  body_.clear();
}

ResponseReader::Result ResponseReader::Fail(std::string message) {
  error_ = std::move(message);
  return Result::kError;
}

bool ResponseReader::OverLimit(size_t extra) const {
  size_t used = interim_head_bytes_ + scanner_.head_bytes() + body_.size();
  return used > max_response_bytes_ || extra > max_response_bytes_ - used;
}

ResponseReader::Result ResponseReader::Feed(const char* data, size_t size, size_t* consumed) {
  *consumed = 0;
  if (size == 0) return Result::kIncomplete;
  bytes_received_ += size;
  size_t offset = 0;
  while (offset < size) {
    size_t passed = scanner_.Scan(data + offset, size - offset);
    if (passed > 0) offset += Parse(data + offset, passed);
    *consumed = offset;
    if (message_complete_) {
      // OnMessageComplete paused the parser so that it stops right after this message.
      if (!scanner_.message_complete()) return Fail(http::kScannerParserDisagree);
      if (!interim_) {
        BuildHead();
        return Result::kComplete;
      }
      interim_head_bytes_ += scanner_.head_bytes();
      ResetMessage();
      continue;
    }
    if (HTTP_PARSER_ERRNO(&parser_) != HPE_OK) {
      if (!callback_error_.empty()) return Fail(callback_error_);
      return Fail(std::string("invalid response from backend: ") +
                  http_errno_description(HTTP_PARSER_ERRNO(&parser_)));
    }
    if (scanner_.failed()) {
      return Fail(std::string("invalid response from backend: ") + scanner_.error());
    }
    if (passed == 0) return Fail(http::kScannerParserDisagree);  // the scanner waits for framing the parser did not report
  }
  return Result::kIncomplete;
}

size_t ResponseReader::Parse(const char* data, size_t size) {
  size_t used = http_parser_execute(&parser_, &settings_, data, size);
  if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) http_parser_pause(&parser_, 0);
  return used;
}

ResponseReader::Result ResponseReader::FeedEof() {
  if (bytes_received_ == 0) return Fail("backend closed the connection before responding");
  http_parser_execute(&parser_, &settings_, nullptr, 0);
  if (message_complete_ && !interim_) {
    keep_alive_ = false;  // the body ended with the connection
    BuildHead();
    return Result::kComplete;
  }
  if (!callback_error_.empty()) return Fail(callback_error_);
  return Fail("backend closed the connection before the response was complete");
}

int ResponseReader::OnStatus(http_parser* parser, const char* at, size_t length) {
  ResponseReader* self = ReaderOf(parser);
  self->reason_.append(at, length);
  return 0;
}

int ResponseReader::OnHeaderField(http_parser* parser, const char* at, size_t length) {
  ResponseReader* self = ReaderOf(parser);
  if (self->headers_done_) return 0;  // a trailer field: dropped
  if (self->in_value_ || self->fields_.empty()) {
    self->fields_.emplace_back();
    self->in_value_ = false;
  }
  self->fields_.back().name.append(at, length);
  return 0;
}

int ResponseReader::OnHeaderValue(http_parser* parser, const char* at, size_t length) {
  ResponseReader* self = ReaderOf(parser);
  if (self->headers_done_) return 0;
  self->in_value_ = true;
  self->fields_.back().value.append(at, length);
  return 0;
}

// Return values follow http-parser: 0 = a body may follow, 1 = no body
// (F_SKIPBODY), -1 = error.
int ResponseReader::OnHeadersComplete(http_parser* parser) {
  ResponseReader* self = ReaderOf(parser);
  self->headers_done_ = true;
  self->status_ = parser->status_code;
  self->version_minor_ = parser->http_minor;
  if (self->status_ < 100 || self->status_ > 599) {
    self->callback_error_ = "backend sent status " + std::to_string(self->status_) + ", outside 100..599";
    return -1;
  }
  if (self->OverLimit(0)) {
    self->callback_error_ = "backend response is larger than maxResponseBytes";
    return -1;
  }
  if (self->status_ == 101) {
    // upmesh strips Upgrade from requests, so this is a backend bug.
    self->callback_error_ = "backend switched protocols (101) although no upgrade was asked for";
    return -1;
  }
  for (const http::Field& field : self->fields_) {
    // "Transfer-Encoding : chunked" is framing to http-parser but not to our
    // hop-by-hop filter: refuse such a response rather than mis-frame it.
    if (!http::IsToken(field.name)) {
      self->callback_error_ = "backend sent an invalid header field name";
      return -1;
    }
  }
  if (self->status_ / 100 == 1) {
    self->interim_ = true;
    self->scanner_.SetBody(http::MessageScanner::Body::kNone);
    return 1;
  }
  self->chunked_ = (parser->flags & F_CHUNKED) != 0;
  if (parser->uses_transfer_encoding && !(parser->flags & F_CHUNKED)) {
    // A coding other than chunked as the last one: the body would be
    // delimited by close and still encoded; refuse rather than mislabel it.
    self->callback_error_ = "backend used a transfer-coding other than chunked";
    return -1;
  }
  using Body = http::MessageScanner::Body;
  if (self->head_request_ || HasNoBody(self->status_)) {
    self->scanner_.SetBody(Body::kNone);
    return 1;
  }
  if (self->chunked_) {
    self->scanner_.SetBody(Body::kChunked);
  } else if (parser->content_length != ULLONG_MAX) {
    if (parser->content_length > SIZE_MAX || self->OverLimit(static_cast<size_t>(parser->content_length))) {
      self->callback_error_ = "backend response is larger than maxResponseBytes";
      return -1;
    }
    self->body_.reserve(std::min<size_t>(parser->content_length, kMaxBodyReserve));
    self->scanner_.SetBody(Body::kLength, parser->content_length);
  } else {
    self->scanner_.SetBody(Body::kUntilClose);
  }
  return 0;
}

int ResponseReader::OnBody(http_parser* parser, const char* at, size_t length) {
  ResponseReader* self = ReaderOf(parser);
  if (self->OverLimit(length)) {
    self->callback_error_ = "backend response is larger than maxResponseBytes";
    return -1;
  }
  self->body_.append(at, length);
  return 0;
}

int ResponseReader::OnMessageComplete(http_parser* parser) {
  ResponseReader* self = ReaderOf(parser);
  self->message_complete_ = true;
  self->keep_alive_ = http_should_keep_alive(parser) != 0;
  http_parser_pause(parser, 1);  // stop here: what follows is another message
  return 0;
}

void ResponseReader::BuildHead() {
  head_.clear();
  head_.reserve(scanner_.head_bytes() + 128);
  head_.append("HTTP/1.1 ");
  head_.append(std::to_string(status_));
  head_.push_back(' ');
  head_.append(reason_.empty() ? http::ReasonPhrase(status_) : reason_);
  head_.append("\r\n");
  http::HopByHop hop_by_hop(fields_);
  for (const http::Field& field : fields_) {
    if (hop_by_hop.Contains(field.name) || http::EqualsIgnoreCase(field.name, "content-length")) continue;
    if (http::EqualsIgnoreCase(field.name, "via")) continue;  // extended below
    http::AppendField(&head_, field.name, field.value);
  }
  if (status_ == 304 || (head_request_ && status_ != 204)) {
    // No body here, but Content-Length describes the full representation.
    if (const std::string* length = http::FindField(fields_, "content-length")) {
      http::AppendField(&head_, "Content-Length", *length);
    }
  } else if (status_ != 204) {
    http::AppendField(&head_, "Content-Length", std::to_string(body_.size()));
  }
  http::AppendListField(&head_, fields_, "Via", version_minor_ == 0 ? "1.0 upmesh" : "1.1 upmesh");
  http::AppendField(&head_, "X-Upmesh-Worker", worker_name_);
}

}  // namespace upmesh::worker
