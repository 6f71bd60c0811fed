#include "shared/http_message_parser.h"

#include <utility>

namespace upmesh::http {
namespace {

MessageParser* Self(http_parser* parser) { return static_cast<MessageParser*>(parser->data); }

}  // namespace

const http_parser_settings MessageParser::kSettings = [] {
  http_parser_settings settings;
  http_parser_settings_init(&settings);
  settings.on_message_begin = &MessageParser::OnMessageBegin;
  settings.on_url = &MessageParser::OnStartText;
  settings.on_status = &MessageParser::OnStartText;
  settings.on_header_field = &MessageParser::OnHeaderField;
  settings.on_header_value = &MessageParser::OnHeaderValue;
  settings.on_headers_complete = &MessageParser::OnHeadersComplete;
  settings.on_body = &MessageParser::OnBodyBytes;
  settings.on_message_complete = &MessageParser::OnMessageComplete;
  return settings;
}();

MessageParser::MessageParser(Kind kind, Handler* handler, std::string* start_text, FieldList* fields,
                             size_t max_head_bytes, size_t max_target_bytes)
    : kind_(kind),
      handler_(handler),
      start_text_(start_text),
      fields_(fields),
      scanner_(kind, max_head_bytes, max_target_bytes) {
  Reset();
}

void MessageParser::Reset() {
  http_parser_init(&parser_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE);
  parser_.data = this;
  error_status_ = 0;
  error_.clear();
  NextMessage();
}

void MessageParser::NextMessage() {
  scanner_.Reset();
  start_text_->clear();
  fields_->clear();
  in_value_ = false;
  began_ = false;
  head_complete_ = false;
  message_complete_ = false;
  keep_alive_ = false;
}

void MessageParser::Refuse(int status, std::string what) {
  if (error_status_ == 0) {
    error_status_ = status;
    error_ = std::move(what);
  }
}

size_t MessageParser::Feed(const char* data, size_t len) {
  size_t offset = 0;
  while (offset < len && !message_complete_ && !failed()) {
    size_t passed = scanner_.Scan(data + offset, len - offset);
    if (passed > 0) offset += Parse(data + offset, passed);
    if (failed()) return len;
    if (message_complete_) break;
    if (scanner_.failed()) {
      Refuse(scanner_.error_status(), scanner_.error());
      return len;
    }
    if (passed == 0) {
      // The scanner waits for framing the parser did not report.
      Refuse(400, kScannerParserDisagree);
      return len;
    }
  }
  return offset;
}

size_t MessageParser::Parse(const char* data, size_t len) {
  size_t used = http_parser_execute(&parser_, &kSettings, data, len);
  http_errno error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_PAUSED) {
    // OnMessageComplete pauses the parser so that Feed stops after one message.
    http_parser_pause(&parser_, 0);
    if (!scanner_.message_complete()) Refuse(400, kScannerParserDisagree);
    return used;
  }
  if (error != HPE_OK) {
    // A Handler's refusal came first and stays; otherwise this is http-parser's own verdict.
    Refuse(error == HPE_HEADER_OVERFLOW ? 431 : 400, http_errno_description(error));
    return len;
  }
  if (parser_.upgrade) {
    // An Upgrade request whose message completed; Upgrade is hop-by-hop, so
    // the request is served as plain HTTP and the next bytes are a request.
    parser_.upgrade = 0;
  }
  return used;
}

void MessageParser::FeedEof() {
  http_parser_execute(&parser_, &kSettings, nullptr, 0);
  if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) http_parser_pause(&parser_, 0);
}

int MessageParser::OnMessageBegin(http_parser* parser) {
  Self(parser)->began_ = true;
  return 0;
}

int MessageParser::OnStartText(http_parser* parser, const char* at, size_t len) {
  // The scanner has bounded a request target to max_target_bytes.
  Self(parser)->start_text_->append(at, len);
  return 0;
}

int MessageParser::OnHeaderField(http_parser* parser, const char* at, size_t len) {
  MessageParser* self = Self(parser);
  if (self->head_complete_) return 0;  // a trailer field: dropped
  if (self->in_value_ || self->fields_->empty()) {
    self->fields_->emplace_back();
    self->in_value_ = false;
  }
  self->fields_->back().name.append(at, len);
  return 0;
}

int MessageParser::OnHeaderValue(http_parser* parser, const char* at, size_t len) {
  MessageParser* self = Self(parser);
  if (self->head_complete_) return 0;
  self->in_value_ = true;
  self->fields_->back().value.append(at, len);
  return 0;
}

// Return values follow http-parser: 0 = a body may follow, 1 = no body
// (F_SKIPBODY), -1 = error.
int MessageParser::OnHeadersComplete(http_parser* parser) {
  MessageParser* self = Self(parser);
  self->head_complete_ = true;
  Body body = Body::kNone;
  if (!self->handler_->OnHead(&body)) return -1;
  self->scanner_.SetBody(body, body == Body::kLength ? parser->content_length : 0);
  return body == Body::kNone ? 1 : 0;
}

int MessageParser::OnBodyBytes(http_parser* parser, const char* at, size_t len) {
  return Self(parser)->handler_->OnBody(at, len) ? 0 : -1;
}

int MessageParser::OnMessageComplete(http_parser* parser) {
  MessageParser* self = Self(parser);
  self->message_complete_ = true;
  self->keep_alive_ = http_should_keep_alive(parser) != 0;
  http_parser_pause(parser, 1);  // stop here: what follows is another message
  return 0;
}

}  // namespace upmesh::http
