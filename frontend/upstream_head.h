// The request head a backend receives for a client's request: the
// frontend's forwarding policy (docs/http-conformance.md, Forwarding fields).
#pragma once

#include <string>

#include "shared/http_request_reader.h"

namespace upmesh::frontend {

// The request line as HTTP/1.1, the client's fields minus hop-by-hop fields,
// Content-Length and "Expect: 100-continue", then a Content-Length we
// computed (when the client sent a body or framing), then Via,
// X-Forwarded-For and Forwarded, each one field: the client's values in
// order, then this hop's entry ("1.x upmesh", `client_ip`,
// "for=client_ip"). Ends with the last field's CRLF (no blank line), per
// wire.h.
std::string BuildUpstreamHead(const http::Request& request, const std::string& client_ip);

}  // namespace upmesh::frontend
