#include "shared/config.h"

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace upmesh {
namespace {

using nlohmann::json;

// Walks one JSON object, remembering which keys were read so that the rest
// can be reported as unknown. Every error message starts with the key's path.
class ObjectReader {
 public:
  ObjectReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {}

  std::string PathOf(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  const json* Find(const std::string& key) {
    seen_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  template <typename Int>
  Status ReadInt(const std::string& key, int64_t min, int64_t max, Int* out) {
    const json* value = Find(key);
    if (!value) return Status::Ok();
    if (!value->is_number_integer() || value->get<int64_t>() < min || value->get<int64_t>() > max) {
      return Status::InvalidArgument(PathOf(key) + ": must be an integer in " + std::to_string(min) +
                                     ".." + std::to_string(max) + ", got " + value->dump());
    }
    *out = static_cast<Int>(value->get<int64_t>());
    return Status::Ok();
  }

  Status ReadString(const std::string& key, std::string* out) {
    const json* value = Find(key);
    if (!value) return Status::Ok();
    if (!value->is_string() || value->get<std::string>().empty()) {
      return Status::InvalidArgument(PathOf(key) + ": must be a non-empty string, got " + value->dump());
    }
    *out = value->get<std::string>();
    return Status::Ok();
  }

  Status CheckNoUnknownKeys() const {
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (!seen_.count(it.key())) return Status::InvalidArgument(PathOf(it.key()) + ": unknown key");
    }
    return Status::Ok();
  }

 private:
  const json& object_;
  std::string path_;
  std::set<std::string> seen_;
};

#define RETURN_IF_ERROR(expr)        \
  do {                               \
    Status _status = (expr);         \
    if (!_status.ok()) return _status; \
  } while (0)

constexpr int64_t kMaxMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxBytes = 1LL << 40;

Status SubObject(ObjectReader& parent, const std::string& key, const json** out) {
  *out = parent.Find(key);
  if (*out && !(*out)->is_object()) {
    return Status::InvalidArgument(parent.PathOf(key) + ": must be an object, got " + (*out)->dump());
  }
  return Status::Ok();
}

Status ParseEndpoint(ObjectReader& reader, const std::string& key, std::string* out) {
  RETURN_IF_ERROR(reader.ReadString(key, out));
  return ValidateEndpoint(reader.PathOf(key), *out);
}

Status ParseCluster(const json& object, const std::string& path, ClusterConfig* cluster) {
  ObjectReader reader(object, path);
  if (const json* version = reader.Find("version")) {
    if (version->is_number_integer() || version->is_number_unsigned()) {
      cluster->version = std::to_string(version->get<int64_t>());
    } else if (version->is_number_float()) {
      cluster->version = version->dump();
    } else if (version->is_string() && !version->get<std::string>().empty()) {
      cluster->version = version->get<std::string>();
    } else {
      return Status::InvalidArgument(reader.PathOf("version") + ": must be a number or a non-empty string");
    }
  }
  RETURN_IF_ERROR(reader.ReadString("uuid", &cluster->uuid));
  const json* servers = reader.Find("servers");
  if (!servers || !servers->is_array() || servers->empty()) {
    return Status::InvalidArgument(reader.PathOf("servers") + ": must be a non-empty array of {\"ip\" or \"hostname\", \"port\"}");
  }
  cluster->servers.clear();
  for (size_t i = 0; i < servers->size(); ++i) {
    const json& entry = (*servers)[i];
    std::string entry_path = reader.PathOf("servers") + "[" + std::to_string(i) + "]";
    if (!entry.is_object()) return Status::InvalidArgument(entry_path + ": must be an object");
    ObjectReader server_reader(entry, entry_path);
    ServerAddress server;
    std::string ip, hostname;
    RETURN_IF_ERROR(server_reader.ReadString("ip", &ip));
    RETURN_IF_ERROR(server_reader.ReadString("hostname", &hostname));
    if (ip.empty() == hostname.empty()) {
      return Status::InvalidArgument(entry_path + ": needs exactly one of \"ip\" or \"hostname\"");
    }
    server.host = ip.empty() ? hostname : ip;
    if (!entry.contains("port")) return Status::InvalidArgument(entry_path + ".port: missing");
    RETURN_IF_ERROR(server_reader.ReadInt("port", 1, 65535, &server.port));
    RETURN_IF_ERROR(server_reader.CheckNoUnknownKeys());
    cluster->servers.push_back(server);
  }
  // upgradeTransition is read by the router's config service (versions issue);
  // accept it here so that original config files load.
  reader.Find("upgradeTransition");
  return reader.CheckNoUnknownKeys();
}

Status ParseRoot(const json& root, MeshConfig* config) {
  if (!root.is_object()) return Status::InvalidArgument("the top level must be a JSON object");
  ObjectReader reader(root, "");
  const json* object = nullptr;

  RETURN_IF_ERROR(SubObject(reader, "proxy", &object));
  if (object) {
    ObjectReader proxy(*object, "proxy");
    RETURN_IF_ERROR(proxy.ReadInt("port", 1, 65535, &config->frontend.port));
    RETURN_IF_ERROR(proxy.ReadString("address", &config->frontend.address));
    RETURN_IF_ERROR(proxy.CheckNoUnknownKeys());
  }
  RETURN_IF_ERROR(SubObject(reader, "configService", &object));
  if (object) {
    ObjectReader service(*object, "configService");
    RETURN_IF_ERROR(service.ReadInt("port", 1, 65535, &config->router.config_port));
    RETURN_IF_ERROR(service.CheckNoUnknownKeys());
  }
  RETURN_IF_ERROR(SubObject(reader, "cluster", &object));
  if (object) {
    RETURN_IF_ERROR(ParseCluster(*object, "cluster", &config->cluster));
    config->has_cluster = true;
  }
  RETURN_IF_ERROR(SubObject(reader, "frontend", &object));
  if (object) {
    FrontendConfig& f = config->frontend;
    ObjectReader r(*object, "frontend");
    RETURN_IF_ERROR(ParseEndpoint(r, "routerEndpoint", &f.router_endpoint));
    RETURN_IF_ERROR(r.ReadInt("maxHeaderBytes", 256, 80 * 1024, &f.max_header_bytes));
    RETURN_IF_ERROR(r.ReadInt("maxTargetBytes", 16, 64 * 1024, &f.max_target_bytes));
    RETURN_IF_ERROR(r.ReadInt("maxBodyBytes", 0, kMaxBytes, &f.max_body_bytes));
    RETURN_IF_ERROR(r.ReadInt("headerTimeoutMs", 1, kMaxMs, &f.header_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("bodyTimeoutMs", 1, kMaxMs, &f.body_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("replyTimeoutMs", 1, kMaxMs, &f.reply_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("idleTimeoutMs", 1, kMaxMs, &f.idle_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("maxPipelined", 1, 1024, &f.max_pipelined));
    RETURN_IF_ERROR(r.ReadInt("drainTimeoutMs", 0, kMaxMs, &f.drain_timeout_ms));
    RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  RETURN_IF_ERROR(SubObject(reader, "router", &object));
  if (object) {
    RouterConfig& rc = config->router;
    ObjectReader r(*object, "router");
    RETURN_IF_ERROR(ParseEndpoint(r, "frontendBind", &rc.frontend_bind));
    RETURN_IF_ERROR(ParseEndpoint(r, "workerBind", &rc.worker_bind));
    RETURN_IF_ERROR(r.ReadInt("heartbeatMs", 10, 60000, &rc.heartbeat_ms));
    RETURN_IF_ERROR(r.ReadInt("heartbeatLiveness", 1, 100, &rc.heartbeat_liveness));
    RETURN_IF_ERROR(r.ReadInt("maxQueued", 0, 10000000, &rc.max_queued));
    RETURN_IF_ERROR(r.ReadInt("queueTimeoutMs", 1, kMaxMs, &rc.queue_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("drainTimeoutMs", 0, kMaxMs, &rc.drain_timeout_ms));
    RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  RETURN_IF_ERROR(SubObject(reader, "worker", &object));
  if (object) {
    WorkerConfig& w = config->worker;
    ObjectReader r(*object, "worker");
    RETURN_IF_ERROR(ParseEndpoint(r, "routerEndpoint", &w.router_endpoint));
    RETURN_IF_ERROR(r.ReadInt("capacity", 1, 100000, &w.capacity));
    RETURN_IF_ERROR(r.ReadInt("connectTimeoutMs", 1, kMaxMs, &w.connect_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("responseTimeoutMs", 1, kMaxMs, &w.response_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("maxResponseBytes", 0, kMaxBytes, &w.max_response_bytes));
    RETURN_IF_ERROR(r.ReadInt("maxConnectionsPerServer", 1, 100000, &w.max_connections_per_server));
    RETURN_IF_ERROR(r.ReadInt("idleConnectionTimeoutMs", 1, kMaxMs, &w.idle_connection_timeout_ms));
    RETURN_IF_ERROR(r.ReadInt("heartbeatMs", 10, 60000, &w.heartbeat_ms));
    RETURN_IF_ERROR(r.ReadInt("heartbeatLiveness", 1, 100, &w.heartbeat_liveness));
    RETURN_IF_ERROR(r.ReadInt("drainTimeoutMs", 0, kMaxMs, &w.drain_timeout_ms));
    RETURN_IF_ERROR(r.CheckNoUnknownKeys());
  }
  if (const json* level = reader.Find("logLevel")) {
    static const std::set<std::string> kLevels = {"error", "warn", "info", "debug"};
    if (!level->is_string() || !kLevels.count(level->get<std::string>())) {
      return Status::InvalidArgument("logLevel: must be one of error, warn, info, debug, got " + level->dump());
    }
    config->log_level = level->get<std::string>();
  }
  return reader.CheckNoUnknownKeys();
}

}  // namespace

Status ParseConfig(const std::string& text, const std::string& origin, MeshConfig* config) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::InvalidArgument(origin + ": not valid JSON");
  Status status = ParseRoot(root, config);
  if (!status.ok()) return Status::InvalidArgument(origin + ": " + status.message());
  return status;
}

Status LoadConfigFile(const std::string& path, MeshConfig* config) {
  std::ifstream in(path);
  if (!in) return Status::IoError(path + ": cannot open config file");
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
