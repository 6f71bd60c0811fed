#include "router/mesh_status.h"

#include "router/mesh_metrics.h"

namespace upmesh::router {

using nlohmann::json;

namespace {

uint64_t WindowRequests(const VersionMonitor* monitor, const Cluster& cluster) {
  const HealthFigures* window = monitor ? monitor->WindowOf(cluster.uuid) : nullptr;
  return window ? window->requests() : 0;
}

}  // namespace

json BuildMeshStatus(const MeshStatusSources& sources, int64_t now_wall_ms) {
  const ClusterTable& table = sources.registry->table();
  double gradual = sources.registry->GradualShare(now_wall_ms);
  std::map<std::string, double> set = SetShares(table, gradual);
  uint64_t window_total = 0;
  for (const Cluster& cluster : table.clusters()) window_total += WindowRequests(sources.monitor, cluster);
  const Cluster* newest = table.NewestLive();
  json versions = json::array();
  for (const Cluster& cluster : table.clusters()) {
    auto found = set.find(cluster.uuid);
    uint64_t requests = WindowRequests(sources.monitor, cluster);
    double actual = window_total == 0 ? 0 : 100.0 * static_cast<double>(requests) / static_cast<double>(window_total);
    std::string health = sources.monitor ? sources.monitor->HealthOf(table, cluster).first
                                         : (cluster.rolled_back ? "rolledBack" : "healthy");
    versions.push_back({{"uuid", cluster.uuid},
                        {"version", cluster.version},
                        {"mode", UpgradeModeName(cluster.transition.mode)},
                        {"newest", newest == &cluster},
                        {"rolledBack", cluster.rolled_back},
                        {"health", health},
                        {"share", {{"set", found == set.end() ? 0.0 : found->second}, {"actual", actual}}}});
  }
  json peers = sources.peers ? sources.peers() : json::object();
  return {{"atMs", now_wall_ms},
          {"seq", sources.registry->seq()},
          {"gradualShare", gradual},
          {"versions", std::move(versions)},
          {"workers", peers.value("workers", json::array())},
          {"frontends", peers.value("frontends", json::array())}};
}

}  // namespace upmesh::router
