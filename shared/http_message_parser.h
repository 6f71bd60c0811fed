// MessageParser: upmesh's one http-parser wrapper, for requests and
// responses alike. Its owners (shared/http_request_reader.h,
// shared/http_response_reader.h) decide what a message may be; it does the
// plumbing they share:
//   - every byte passes the grammar scanner (shared/http_message_scanner.h)
//     before http-parser sees it, so a verdict never depends on how the bytes
//     were split;
//   - http-parser's callbacks become the start line's text (the request
//     target, or the response's reason phrase) and the header fields in
//     order, written straight into the owner's storage, and body bytes
//     (de-chunked) handed to the Handler; trailer fields are dropped
//     (RFC 9110 6.5.1);
//   - Feed() stops right after each complete message, so the owner decides
//     when to read the next one.
// When the head is complete the Handler says how the body is framed, or
// refuses the message. The first error wins (the Handler's, the scanner's or
// http-parser's); after it the parser takes no more input until Reset().
#pragma once

#include <http_parser.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "shared/http_fields.h"
#include "shared/http_message_scanner.h"

namespace upmesh::http {

class MessageParser {
 public:
  using Kind = MessageScanner::Kind;
  using Body = MessageScanner::Body;

  class Handler {
   public:
    // The head is complete: the start-line text, the fields, head_bytes()
    // and state() are final. Sets *body to how the body is framed (kNone: no body, whatever
    // the fields say; kLength takes state().content_length), or calls Refuse()
    // and returns false.
    virtual bool OnHead(Body* body) = 0;
    // Body bytes, de-chunked. False after calling Refuse().
    virtual bool OnBody(const char* data, size_t len) = 0;

   protected:
    ~Handler() = default;
  };

  // `handler`, `start_text` and `fields` (where each message's start-line
  // text and header fields go) must outlive the parser.
  MessageParser(Kind kind, Handler* handler, std::string* start_text, FieldList* fields, size_t max_head_bytes,
                size_t max_target_bytes = SIZE_MAX);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // Consumes bytes up to and including the end of the current message and
  // returns how many; all of them after an error. Must not be called once
  // message_complete() until NextMessage() or Reset().
  size_t Feed(const char* data, size_t len);
  // The peer closed: ends a body delimited by the close (message_complete()).
  void FeedEof();

  // The message is refused with `status` (for a request; a response reader
  // words its own errors) and `what`. For the Handler's callbacks.
  void Refuse(int status, std::string what);

  // Ready for the next message on the same connection; http-parser keeps its
  // state (after a message that closes the connection, more bytes are an error).
  void NextMessage();
  // A fresh http-parser for the next message, errors forgotten.
  void Reset();

  // A byte of the message arrived (empty lines before it do not count).
  bool started() const { return scanner_.started() || began_; }
  bool head_complete() const { return head_complete_; }
  bool message_complete() const { return message_complete_; }
  // Bytes of the header section so far: start line through the blank line.
  size_t head_bytes() const { return scanner_.head_bytes(); }
  // The connection may carry another message (http_should_keep_alive), once message_complete().
  bool keep_alive() const { return keep_alive_; }

  // http-parser's view: method, version, status, flags, content_length.
  const http_parser& state() const { return parser_; }

  bool failed() const { return error_status_ != 0; }
  int error_status() const { return error_status_; }  // 400, 414, 431, or the Handler's
  const std::string& error() const { return error_; }

 private:
  static int OnMessageBegin(http_parser* parser);
  static int OnStartText(http_parser* parser, const char* at, size_t len);
  static int OnHeaderField(http_parser* parser, const char* at, size_t len);
  static int OnHeaderValue(http_parser* parser, const char* at, size_t len);
  static int OnHeadersComplete(http_parser* parser);
  static int OnBodyBytes(http_parser* parser, const char* at, size_t len);
  static int OnMessageComplete(http_parser* parser);
  static const http_parser_settings kSettings;

  // Hands `len` bytes the scanner passed to http-parser; returns how many it used.
  size_t Parse(const char* data, size_t len);

  const Kind kind_;
  Handler* const handler_;
  std::string* const start_text_;
  FieldList* const fields_;
  http_parser parser_;
  MessageScanner scanner_;

  // The message being parsed.
  bool in_value_ = false;  // the last field callback was a value
  bool began_ = false;
  bool head_complete_ = false;  // later field callbacks are trailers
  bool message_complete_ = false;
  bool keep_alive_ = false;

  int error_status_ = 0;
  std::string error_;
};

}  // namespace upmesh::http
