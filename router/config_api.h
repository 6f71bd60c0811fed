// ConfigApi: the REST config API (docs/rest-api.md) as a pure function from
// an HTTP request (method, target, body) to a response. No sockets: the
// ConfigListener feeds it whole requests, and the unit tests call it directly.
//
//   PUT    /configuration/cluster        {"cluster": {...}} -> 202, text/plain uuid
//   GET    /configuration/cluster[/]     -> 200, JSON array newest first,
//                                           each {"cluster": {...}, "state": {...}}
//   GET    /configuration/cluster/{id}   -> 200 {"cluster", "state"} or 404
//   DELETE /configuration/cluster/{id}   -> 202 (empty body) or 404
//   POST   /configuration/cluster/{id}/rollback -> 202, the version is
//                                           rolled back by hand (reason
//                                           "operator"); 404, or 409 when it
//                                           is rolled back already or the
//                                           last version that can serve
//   GET    /metrics                      -> 200, the mesh's metrics in the
//                                           Prometheus text format 0.0.4
//                                           (router/mesh_metrics.h)
//   GET    /status                       -> 200, JSON: versions with mode,
//                                           health and share, live workers
//                                           and frontends (router/mesh_status.h)
//   GET    /dashboard[/FILE]             -> the dashboard's page, script and
//                                           style (router/dashboard_assets.h)
//   HEAD is answered like GET (the listener drops the body).
//   Other methods on these paths -> 405 with Allow; other paths -> 404.
//   Invalid input -> 400 with one line naming the field (a cluster with
//   more servers than the limit, or a server address the backend network
//   policy refuses, too); a body over the limit -> 413; an existing uuid,
//   or a table that would break its limits (versions, stored bytes) -> 409;
//   the state file cannot be written -> 500 and nothing changed. The limits
//   are the registry's (shared/cluster_limits.h). Error bodies quote at
//   most a few dozen bytes of the input.
//
// Each cluster's "state" joins the registry's (served, ramp, mismatches,
// rollback record) and the monitor's (health, window figures).
//
// A successful change is persisted and applied by the ClusterRegistry, then
// handed to the ChangeListener (the publisher) before the response is made,
// so a 202 means every subscribed worker has been sent the change.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "router/cluster_registry.h"
#include "router/version_monitor.h"
#include "shared/http_fields.h"
#include "shared/network_policy.h"

namespace upmesh::router {

struct ApiRequest {
  std::string method;  // "GET"
  std::string target;  // "/configuration/cluster?x" (a query string is ignored)
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  http::FieldList extra_fields;  // e.g. Allow on a 405
};

class ConfigApi {
 public:
  using ChangeListener = std::function<void(uint64_t seq, const nlohmann::json& change)>;

  // `backend_networks` is checked for every "ip" server of a PUT.
  ConfigApi(ClusterRegistry* registry, const VersionMonitor* monitor, ChangeListener on_change,
            NetworkPolicy backend_networks = NetworkPolicy::Default());

  ApiResponse Handle(const ApiRequest& request, int64_t now_wall_ms);

  // How GET /metrics learns the number of live workers (0 without it).
  void CountWorkersWith(std::function<size_t()> count) { count_workers_ = std::move(count); }
  // How GET /status learns the live workers and frontends:
  // {"workers": [...], "frontends": [...]} (both empty without it).
  void DescribePeersWith(std::function<nlohmann::json()> describe) { describe_peers_ = std::move(describe); }

  size_t max_body_bytes() const { return registry_->limits().max_body_bytes; }
  // The 413 for a body over max_body_bytes() (also used by the listener,
  // which refuses such a body before it has arrived whole).
  ApiResponse BodyTooLarge() const;

  // Rolls a version back with the monitor's evidence (`reason`: the rule
  // that fired, or "operator"), then hands the change to the listener.
  // Errors as ClusterRegistry::RollBack.
  Status RollBack(const std::string& uuid, const std::string& reason, const std::string& detail, int64_t now_wall_ms);

 private:
  ApiResponse PutCluster(const std::string& body, int64_t now_wall_ms);
  ApiResponse ListClusters(int64_t now_wall_ms) const;
  ApiResponse GetCluster(const std::string& uuid, int64_t now_wall_ms) const;
  ApiResponse DeleteCluster(const std::string& uuid);
  ApiResponse RollBackCluster(const std::string& uuid, int64_t now_wall_ms);
  ApiResponse Metrics(int64_t now_wall_ms) const;
  ApiResponse MeshStatus(int64_t now_wall_ms) const;
  nlohmann::json StateOf(const Cluster& cluster, int64_t now_wall_ms) const;

  // 400 naming the server when a limit or the network policy refuses one.
  Status CheckServers(const Cluster& cluster) const;

  ClusterRegistry* registry_;
  const VersionMonitor* monitor_;
  ChangeListener on_change_;
  NetworkPolicy backend_networks_;
  std::function<size_t()> count_workers_;
  std::function<nlohmann::json()> describe_peers_;
  std::map<std::string, uint64_t> rollbacks_;  // made since start, by reason
};

}  // namespace upmesh::router
