// What the demo backend answers: turns one parsed request into the response
// to send (see response_options.h for the query options, docs/backend.md for
// the whole behaviour). Knows nothing about sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "backend/response_options.h"
#include "backend/response_stream.h"
#include "shared/http_fields.h"

namespace upmesh::backend {

// Counters behind GET /__stats. "Requests" never include /__stats and
// /__control ones; times are wall-clock ms since the epoch, 0 for never.
struct ServerStats {
  uint64_t requests = 0;     // requests answered
  uint64_t connections = 0;  // connections accepted so far
  uint64_t errors = 0;       // requests answered with an injected error
  int64_t last_request_at_ms = 0;
  // Since start or the last change through /__control, so a test can tell
  // when the error rate it just set began to bite.
  int64_t first_injected_error_at_ms = 0;
};

// Wall-clock milliseconds since the epoch (the clock the /__stats times use).
int64_t WallClockMs();

// A request as the connection parsed it. The body itself is not kept: only
// its length and, when the request asked for echo=1, its SHA-256.
struct ParsedRequest {
  std::string method;
  std::string target;
  int http_minor = 1;  // HTTP/1.<minor>: the reader serves 1.0 and 1.1 only
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
  // `defaults` carries the flags; /__control changes a copy of them, and
  // reset=1 goes back to them. `stats` must outlive the handler; the handler
  // counts requests in it. `wall_clock` is replaceable for tests.
  RequestHandler(std::string name, int port, const Defaults& defaults, ServerStats* stats,
                 std::function<int64_t()> wall_clock = WallClockMs);

  // Answers /__stats, /__control, or (any other path) with the response the
  // query options and the current defaults ask for. With error_percent P,
  // request number i (counted in stats->requests) gets the injected 500
  // instead whenever floor(i*P/100) steps up: exactly P of any 100
  // consecutive requests, evenly spread.
  Reply Handle(const ParsedRequest& request);

  // The answer to a request the reader refused: `status` (400, 413, 414,
  // 417, 431, 501, 505) with `detail`, then close.
  ResponseStream MalformedRequest(int status, std::string_view detail) const;

  // True if the request's body must be hashed (echo=1), decided from the
  // target as soon as the head has arrived.
  bool WantsBodyDigest(std::string_view target) const;

 private:
  // Status line and header fields every response carries, without the end.
  std::string HeadStart(int status) const;
  // A response with a body known up front; `head` is HeadStart() plus any
  // fields of its own.
  ResponseStream Simple(const ParsedRequest& request, std::string head, std::string_view content_type,
                        std::string body) const;
  ResponseStream Stats(const ParsedRequest& request) const;
  ResponseStream Control(const ParsedRequest& request);
  std::string EchoJson(const ParsedRequest& request) const;

  const std::string name_;
  const int port_;
  const std::string port_text_;
  const Defaults startup_;
  Defaults defaults_;
  ServerStats* const stats_;
  const std::function<int64_t()> wall_clock_;
};

}  // namespace upmesh::backend
