// The reason OpenSSL gives for the call that just failed, for messages.
//
// OpenSSL keeps its errors in a per-thread queue; TakeTlsError() returns the
// oldest one's reason ("certificate verify failed", "wrong version number")
// and empties the queue, so the next failure is not blamed on an old one.
#pragma once

#include <string>

namespace upmesh {

// `fallback` when the queue is empty (an error without an OpenSSL reason).
std::string TakeTlsError(const std::string& fallback = "unknown TLS error");

}  // namespace upmesh
