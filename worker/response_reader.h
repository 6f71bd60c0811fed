// ResponseReader: turns the bytes a backend sends on one connection into one
// whole HTTP/1.x response, ready to go back over the mesh.
//
// It owns an http-parser (HTTP_RESPONSE) and knows nothing about sockets, so
// it can be fed bytes in pieces of any size; every byte passes the grammar
// scanner (shared/http_message_scanner.h) before the parser sees it, so the
// result never depends on the split. It handles Content-Length, chunked
// (de-chunked, trailers dropped) and close-delimited bodies, responses that
// have no body (HEAD, 1xx, 204, 304) and interim 1xx responses (skipped; 101
// is an error because upmesh strips Upgrade from requests). A status outside
// 100..599 is an error.
//
// The finished response has the mesh's shape (shared/wire.h): a head of
// "HTTP/1.1 <status> <backend's reason>" plus the backend's fields minus the
// hop-by-hop ones and minus Content-Length, then a Content-Length that
// matches the de-chunked body (passed through as the backend sent it for HEAD
// and 304; absent for 1xx and 204), then one Via field (the backend's Via
// values, then "1.x upmesh" with the version the backend spoke) and
// "X-Upmesh-Worker: <name>". No blank line ends the head.
//
// Usage, per response: Start(), then Feed() until it returns kComplete or
// kError (FeedEof() when the backend closes), then read the result, then
// Start() again for the next response on the same connection. Not thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include <http_parser.h>

#include "shared/http_fields.h"
#include "shared/http_message_scanner.h"

namespace upmesh::worker {

class ResponseReader {
 public:
  enum class Result { kIncomplete, kComplete, kError };

  explicit ResponseReader(std::string worker_name);
  ResponseReader(const ResponseReader&) = delete;
  ResponseReader& operator=(const ResponseReader&) = delete;

  // Prepares for the response to a new request. `head_request`: the request
  // was HEAD, so the response has no body whatever its fields say.
  // `max_response_bytes`: more bytes of header sections (interim responses'
  // included, as received) plus de-chunked body than this is an error.
  void Start(bool head_request, size_t max_response_bytes);

  // Parses `size` bytes. Sets *consumed to how many were used: all of them
  // unless the response completed early (extra bytes belong to whatever
  // follows it on the connection) or an error occurred.
  Result Feed(const char* data, size_t size, size_t* consumed);

  // The backend closed its side: ends a close-delimited body, anything else
  // is an error (the response is incomplete).
  Result FeedEof();

  // True once any byte of this response arrived (the stale keep-alive retry
  // is safe only before that).
  bool received_any() const { return bytes_received_ > 0; }

  // After kComplete:
  int status() const { return status_; }
  const std::string& head() const { return head_; }
  std::string& body() { return body_; }  // callers may move it out
  // The connection may carry another request: the backend allows keep-alive
  // and did not delimit the body by closing.
  bool keep_alive() const { return keep_alive_; }
  // The backend framed the body with chunked transfer coding (CONCURRENT
  // compares framing; the mesh forwards every body with Content-Length).
  bool chunked() const { return chunked_; }

  // After kError: what went wrong, for logs and the 502 body.
  const std::string& error() const { return error_; }

 private:
  static int OnStatus(http_parser* parser, const char* at, size_t length);
  static int OnHeaderField(http_parser* parser, const char* at, size_t length);
  static int OnHeaderValue(http_parser* parser, const char* at, size_t length);
  static int OnHeadersComplete(http_parser* parser);
  static int OnBody(http_parser* parser, const char* at, size_t length);
  static int OnMessageComplete(http_parser* parser);

  // Back to parsing a fresh message (after Start() or an interim 1xx).
  void ResetMessage();
  Result Fail(std::string message);
  // Hands `size` bytes the scanner passed to http-parser; returns how many it used.
  size_t Parse(const char* data, size_t size);
  void BuildHead();
  // Head bytes of this response so far plus its body plus `extra` exceed the limit.
  bool OverLimit(size_t extra) const;

  const std::string worker_name_;
  http_parser parser_;
  http_parser_settings settings_;
  http::MessageScanner scanner_;

  bool head_request_ = false;
  size_t max_response_bytes_ = 0;
  size_t bytes_received_ = 0;
  size_t interim_head_bytes_ = 0;  // header sections of the 1xx responses skipped

  // The message being parsed.
  std::string reason_;
  http::FieldList fields_;
  bool in_value_ = false;      // the last header callback was a value
  bool headers_done_ = false;  // later field callbacks are trailers: dropped
  int version_minor_ = 1;      // HTTP/1.<minor> of the backend's status line
  bool message_complete_ = false;
  bool interim_ = false;  // the completed message was a 1xx to skip
  std::string callback_error_;

  // The result.
  int status_ = 0;
  std::string head_;
  std::string body_;
  bool keep_alive_ = false;
  bool chunked_ = false;
  std::string error_;
};

}  // namespace upmesh::worker
