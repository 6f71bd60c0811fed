// A small blocking HTTP/1.1 client for one request per connection.
//
// HttpExchange() connects to host:port (a name is resolved; IPv4 or IPv6),
// sends one request with "Connection: close" and a Content-Length when there
// is a body, and reads the whole response, whichever way it is framed
// (Content-Length, chunked, or until the server closes). Everything, from
// the connect to the last body byte, must finish within `timeout_ms`. With a
// TlsClientContext the exchange is https: the TLS handshake and the check of
// the router's certificate come first (ctl/tls_client.h).
//
// Errors are Status::Unavailable with a message naming the address: the
// server could not be reached, did not answer in time, or did not answer
// with HTTP. An HTTP error status (4xx, 5xx) is not an error here: it is a
// response like any other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "ctl/tls_client.h"
#include "shared/http_response_reader.h"
#include "shared/status.h"

namespace upmesh::ctl {

struct HttpRequest {
  std::string method;  // "GET"
  std::string target;  // "/configuration/cluster"
  std::string body;    // sent with Content-Length when not empty (always for PUT, POST)
  std::string content_type;  // for the body
  std::string bearer_token;  // sent as "Authorization: Bearer TOKEN" when not empty
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::string content_type;  // "" when absent
  std::string body;          // de-chunked
};

// A response larger than this is refused (the config API's answers are small).
constexpr size_t kMaxResponseBytes = 64 * 1024 * 1024;

// `tls`: null for plain HTTP.
Status HttpExchange(const std::string& host, uint16_t port, const HttpRequest& request, int timeout_ms,
                    const TlsClientContext* tls, HttpResponse* response);

// The response parser on its own, so that it can be tested without sockets:
// feed it the bytes as they arrive, then FeedEof() if the server closes
// before complete() is true. The reading is the shared
// http::ResponseReader's (shared/http_response_reader.h: interim 1xx
// responses skipped, its framing and grammar rules); this adds upmeshctl's
// result and its words for what went wrong.
class HttpResponseParser {
 public:
  HttpResponseParser();
  HttpResponseParser(const HttpResponseParser&) = delete;
  HttpResponseParser& operator=(const HttpResponseParser&) = delete;

  // Parses more bytes; an error for bytes that are not an HTTP response, or
  // a response over kMaxResponseBytes. Bytes after the response are ignored.
  Status Feed(const char* data, size_t size);
  // The server closed the connection: ends a close-delimited body; an error
  // if the response is incomplete.
  Status FeedEof();
  // A final (non-1xx) response is complete.
  bool complete() const { return complete_; }
  HttpResponse& response() { return response_; }

 private:
  Status Finish(http::ResponseReader::Result result);

  http::ResponseReader reader_;
  HttpResponse response_;
  bool complete_ = false;
};

}  // namespace upmesh::ctl
