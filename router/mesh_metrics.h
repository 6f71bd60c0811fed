// Mesh metrics: the page GET /metrics answers (docs/rest-api.md), in the
// Prometheus text format 0.0.4 (shared/metrics_text.h): the whole mesh seen
// from the router, one scrape target.
//
// Built on each scrape from what the router already keeps: the registry
// (table, seq, GRADUAL share) and the monitor's per-version totals of the
// workers' HEALTH reports (router/version_monitor.h), plus the rollbacks
// counted by the API and the number of live workers. Series are per version
// (labels version and uuid), so their number is bounded by the table's
// limits (configService.maxClusters), never by targets or clients.
//
// Counters are totals since the router started; a deleted version's series
// go away with it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "router/cluster_registry.h"
#include "router/version_monitor.h"
#include "shared/status.h"

namespace upmesh::router {

// `le` bounds of upmesh_request_duration_seconds (seconds) and
// upmesh_response_bytes (bytes).
extern const std::vector<double> kDurationBoundsSeconds;
extern const std::vector<double> kBodyBoundsBytes;

// The share of new requests the table routes to each live version, in
// percent, by uuid: the newest live version 100, or its GRADUAL share and the
// previous version the rest; CONCURRENT: both newest versions 100 (both are
// asked). Versions not listed get none.
std::map<std::string, double> SetShares(const ClusterTable& table, double gradual_share);

struct MeshMetricsSources {
  const ClusterRegistry* registry = nullptr;
  const VersionMonitor* monitor = nullptr;          // may be null: no per-version figures
  const std::map<std::string, uint64_t>* rollbacks = nullptr;  // by reason, may be null
  size_t workers = 0;
};

// The page into *page; InvalidArgument (a bug: a bad name) and nothing
// written otherwise.
Status BuildMeshMetrics(const MeshMetricsSources& sources, int64_t now_wall_ms, std::string* page);

}  // namespace upmesh::router
