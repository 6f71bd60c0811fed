// RequestReader: turns a connection's byte stream, however TCP split it,
// into whole HTTP/1.1 requests, or refuses it with a status. The frontend
// reads its clients with it, the router's config API and the demo backend
// theirs.
//
// Feed() consumes bytes and stops right after each complete request, so the
// caller decides when to read the next one (pipelining limits). Bodies are
// de-chunked; chunk extensions and trailer fields are dropped. Every byte is
// checked by the grammar scanner (shared/http_message_scanner.h: bare CR or
// LF, control characters, obs-fold, request-line spaces, chunk lines -> 400,
// header section too large -> 431) before http-parser sees it
// (shared/http_message_parser.h), so the verdict never depends on how the
// bytes were split. Framing that two parties could read differently is
// refused, as an intermediary must (RFC 9112 6.3): Content-Length with
// Transfer-Encoding, differing duplicate Content-Length, Transfer-Encoding
// not ending in chunked or in an HTTP/1.0 request, missing, repeated or
// invalid Host (HTTP/1.1) -> 400; target too long -> 414; body too large ->
// 413 (as soon as that is known); HTTP/2 and later -> 505; CONNECT and
// codings before chunked -> 501; an Expect other than 100-continue -> 417. An
// absolute-form target is rewritten to origin-form and its authority replaces
// Host (shared/http_request_target.h). After a refusal the reader takes no
// more input: the connection must close.
#pragma once

#include <cstddef>
#include <string>

#include "shared/http_fields.h"
#include "shared/http_message_parser.h"

namespace upmesh::http {

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
  FieldList fields;  // as received, framing fields included; Host from an absolute-form target
  std::string body;  // de-chunked; empty when a BodySink took it
  bool had_framing = false;  // Content-Length or chunked: forward a Content-Length
  bool keep_alive = true;    // the client wants the connection kept open
};

// Takes request bodies as they arrive, for a reader whose owner must not
// keep them whole (the demo backend only counts and hashes them).
class BodySink {
 public:
  // The head of a request is complete (`head` has no body yet); its body,
  // if any, follows.
  virtual void OnRequestHead(const Request& head) = 0;
  virtual void OnRequestBody(const char* data, size_t len) = 0;

 protected:
  ~BodySink() = default;
};

class RequestReader : private MessageParser::Handler {
 public:
  explicit RequestReader(const RequestLimits& limits);
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // From now on bodies go to `sink` (which must outlive the reader) instead of Request::body.
  void StreamBodiesTo(BodySink* sink) { sink_ = sink; }

  // Consumes bytes up to and including the end of the next complete request.
  // Returns how many bytes were consumed; the rest must be fed again later.
  // Must not be called while request_ready() or failed().
  size_t Feed(const char* data, size_t len);

  bool request_ready() const { return parser_.message_complete() && !parser_.failed(); }
  Request TakeRequest();  // precondition: request_ready()

  bool failed() const { return parser_.failed(); }
  int error_status() const { return parser_.error_status(); }
  const std::string& error_detail() const { return parser_.error(); }

  // A request has begun (some of it arrived) but is not complete yet.
  bool in_progress() const { return parser_.started(); }
  // Its header section is complete and its body is still arriving.
  bool reading_body() const { return parser_.head_complete() && !parser_.message_complete(); }
  // True once per request whose client sent "Expect: 100-continue" and whose
  // body has not arrived yet: the caller may send "100 Continue" now.
  bool TakeContinueRequest();
  // The header fields of the request being read, complete once its head is
  // (reading_body(), or when TakeContinueRequest() said yes).
  const FieldList& fields() const { return current_.fields; }

 private:
  bool OnHead(MessageParser::Body* body) override;
  bool OnBody(const char* data, size_t len) override;
  bool Refuse(int status, std::string detail);
  bool CheckHeaders();  // false after refusing
  bool CheckTarget();   // false after refusing with 400; rewrites an absolute-form target
  bool CheckTransferEncoding();

  const RequestLimits limits_;
  Request current_;  // the request being read: the parser writes its target and fields
  MessageParser parser_;
  BodySink* sink_ = nullptr;
  size_t body_bytes_ = 0;
  bool continue_wanted_ = false;
};

}  // namespace upmesh::http
