// Reading the request head the frontend built (frontend/upstream_head.h):
// only what the worker's records of a request name (the access log, the
// health report's failure samples, CONCURRENT mismatch reports), taken as
// views when a record is made, so nothing is parsed for the others.
#pragma once

#include <string_view>

namespace upmesh::worker {

struct RequestLine {
  std::string_view method;
  std::string_view target;
};

// The head's first line, without its CRLF.
std::string_view RequestLineOf(std::string_view head);

// The method and target of the head's request line ("GET /a HTTP/1.1");
// empty views when the head does not start with one.
RequestLine ParseRequestLine(std::string_view head);

// The client's address: the last entry of the head's X-Forwarded-For field,
// which the frontend writes as one field ending in the address its client
// connected from. Empty when the head has none.
std::string_view ClientAddressOf(std::string_view head);

}  // namespace upmesh::worker
