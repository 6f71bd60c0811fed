// ClusterLimits: how much configuration the router accepts and stores.
//
// Without limits one API caller filled the table with 54 MB of servers and
// the router spent its time encoding it (and came back to it after every
// restart). The defaults hold far more than any real deployment (a version
// with 256 servers, 64 versions kept for rollback) while keeping a
// snapshot, a state-file write and a broadcast in the low milliseconds.
// Every value is a configService.* key (docs/configuration.md).
#pragma once

#include <cstddef>

namespace upmesh {

struct ClusterLimits {
  size_t max_body_bytes = 1024 * 1024;     // configService.maxBodyBytes: a PUT body -> 413
  size_t max_servers_per_cluster = 256;    // configService.maxServersPerCluster -> 400
  size_t max_clusters = 64;                // configService.maxClusters: versions in the table -> 409
  size_t max_table_bytes = 4 * 1024 * 1024;  // configService.maxTableBytes: stored JSON of all versions -> 409
};

// The largest values the settings above accept. kMaxTableBytesCeiling also
// bounds every wire message that carries clusters (a SNAPSHOT is the whole
// table), so no setting can make the router send what a worker refuses.
constexpr size_t kMaxBodyBytesCeiling = 64 * 1024 * 1024;
constexpr size_t kMaxServersPerClusterCeiling = 100000;
constexpr size_t kMaxClustersCeiling = 10000;
constexpr size_t kMaxTableBytesCeiling = 64 * 1024 * 1024;

}  // namespace upmesh
