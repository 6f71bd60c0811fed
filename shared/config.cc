#include "shared/config.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "shared/json_reader.h"

namespace upmesh {
namespace {

using nlohmann::json;

constexpr int64_t kMaxMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxBytes = 1LL << 40;
// Each API connection costs a descriptor; beyond this the open-file limit, not this key, is the real bound.
constexpr int64_t kMaxApiConnections = 1000000;
// A config file holds settings and at most one cluster: a few kB. 4 MiB
// leaves room for a cluster with the most servers the ceiling allows.
constexpr JsonLimits kConfigFileLimits{4 * 1024 * 1024};

Status SubObject(JsonObjectReader& parent, const std::string& key, const json** out) {
  *out = parent.Find(key);
  if (*out && !(*out)->is_object()) {
    return Status::InvalidArgument(parent.PathOf(key) + ": must be an object, got " + JsonForMessage(**out));
  }
  return Status::Ok();
}

Status ParseEndpoint(JsonObjectReader& reader, const std::string& key, std::string* out) {
  UPMESH_RETURN_IF_ERROR(reader.ReadString(key, out));
  return ValidateEndpoint(reader.PathOf(key), *out);
}

Status ParseEndpointList(JsonObjectReader& reader, const std::string& key, std::vector<std::string>* out) {
  const json* list = reader.Find(key);
  if (!list) return Status::Ok();
  if (!list->is_array()) {
    return Status::InvalidArgument(reader.PathOf(key) + ": must be an array of endpoints such as \"tcp://127.0.0.1:5553\"");
  }
  out->clear();
  for (size_t i = 0; i < list->size(); ++i) {
    std::string name = reader.PathOf(key) + "[" + std::to_string(i) + "]";
    if (!(*list)[i].is_string()) return Status::InvalidArgument(name + ": must be a string");
    UPMESH_RETURN_IF_ERROR(ValidateEndpoint(name, (*list)[i].get<std::string>()));
    out->push_back((*list)[i].get<std::string>());
  }
  return Status::Ok();
}

// "mesh": {"curve": {...}}: the key files of the mesh's CURVE security.
Status ParseMeshSecurity(const json& mesh_object, CurveConfig* curve) {
  JsonObjectReader mesh(mesh_object, "mesh");
  const json* object = nullptr;
  UPMESH_RETURN_IF_ERROR(SubObject(mesh, "curve", &object));
  if (object) {
    JsonObjectReader r(*object, "mesh.curve");
    UPMESH_RETURN_IF_ERROR(r.ReadString("serverSecretKeyFile", &curve->server_secret_key_file));
    UPMESH_RETURN_IF_ERROR(r.ReadString("serverPublicKeyFile", &curve->server_public_key_file));
    UPMESH_RETURN_IF_ERROR(r.ReadString("allowedClientKeys", &curve->allowed_client_keys));
    UPMESH_RETURN_IF_ERROR(r.ReadString("clientSecretKeyFile", &curve->client_secret_key_file));
    UPMESH_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  return mesh.CheckNoUnknownKeys();
}

Status ParseNetworkList(JsonObjectReader& reader, const std::string& key, std::vector<Cidr>* out) {
  const json* list = reader.Find(key);
  if (!list) return Status::Ok();
  if (!list->is_array()) {
    return Status::InvalidArgument(reader.PathOf(key) + ": must be an array of networks such as \"10.0.0.0/8\"");
  }
  out->clear();
  for (size_t i = 0; i < list->size(); ++i) {
    std::string path = reader.PathOf(key) + "[" + std::to_string(i) + "]";
    const json& entry = (*list)[i];
    if (!entry.is_string()) return Status::InvalidArgument(path + ": must be a string such as \"10.0.0.0/8\"");
    Cidr cidr;
    Status status = ParseCidr(entry.get<std::string>(), &cidr);
    if (!status.ok()) return Status::InvalidArgument(path + ": " + status.message());
    out->push_back(std::move(cidr));
  }
  return Status::Ok();
}

// configService.tls: {"certFile": PEM chain, "keyFile": PEM key}, both or neither.
Status ParseApiTls(const json& object, RouterConfig* router) {
  JsonObjectReader r(object, "configService.tls");
  UPMESH_RETURN_IF_ERROR(r.ReadString("certFile", &router->tls_cert_file));
  UPMESH_RETURN_IF_ERROR(r.ReadString("keyFile", &router->tls_key_file));
  UPMESH_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  if (router->tls_cert_file.empty() != router->tls_key_file.empty()) {
    const char* missing = router->tls_cert_file.empty() ? "certFile" : "keyFile";
    return Status::InvalidArgument(std::string("configService.tls.") + missing +
                                   ": missing (TLS needs both certFile and keyFile)");
  }
  return Status::Ok();
}

// backendNetworks: {"allow": [CIDR...], "deny": [CIDR...]}; a list not given keeps its default.
Status ParseNetworkPolicy(const json& object, NetworkPolicy* policy) {
  if (!object.is_object()) {
    return Status::InvalidArgument("backendNetworks: must be an object {\"allow\": [...], \"deny\": [...]}, got " +
                                   JsonForMessage(object));
  }
  JsonObjectReader reader(object, "backendNetworks");
  std::vector<Cidr> allow = NetworkPolicy::Default().allow();
  std::vector<Cidr> deny = NetworkPolicy::Default().deny();
  UPMESH_RETURN_IF_ERROR(ParseNetworkList(reader, "allow", &allow));
  UPMESH_RETURN_IF_ERROR(ParseNetworkList(reader, "deny", &deny));
  UPMESH_RETURN_IF_ERROR(reader.CheckNoUnknownKeys());
  *policy = NetworkPolicy(std::move(allow), std::move(deny));
  return Status::Ok();
}

Status ParseRoot(const json& root, MeshConfig* config) {
  if (!root.is_object()) return Status::InvalidArgument("the top level must be a JSON object");
  JsonObjectReader reader(root, "");
  const json* object = nullptr;

  UPMESH_RETURN_IF_ERROR(SubObject(reader, "proxy", &object));
  if (object) {
    JsonObjectReader proxy(*object, "proxy");
    UPMESH_RETURN_IF_ERROR(proxy.ReadInt("port", 1, 65535, &config->frontend.port));
    UPMESH_RETURN_IF_ERROR(proxy.ReadString("address", &config->frontend.address));
    UPMESH_RETURN_IF_ERROR(proxy.CheckNoUnknownKeys());
  }
  UPMESH_RETURN_IF_ERROR(SubObject(reader, "configService", &object));
  if (object) {
    JsonObjectReader service(*object, "configService");
    UPMESH_RETURN_IF_ERROR(service.ReadInt("port", 1, 65535, &config->router.config_port));
    UPMESH_RETURN_IF_ERROR(service.ReadString("address", &config->router.config_address));
    UPMESH_RETURN_IF_ERROR(service.ReadString("stateFile", &config->router.state_file));
    UPMESH_RETURN_IF_ERROR(service.ReadString("tokenFile", &config->router.token_file));
    UPMESH_RETURN_IF_ERROR(SubObject(service, "tls", &object));
    if (object) UPMESH_RETURN_IF_ERROR(ParseApiTls(*object, &config->router));
    ClusterLimits& limits = config->router.limits;
    UPMESH_RETURN_IF_ERROR(service.ReadInt("maxBodyBytes", 1024, kMaxBodyBytesCeiling, &limits.max_body_bytes));
    UPMESH_RETURN_IF_ERROR(
        service.ReadInt("maxServersPerCluster", 1, kMaxServersPerClusterCeiling, &limits.max_servers_per_cluster));
    UPMESH_RETURN_IF_ERROR(service.ReadInt("maxClusters", 1, kMaxClustersCeiling, &limits.max_clusters));
    UPMESH_RETURN_IF_ERROR(service.ReadInt("maxTableBytes", 1024, kMaxTableBytesCeiling, &limits.max_table_bytes));
    RouterConfig& rc = config->router;
    UPMESH_RETURN_IF_ERROR(service.ReadInt("requestTimeoutMs", 100, kMaxMs, &rc.api_request_timeout_ms));
    UPMESH_RETURN_IF_ERROR(service.ReadInt("idleTimeoutMs", 100, kMaxMs, &rc.api_idle_timeout_ms));
    UPMESH_RETURN_IF_ERROR(service.ReadInt("maxConnections", 1, kMaxApiConnections, &rc.api_max_connections));
    UPMESH_RETURN_IF_ERROR(service.CheckNoUnknownKeys());
  }
  UPMESH_RETURN_IF_ERROR(SubObject(reader, "cluster", &object));
  if (object) {
    UPMESH_RETURN_IF_ERROR(ParseCluster(*object, "cluster", &config->cluster));
    config->has_cluster = true;
  }
  UPMESH_RETURN_IF_ERROR(SubObject(reader, "frontend", &object));
  if (object) {
    FrontendConfig& f = config->frontend;
    JsonObjectReader r(*object, "frontend");
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "routerEndpoint", &f.router_endpoint));
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "configEndpoint", &f.config_endpoint));
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "workerBind", &f.worker_bind));
    if (r.Find("workerAdvertise")) UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "workerAdvertise", &f.worker_advertise));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("maxQueued", 0, 10000000, &f.max_queued));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("queueTimeoutMs", 1, kMaxMs, &f.queue_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("heartbeatMs", 10, 60000, &f.heartbeat_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("heartbeatLiveness", 1, 100, &f.heartbeat_liveness));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("maxHeaderBytes", 256, 80 * 1024, &f.max_header_bytes));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("maxTargetBytes", 16, 64 * 1024, &f.max_target_bytes));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("maxBodyBytes", 0, kMaxBytes, &f.max_body_bytes));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("headerTimeoutMs", 1, kMaxMs, &f.header_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("bodyTimeoutMs", 1, kMaxMs, &f.body_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("replyTimeoutMs", 1, kMaxMs, &f.reply_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("idleTimeoutMs", 1, kMaxMs, &f.idle_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("maxPipelined", 1, 1024, &f.max_pipelined));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("drainTimeoutMs", 0, kMaxMs, &f.drain_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  UPMESH_RETURN_IF_ERROR(SubObject(reader, "router", &object));
  if (object) {
    RouterConfig& rc = config->router;
    JsonObjectReader r(*object, "router");
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "frontendBind", &rc.frontend_bind));
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "workerBind", &rc.worker_bind));
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "publishBind", &rc.publish_bind));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("heartbeatMs", 10, 60000, &rc.heartbeat_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("heartbeatLiveness", 1, 100, &rc.heartbeat_liveness));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("ackWaitMs", 1, 60000, &rc.ack_wait_ms));
    UPMESH_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  UPMESH_RETURN_IF_ERROR(SubObject(reader, "worker", &object));
  if (object) {
    WorkerConfig& w = config->worker;
    JsonObjectReader r(*object, "worker");
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "routerEndpoint", &w.router_endpoint));
    UPMESH_RETURN_IF_ERROR(ParseEndpoint(r, "configEndpoint", &w.config_endpoint));
    UPMESH_RETURN_IF_ERROR(ParseEndpointList(r, "frontends", &w.frontends));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("capacity", 1, 100000, &w.capacity));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("connectTimeoutMs", 1, kMaxMs, &w.connect_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("responseTimeoutMs", 1, kMaxMs, &w.response_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("maxResponseBytes", 0, kMaxBytes, &w.max_response_bytes));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("maxConnectionsPerServer", 1, 100000, &w.max_connections_per_server));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("idleConnectionTimeoutMs", 1, kMaxMs, &w.idle_connection_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("heartbeatMs", 10, 60000, &w.heartbeat_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("heartbeatLiveness", 1, 100, &w.heartbeat_liveness));
    UPMESH_RETURN_IF_ERROR(r.ReadInt("drainTimeoutMs", 0, kMaxMs, &w.drain_timeout_ms));
    UPMESH_RETURN_IF_ERROR(r.ReadString("accessLog", &w.access_log));
    UPMESH_RETURN_IF_ERROR(r.ReadNumber("accessLogSample", 1e-6, 1, &w.access_log_sample));
    UPMESH_RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  UPMESH_RETURN_IF_ERROR(SubObject(reader, "mesh", &object));
  if (object) UPMESH_RETURN_IF_ERROR(ParseMeshSecurity(*object, &config->curve));
  if (const json* networks = reader.Find("backendNetworks")) {
    NetworkPolicy policy;
    UPMESH_RETURN_IF_ERROR(ParseNetworkPolicy(*networks, &policy));
    config->router.backend_networks = policy;
    config->worker.backend_networks = policy;
  }
  if (const json* level = reader.Find("logLevel")) {
    static const std::set<std::string> kLevels = {"error", "warn", "info", "debug"};
    if (!level->is_string() || !kLevels.count(level->get<std::string>())) {
      return Status::InvalidArgument("logLevel: must be one of error, warn, info, debug, got " + JsonForMessage(*level));
    }
    config->log_level = level->get<std::string>();
  }
  return reader.CheckNoUnknownKeys();
}

}  // namespace

Status ParseConfig(const std::string& text, const std::string& origin, MeshConfig* config) {
  json root;
  if (Status parsed = ParseJson(text, kConfigFileLimits, &root); !parsed.ok()) {
    return Status::InvalidArgument(origin + ": not valid JSON: " + parsed.message());
  }
  Status status = ParseRoot(root, config);
  if (!status.ok()) return Status::InvalidArgument(origin + ": " + status.message());
  return status;
}

Status LoadConfigFile(const std::string& path, MeshConfig* config) {
  errno = 0;
  std::ifstream in(path);
  if (!in) {
    std::string reason = errno != 0 ? std::strerror(errno) : "unreadable";
    return Status::IoError("cannot open config file " + path + ": " + reason);
  }
  std::ostringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path, config);
}

Status ValidateEndpoint(const std::string& name, const std::string& endpoint) {
  static const char* kSchemes[] = {"tcp://", "ipc://"};
  for (const char* scheme : kSchemes) {
    if (endpoint.rfind(scheme, 0) == 0 && endpoint.size() > std::string(scheme).size()) return Status::Ok();
  }
  return Status::InvalidArgument(name + ": must be a ZeroMQ endpoint such as tcp://127.0.0.1:5550, got \"" +
                                 endpoint + "\"");
}

Status ParseServerAddress(const std::string& text, ServerAddress* server) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument("\"" + text + "\": expected host:port");
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  std::string port_text = text.substr(colon + 1);
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (*end != '\0' || port < 1 || port > 65535) {
    return Status::InvalidArgument("\"" + text + "\": port must be 1..65535");
  }
  server->host = host;
  server->port = static_cast<uint16_t>(port);
  return Status::Ok();
}

}  // namespace upmesh
