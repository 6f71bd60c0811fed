// The open-files limit (RLIMIT_NOFILE) of a process that holds one
// descriptor per connection: the soft limit is often 1024 while the hard one
// allows far more.
#pragma once

#include <cstdint>

namespace upmesh {

// Raises the soft limit to the hard one (when they differ). Returns the soft
// limit in force afterwards; UINT64_MAX when unlimited, 0 when unknown.
uint64_t RaiseOpenFilesLimit();

}  // namespace upmesh
