// RequestAssembler: turns a client connection's byte stream, however TCP
// split it, into whole HTTP/1.1 requests, or refuses it with a status.
//
// Feed() consumes bytes and stops right after each complete request, so the
// caller decides when to read the next one (pipelining limits). Bodies are
// de-chunked; chunk extensions and trailer fields are dropped. Every byte is
// checked by the grammar scanner (shared/http_message_scanner.h: bare CR or
// LF, control characters, obs-fold, request-line spaces, chunk lines -> 400,
// header section too large -> 431) before http-parser sees it, so the
// verdict never depends on how the bytes were split. Framing that two parties
// could read differently is refused, as an intermediary must (RFC 9112 6.3):
// Content-Length with Transfer-Encoding, differing duplicate Content-Length,
// Transfer-Encoding not ending in chunked or in an HTTP/1.0 request, missing,
// repeated or invalid Host (HTTP/1.1) -> 400; target too long -> 414; body too
// large -> 413 (as soon as that is known). An absolute-form target is
// rewritten to origin-form and its authority replaces Host
// (frontend/request_target.h). After a refusal the assembler takes no more
// input: the connection must close.
#pragma once

#include <http_parser.h>

#include <cstdint>
#include <string>

#include "shared/http_fields.h"
#include "shared/http_message_scanner.h"

namespace upmesh::frontend {

struct RequestLimits {
  size_t max_header_bytes = 16 * 1024;
  size_t max_target_bytes = 8 * 1024;
  size_t max_body_bytes = 16 * 1024 * 1024;
};

struct Request {
  std::string method;  // "GET"
  bool idempotent = false;  // RFC 9110 9.2.2: may be retried
  bool safe = false;        // RFC 9110 9.2.1: read-only (GET, HEAD, OPTIONS, TRACE)
  bool is_head = false;
  std::string target;  // "/path?query" (origin-form), or "*" for OPTIONS
  int version_minor = 1;  // HTTP/1.<minor>; only 1.0 and 1.1 are accepted
  http::FieldList fields;  // as received, framing fields included; Host from an absolute-form target
  std::string body;        // de-chunked
  bool had_framing = false;  // Content-Length or chunked: forward a Content-Length
  bool keep_alive = true;    // the client wants the connection kept open
};

class RequestAssembler {
 public:
  explicit RequestAssembler(const RequestLimits& limits);
  RequestAssembler(const RequestAssembler&) = delete;
  RequestAssembler& operator=(const RequestAssembler&) = delete;

  // Consumes bytes up to and including the end of the next complete request.
  // Returns how many bytes were consumed; the rest must be fed again later.
  // Must not be called while request_ready() or failed().
  size_t Feed(const char* data, size_t len);

  bool request_ready() const { return ready_; }
  Request TakeRequest();  // precondition: request_ready()

  bool failed() const { return error_status_ != 0; }
  int error_status() const { return error_status_; }
  const std::string& error_detail() const { return error_detail_; }

  // A request has begun (some of it arrived) but is not complete yet.
  bool in_progress() const { return scanner_.started() || in_message_; }
  // Its header section is complete and its body is still arriving.
  bool reading_body() const { return headers_done_ && !ready_; }
  // True once per request whose client sent "Expect: 100-continue" and whose
  // body has not arrived yet: the caller may send "100 Continue" now.
  bool TakeContinueRequest();
  // The header fields of the request being read, complete once its head is
  // (reading_body(), or when TakeContinueRequest() said yes).
  const http::FieldList& fields() const { return current_.fields; }

 private:
  static int OnMessageBegin(http_parser* parser);
  static int OnUrl(http_parser* parser, const char* at, size_t len);
  static int OnHeaderField(http_parser* parser, const char* at, size_t len);
  static int OnHeaderValue(http_parser* parser, const char* at, size_t len);
  static int OnHeadersComplete(http_parser* parser);
  static int OnBody(http_parser* parser, const char* at, size_t len);
  static int OnMessageComplete(http_parser* parser);

  // Hands `len` bytes the scanner passed to http-parser; returns how many it used.
  size_t Parse(const char* data, size_t len);
  int CheckHeaders();  // 0 or the status to refuse with
  int CheckTarget();   // 0 or 400; rewrites an absolute-form target
  void Fail(int status, std::string detail);

  RequestLimits limits_;
  http_parser parser_;
  http_parser_settings settings_;
  http::MessageScanner scanner_;
  Request current_;
  bool last_was_value_ = false;
  bool in_message_ = false;
  bool headers_done_ = false;
  bool continue_wanted_ = false;
  bool ready_ = false;
  int error_status_ = 0;
  std::string error_detail_;
};

// The request head a backend receives: request line as HTTP/1.1, the
// client's fields minus hop-by-hop fields, Content-Length and
// "Expect: 100-continue", then a Content-Length we computed (when the client
// sent a body or framing), then Via, X-Forwarded-For and Forwarded, each one
// field: the client's values in order, then this hop's entry ("1.x upmesh",
// `client_ip`, "for=client_ip"). Ends with the last field's CRLF (no blank
// line), per wire.h.
std::string BuildUpstreamHead(const Request& request, const std::string& client_ip);

}  // namespace upmesh::frontend
