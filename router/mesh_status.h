// Mesh status: the JSON view GET /status answers (docs/rest-api.md), made
// for the dashboard and `upmeshctl status`: every version with its mode,
// health and traffic share (set by the table, actual over the monitor's
// window), and the live workers and frontends as the router sees them.
//
// The per-version figures over time are the caller's to keep (the dashboard
// samples this and GET /configuration/cluster every second): the router
// holds no history beyond the monitor's window.
#pragma once

#include <cstdint>
#include <functional>

#include <nlohmann/json.hpp>

#include "router/cluster_registry.h"
#include "router/version_monitor.h"

namespace upmesh::router {

struct MeshStatusSources {
  const ClusterRegistry* registry = nullptr;
  const VersionMonitor* monitor = nullptr;  // may be null: every version "healthy", actual shares 0
  // {"workers": [...], "frontends": [...]} as the router knows them; may be unset (both empty).
  std::function<nlohmann::json()> peers;
};

// {"atMs", "seq", "gradualShare", "versions": [...newest first], "workers", "frontends"}
nlohmann::json BuildMeshStatus(const MeshStatusSources& sources, int64_t now_wall_ms);

}  // namespace upmesh::router
