// What the worker makes of a backend's response (read by the shared
// http::ResponseReader, shared/http_response_reader.h) before it goes back
// over the mesh.
//
// MeshResponseHead: the mesh's shape (shared/wire.h): "HTTP/1.1 <status>
// <backend's reason>" plus the backend's fields minus the hop-by-hop ones
// and minus Content-Length, then a Content-Length that matches the
// de-chunked body (passed through as the backend sent it for HEAD and 304;
// absent for 1xx and 204), then one Via field (the backend's Via values,
// then "1.x upmesh" with the version the backend spoke) and
// "X-Upmesh-Worker: <name>". No blank line ends the head.
//
// BackendError: the worker's words for a reader's error, for its log and the
// 502 body.
#pragma once

#include <string>
#include <string_view>

#include "shared/http_response_reader.h"

namespace upmesh::worker {

// Precondition: the reader returned kComplete.
std::string MeshResponseHead(const http::ResponseReader& reader, std::string_view worker_name);

// Precondition: the reader returned kError.
std::string BackendError(const http::ResponseReader& reader);

}  // namespace upmesh::worker
