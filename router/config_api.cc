#include "router/config_api.h"

#include <array>

#include "router/dashboard_assets.h"
#include "router/mesh_metrics.h"
#include "router/mesh_status.h"
#include "shared/json_parse.h"
#include "shared/json_reader.h"
#include "shared/log.h"

namespace upmesh::router {
namespace {

using nlohmann::json;

constexpr std::string_view kCollection = "/configuration/cluster";
constexpr const char* kJson = "application/json";

ApiResponse Text(int status, std::string text) {
  ApiResponse response;
  response.status = status;
  response.body = std::move(text);
  if (!response.body.empty() && response.body.back() != '\n' && status >= 400) response.body += "\n";
  return response;
}

ApiResponse Json(int status, const json& value) {
  ApiResponse response;
  response.status = status;
  response.content_type = kJson;
  // Replace invalid UTF-8 rather than throw: names and reports come from outside.
  response.body = value.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
  return response;
}

ApiResponse MethodNotAllowed(const std::string& method, const char* allow) {
  ApiResponse response = Text(405, "method " + NameForMessage(method) + " not allowed here; allowed: " + allow);
  response.extra_fields.push_back({"Allow", allow});
  return response;
}

ApiResponse BadPathId(const std::string& id) {
  return Text(400, "path: the cluster id must be 1.." + std::to_string(kMaxClusterId) +
                       " of A-Z a-z 0-9 . _ - and not \".\" or \"..\", got " + QuoteForMessage(id));
}

}  // namespace

ConfigApi::ConfigApi(ClusterRegistry* registry, const VersionMonitor* monitor, ChangeListener on_change,
                     NetworkPolicy backend_networks)
    : registry_(registry),
      monitor_(monitor),
      on_change_(std::move(on_change)),
      backend_networks_(std::move(backend_networks)) {}

ApiResponse ConfigApi::BodyTooLarge() const {
  return Text(413, "body: larger than the limit of " + std::to_string(max_body_bytes()) +
                       " bytes (configService.maxBodyBytes)");
}

ApiResponse ConfigApi::Handle(const ApiRequest& request, int64_t now_wall_ms) {
  std::string path = request.target.substr(0, request.target.find('?'));
  bool is_get = request.method == "GET" || request.method == "HEAD";
  if (path == "/metrics") {
    if (is_get) return Metrics(now_wall_ms);
    return MethodNotAllowed(request.method, "GET, HEAD");
  }
  if (path == "/status") {
    if (is_get) return MeshStatus(now_wall_ms);
    return MethodNotAllowed(request.method, "GET, HEAD");
  }
  if (IsDashboardPath(path)) {
    if (is_get) return DashboardFile(path);
    return MethodNotAllowed(request.method, "GET, HEAD");
  }
  if (path == kCollection || path == std::string(kCollection) + "/") {
    if (is_get) return ListClusters(now_wall_ms);
    if (request.method == "PUT") return PutCluster(request.body, now_wall_ms);
    return MethodNotAllowed(request.method, "GET, HEAD, PUT");
  }
  std::string prefix = std::string(kCollection) + "/";
  constexpr std::string_view kRollback = "/rollback";
  if (path.size() > prefix.size() + kRollback.size() && path.compare(0, prefix.size(), prefix) == 0 &&
      path.compare(path.size() - kRollback.size(), kRollback.size(), kRollback) == 0 &&
      path.find('/', prefix.size()) == path.size() - kRollback.size()) {
    std::string uuid = path.substr(prefix.size(), path.size() - prefix.size() - kRollback.size());
    if (!IsValidClusterId(uuid)) return BadPathId(uuid);
    if (request.method == "POST") return RollBackCluster(uuid, now_wall_ms);
    return MethodNotAllowed(request.method, "POST");
  }
  if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
      path.find('/', prefix.size()) == std::string::npos) {
    std::string uuid = path.substr(prefix.size());
    if (!IsValidClusterId(uuid)) return BadPathId(uuid);
    if (is_get) return GetCluster(uuid, now_wall_ms);
    if (request.method == "DELETE") return DeleteCluster(uuid);
    return MethodNotAllowed(request.method, "GET, HEAD, DELETE");
  }
  return Text(404, "no such resource: " + QuoteForMessage(path) + " (the API is under " + std::string(kCollection) + ")");
}

ApiResponse ConfigApi::PutCluster(const std::string& body, int64_t now_wall_ms) {
  if (body.size() > max_body_bytes()) return BodyTooLarge();
  json root;
  if (Status parsed = ParseJson(body, {max_body_bytes()}, &root); !parsed.ok()) {
    return Text(400, "body: not valid JSON (" + parsed.message() + "); expected {\"cluster\": {...}}");
  }
  if (!root.is_object()) return Text(400, "body: must be a JSON object {\"cluster\": {...}}");
  JsonObjectReader reader(root, "");
  const json* object = reader.Find("cluster");
  if (!object) return Text(400, "cluster: missing; expected {\"cluster\": {...}}");
  if (Status known = reader.CheckNoUnknownKeys(); !known.ok()) return Text(400, known.message());
  Cluster cluster;
  if (Status valid = ParseCluster(*object, "cluster", &cluster); !valid.ok()) return Text(400, valid.message());
  if (Status allowed = CheckServers(cluster); !allowed.ok()) return Text(400, allowed.message());
  if (!cluster.uuid.empty() && registry_->table().Find(cluster.uuid)) {
    return Text(409, "cluster.uuid: a cluster with uuid " + cluster.uuid + " already exists");
  }
  json change;
  Status status = registry_->Put(std::move(cluster), now_wall_ms, &change);
  if (status.code() == Status::Code::kInvalidArgument) return Text(409, status.message());
  if (!status.ok()) {
    LOG_ERROR("PUT refused: %s", status.message().c_str());
    return Text(500, "cannot persist the change, nothing changed: " + status.message());
  }
  std::string uuid = change["cluster"]["uuid"].get<std::string>();
  LOG_INFO("cluster %s (version %s) added; seq %llu", uuid.c_str(), change["cluster"]["version"].dump().c_str(),
           static_cast<unsigned long long>(registry_->seq()));
  if (on_change_) on_change_(registry_->seq(), change);
  return Text(202, uuid);
}

Status ConfigApi::CheckServers(const Cluster& cluster) const {
  size_t limit = registry_->limits().max_servers_per_cluster;
  if (cluster.servers.size() > limit) {
    return Status::InvalidArgument("cluster.servers: " + std::to_string(cluster.servers.size()) +
                                   " servers, more than the limit of " + std::to_string(limit) +
                                   " (configService.maxServersPerCluster)");
  }
  return CheckServerNetworks(cluster, backend_networks_, "cluster");
}

json ConfigApi::StateOf(const Cluster& cluster, int64_t now_wall_ms) const {
  json state = registry_->StateOf(cluster, now_wall_ms);
  if (monitor_) state.update(monitor_->StateOf(registry_->table(), cluster));
  return state;
}

ApiResponse ConfigApi::ListClusters(int64_t now_wall_ms) const {
  json list = json::array();
  for (const Cluster& cluster : registry_->table().clusters()) {
    list.push_back({{"cluster", ClusterToJson(cluster)}, {"state", StateOf(cluster, now_wall_ms)}});
  }
  return Json(200, list);
}

ApiResponse ConfigApi::GetCluster(const std::string& uuid, int64_t now_wall_ms) const {
  const Cluster* cluster = registry_->table().Find(uuid);
  if (!cluster) return Text(404, "no cluster with uuid " + uuid);
  return Json(200, {{"cluster", ClusterToJson(*cluster)}, {"state", StateOf(*cluster, now_wall_ms)}});
}

Status ConfigApi::RollBack(const std::string& uuid, const std::string& reason, const std::string& detail,
                           int64_t now_wall_ms) {
  json record = monitor_ ? monitor_->Evidence(registry_->table(), uuid, reason, detail, now_wall_ms)
                         : json{{"uuid", uuid}, {"reason", reason}, {"detail", detail}, {"atMs", now_wall_ms}};
  record["seq"] = registry_->seq() + 1;  // the rollback's own change
  json change;
  UPMESH_RETURN_IF_ERROR(registry_->RollBack(uuid, std::move(record), &change));
  ++rollbacks_[reason];
  LOG_WARN("cluster %s rolled back (%s: %s); seq %llu", uuid.c_str(), reason.c_str(), detail.c_str(),
           static_cast<unsigned long long>(registry_->seq()));
  if (on_change_) on_change_(registry_->seq(), change);
  return Status::Ok();
}

ApiResponse ConfigApi::RollBackCluster(const std::string& uuid, int64_t now_wall_ms) {
  Status status = RollBack(uuid, "operator", "rolled back by an operator through the API", now_wall_ms);
  if (status.code() == Status::Code::kNotFound) return Text(404, "no cluster with uuid " + uuid);
  if (status.code() == Status::Code::kInvalidArgument) return Text(409, status.message());
  if (!status.ok()) {
    LOG_ERROR("rollback refused: %s", status.message().c_str());
    return Text(500, "cannot persist the change, nothing changed: " + status.message());
  }
  return Text(202, "rolled back: " + uuid + "\n");
}

ApiResponse ConfigApi::Metrics(int64_t now_wall_ms) const {
  MeshMetricsSources sources{registry_, monitor_, &rollbacks_, count_workers_ ? count_workers_() : 0};
  ApiResponse response;
  Status built = BuildMeshMetrics(sources, now_wall_ms, &response.body);
  if (!built.ok()) {
    LOG_ERROR("GET /metrics: %s", built.message().c_str());
    return Text(500, "cannot build the metrics: " + built.message());
  }
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return response;
}

ApiResponse ConfigApi::MeshStatus(int64_t now_wall_ms) const {
  return Json(200, BuildMeshStatus({registry_, monitor_, describe_peers_}, now_wall_ms));
}

ApiResponse ConfigApi::DeleteCluster(const std::string& uuid) {
  json change;
  Status status = registry_->Remove(uuid, &change);
  if (status.code() == Status::Code::kNotFound) return Text(404, "no cluster with uuid " + uuid);
  if (!status.ok()) {
    LOG_ERROR("DELETE refused: %s", status.message().c_str());
    return Text(500, "cannot persist the change, nothing changed: " + status.message());
  }
  LOG_INFO("cluster %s deleted; seq %llu", uuid.c_str(), static_cast<unsigned long long>(registry_->seq()));
  if (on_change_) on_change_(registry_->seq(), change);
  return Text(202, "");
}

}  // namespace upmesh::router
