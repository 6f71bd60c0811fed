// What the demo backend answers: turns one parsed request into the response
// to send (see response_options.h for the query options, docs/backend.md for
// the whole behaviour). Knows nothing about sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "backend/response_options.h"
#include "backend/response_stream.h"
#include "shared/http_fields.h"

namespace upmesh::backend {

// Counters behind GET /__stats.
struct ServerStats {
  uint64_t requests = 0;     // requests answered, not counting /__stats itself
  uint64_t connections = 0;  // connections accepted so far
};

// A request as the connection parsed it. The body itself is not kept: only
// its length and, when the request asked for echo=1, its SHA-256.
struct ParsedRequest {
  std::string method;
  std::string target;
  int http_major = 1;
  int http_minor = 1;
  http::FieldList fields;
  uint64_t body_length = 0;
  std::string body_sha256;  // hex; empty unless WantsBodyDigest(target)
  bool keep_alive = true;   // what the request's version and Connection allow
};

struct Reply {
  ResponseStream stream;
  int delay_ms = 0;  // send no earlier than this long after the request arrived
};

class RequestHandler {
 public:
  // `defaults` carries the --delay-ms and --status flags. `stats` must
  // outlive the handler; the handler counts requests in it.
  RequestHandler(std::string name, int port, const ResponseOptions& defaults, ServerStats* stats);

  Reply Handle(const ParsedRequest& request);

  // The answer to a request http-parser rejected: 400, then close.
  ResponseStream MalformedRequest(std::string_view detail) const;

  // True if the request's body must be hashed (echo=1), decided from the
  // target as soon as the head has arrived.
  bool WantsBodyDigest(std::string_view target) const;

 private:
  // Status line and header fields every response carries, without the end.
  std::string HeadStart(int status) const;
  ResponseStream Simple(const ParsedRequest& request, int status, std::string_view content_type,
                        std::string body) const;
  std::string EchoJson(const ParsedRequest& request) const;

  const std::string name_;
  const int port_;
  const std::string port_text_;
  const ResponseOptions defaults_;
  ServerStats* const stats_;
};

}  // namespace upmesh::backend
