#include "shared/cluster.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <random>

#include "shared/json_reader.h"
#include "shared/network_policy.h"

namespace upmesh {
namespace {

using nlohmann::json;

struct ModeName {
  UpgradeMode mode;
  const char* name;
};
constexpr ModeName kModes[] = {{UpgradeMode::kInstant, "INSTANT"},
                               {UpgradeMode::kSession, "SESSION"},
                               {UpgradeMode::kGradual, "GRADUAL"},
                               {UpgradeMode::kConcurrent, "CONCURRENT"}};

struct PolicyName {
  UnsafeMethodPolicy policy;
  const char* name;
};
constexpr PolicyName kPolicies[] = {{UnsafeMethodPolicy::kOldOnly, "old"},
                                    {UnsafeMethodPolicy::kNewOnly, "new"},
                                    {UnsafeMethodPolicy::kBoth, "both"}};

Status ParseMonitor(const json& object, const std::string& path, MonitorConfig* monitor) {
  if (!object.is_object()) return Status::InvalidArgument(path + ": must be an object, got " + JsonForMessage(object));
  JsonObjectReader reader(object, path);
  constexpr int64_t kDay = 24 * 3600;
  UPMESH_RETURN_IF_ERROR(reader.ReadBool("enabled", &monitor->enabled));
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("windowSeconds", 1, kDay, &monitor->window_seconds));
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("minRequests", 1, 1000000000, &monitor->min_requests));
  UPMESH_RETURN_IF_ERROR(reader.ReadNumber("maxErrorRateIncrease", 0, 100, &monitor->max_error_rate_increase));
  UPMESH_RETURN_IF_ERROR(reader.ReadNumber("minZScore", 0, 100, &monitor->min_z_score));
  UPMESH_RETURN_IF_ERROR(reader.ReadNumber("latencyRatio", 1, 1000000, &monitor->latency_ratio));
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("minLatencyIncreaseMs", 0, kDay * 1000, &monitor->min_latency_increase_ms));
  UPMESH_RETURN_IF_ERROR(reader.ReadNumber("sizeRatio", 1, 1000000, &monitor->size_ratio));
  UPMESH_RETURN_IF_ERROR(
      reader.ReadInt("minSizeDifferenceBytes", 0, int64_t{1} << 40, &monitor->min_size_difference_bytes));
  UPMESH_RETURN_IF_ERROR(reader.ReadNumber("maxMismatchPercent", 0, 100, &monitor->max_mismatch_percent));
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("consecutiveFailures", 1, 1000000, &monitor->consecutive_failures));
  UPMESH_RETURN_IF_ERROR(reader.ReadBool("shield", &monitor->shield));
  UPMESH_RETURN_IF_ERROR(reader.ReadNumber("rampProbePercent", 0, 100, &monitor->ramp_probe_percent));
  return reader.CheckNoUnknownKeys();
}

Status ParseHealthCheck(const json& object, const std::string& path, HealthCheck* check) {
  if (!object.is_object()) return Status::InvalidArgument(path + ": must be an object, got " + JsonForMessage(object));
  JsonObjectReader reader(object, path);
  const json* target = reader.Find("path");
  bool valid = target && target->is_string() && !target->get<std::string>().empty() &&
               target->get<std::string>().size() <= 1024 && target->get<std::string>()[0] == '/';
  if (valid) {
    for (char c : target->get<std::string>()) valid = valid && c > 0x20 && c < 0x7f;  // no space, no control
  }
  if (!valid) {
    return Status::InvalidArgument(reader.PathOf("path") +
                                   ": required, an origin-form target such as \"/healthz\" (visible ASCII, at most "
                                   "1024 characters)");
  }
  check->path = target->get<std::string>();
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("intervalMs", 100, 3600 * 1000, &check->interval_ms));
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("timeoutMs", 10, 60 * 1000, &check->timeout_ms));
  return reader.CheckNoUnknownKeys();
}

Status ParseTransition(const json& object, const std::string& path, UpgradeTransition* transition) {
  if (!object.is_object()) return Status::InvalidArgument(path + ": must be an object, got " + JsonForMessage(object));
  JsonObjectReader reader(object, path);
  // The original proxy: a transition without a mode is SESSION.
  transition->mode = UpgradeMode::kSession;
  if (const json* mode = reader.Find("mode")) {
    bool known = false;
    for (const ModeName& m : kModes) {
      if (mode->is_string() && mode->get<std::string>() == m.name) {
        transition->mode = m.mode;
        known = true;
      }
    }
    if (!known) {
      return Status::InvalidArgument(reader.PathOf("mode") +
                                     ": must be one of INSTANT, SESSION, GRADUAL, CONCURRENT, got " + JsonForMessage(*mode));
    }
  }
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("sessionTimeout", 1, 10LL * 365 * 24 * 3600, &transition->session_timeout_s));
  if (const json* share = reader.Find("percentageTransitionPerRequest")) {
    if (!share->is_number() || !(share->get<double>() > 0) || share->get<double>() > 100) {
      return Status::InvalidArgument(reader.PathOf("percentageTransitionPerRequest") +
                                     ": must be a number in (0, 100], got " + JsonForMessage(*share));
    }
    transition->percentage_per_request = share->get<double>();
  }
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("durationSeconds", 1, 10LL * 365 * 24 * 3600, &transition->duration_s));
  UPMESH_RETURN_IF_ERROR(reader.ReadInt("delayToleranceMs", 0, 3600 * 1000, &transition->delay_tolerance_ms));
  if (const json* unsafe = reader.Find("unsafeMethods")) {
    bool known = false;
    for (const PolicyName& p : kPolicies) {
      if (unsafe->is_string() && unsafe->get<std::string>() == p.name) {
        transition->unsafe_methods = p.policy;
        known = true;
      }
    }
    if (!known) {
      return Status::InvalidArgument(reader.PathOf("unsafeMethods") + ": must be one of old, new, both, got " +
                                     JsonForMessage(*unsafe));
    }
  }
  if (const json* monitor = reader.Find("monitor")) {
    UPMESH_RETURN_IF_ERROR(ParseMonitor(*monitor, reader.PathOf("monitor"), &transition->monitor));
    transition->has_monitor = true;
  }
  UPMESH_RETURN_IF_ERROR(reader.CheckNoUnknownKeys());

  switch (transition->mode) {
    case UpgradeMode::kSession:
      if (transition->session_timeout_s == 0) {
        return Status::InvalidArgument(path + ".sessionTimeout: required for SESSION (seconds)");
      }
      break;
    case UpgradeMode::kGradual:
      if ((transition->percentage_per_request > 0) == (transition->duration_s > 0)) {
        return Status::InvalidArgument(path +
                                       ": GRADUAL needs exactly one of percentageTransitionPerRequest "
                                       "(ramp by requests) or durationSeconds (ramp by time)");
      }
      break;
    default:
      break;
  }
  return Status::Ok();
}

}  // namespace

json MonitorToJson(const MonitorConfig& monitor) {
  return {{"enabled", monitor.enabled},
          {"windowSeconds", monitor.window_seconds},
          {"minRequests", monitor.min_requests},
          {"maxErrorRateIncrease", monitor.max_error_rate_increase},
          {"minZScore", monitor.min_z_score},
          {"latencyRatio", monitor.latency_ratio},
          {"minLatencyIncreaseMs", monitor.min_latency_increase_ms},
          {"sizeRatio", monitor.size_ratio},
          {"minSizeDifferenceBytes", monitor.min_size_difference_bytes},
          {"maxMismatchPercent", monitor.max_mismatch_percent},
          {"consecutiveFailures", monitor.consecutive_failures},
          {"shield", monitor.shield},
          {"rampProbePercent", monitor.ramp_probe_percent}};
}

namespace {

json TransitionToJson(const UpgradeTransition& transition) {
  json out = {{"mode", UpgradeModeName(transition.mode)}};
  switch (transition.mode) {
    case UpgradeMode::kSession:
      out["sessionTimeout"] = transition.session_timeout_s;
      break;
    case UpgradeMode::kGradual:
      if (transition.duration_s > 0) {
        out["durationSeconds"] = transition.duration_s;
      } else {
        out["percentageTransitionPerRequest"] = transition.percentage_per_request;
      }
      if (transition.session_timeout_s > 0) out["sessionTimeout"] = transition.session_timeout_s;
      break;
    case UpgradeMode::kConcurrent:
      out["delayToleranceMs"] = transition.delay_tolerance_ms;
      for (const PolicyName& p : kPolicies) {
        if (p.policy == transition.unsafe_methods) out["unsafeMethods"] = p.name;
      }
      break;
    case UpgradeMode::kInstant:
      break;
  }
  if (transition.has_monitor) out["monitor"] = MonitorToJson(transition.monitor);
  return out;
}

// A version segment: numeric ones compare as numbers, others as text;
// a numeric segment is older than a text one ("1.0" < "1.rc").
int CompareSegments(const std::string& a, const std::string& b) {
  auto numeric = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  };
  bool a_num = numeric(a), b_num = numeric(b);
  if (a_num && b_num) {
    std::string a_trim = a.substr(std::min(a.find_first_not_of('0'), a.size()));
    std::string b_trim = b.substr(std::min(b.find_first_not_of('0'), b.size()));
    if (a_trim.size() != b_trim.size()) return a_trim.size() < b_trim.size() ? -1 : 1;
    return a_trim.compare(b_trim) < 0 ? -1 : (a_trim == b_trim ? 0 : 1);
  }
  if (a_num != b_num) return a_num ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

std::vector<std::string> SplitVersion(const std::string& text) {
  std::vector<std::string> segments;
  std::string current;
  for (char c : text) {
    if (c == '.' || c == '-' || c == '_') {
      segments.push_back(current);
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  segments.push_back(current);
  return segments;
}

bool IsIpLiteral(const std::string& text) {
  std::array<uint8_t, 16> address;
  return ParseIpAddress(text, &address);
}

bool NewerThan(const Cluster& a, const Cluster& b) {
  int order = CompareVersions(a.version, b.version);
  if (order != 0) return order > 0;
  return a.added_order > b.added_order;
}

}  // namespace

bool IsValidClusterId(const std::string& id) {
  if (id.empty() || id.size() > kMaxClusterId || id == "." || id == "..") return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool IsValidVersionText(const std::string& text) {
  if (text.empty() || text.size() > kMaxVersionText) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

bool IsValidHostname(const std::string& name) {
  std::string_view rest(name);
  if (!rest.empty() && rest.back() == '.') rest.remove_suffix(1);  // fully qualified
  if (rest.empty() || rest.size() > 253) return false;
  std::string_view last_label;
  while (true) {
    size_t dot = rest.find('.');
    std::string_view label = rest.substr(0, dot);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    last_label = label;
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  // "10.0.0.1" or "2852039166" given as a hostname would reach the resolver
  // as an address in disguise; a real top-level label is never all digits.
  return !std::all_of(last_label.begin(), last_label.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

const char* UpgradeModeName(UpgradeMode mode) {
  for (const ModeName& m : kModes) {
    if (m.mode == mode) return m.name;
  }
  return "INSTANT";
}

Status ParseCluster(const json& object, const std::string& path, Cluster* cluster) {
  if (!object.is_object()) return Status::InvalidArgument(path + ": must be an object, got " + JsonForMessage(object));
  JsonObjectReader reader(object, path);
  if (const json* version = reader.Find("version")) {
    bool number = version->is_number() && std::isfinite(version->get<double>()) && version->get<double>() >= 0;
    bool text = version->is_string() && IsValidVersionText(version->get<std::string>());
    if (!number && !text) {
      return Status::InvalidArgument(reader.PathOf("version") + ": must be a non-negative number or a string of 1.." +
                                     std::to_string(kMaxVersionText) + " printable ASCII characters, got " +
                                     JsonForMessage(*version));
    }
    cluster->version = *version;
  }
  UPMESH_RETURN_IF_ERROR(reader.ReadString("uuid", &cluster->uuid));
  if (!cluster->uuid.empty() && !IsValidClusterId(cluster->uuid)) {
    return Status::InvalidArgument(reader.PathOf("uuid") + ": must be 1.." + std::to_string(kMaxClusterId) +
                                   " of A-Z a-z 0-9 . _ - and not \".\" or \"..\", got " +
                                   QuoteForMessage(cluster->uuid));
  }
  const json* servers = reader.Find("servers");
  if (!servers || !servers->is_array() || servers->empty()) {
    return Status::InvalidArgument(reader.PathOf("servers") +
                                   ": must be a non-empty array of {\"ip\" or \"hostname\", \"port\"}");
  }
  cluster->servers.clear();
  for (size_t i = 0; i < servers->size(); ++i) {
    const json& entry = (*servers)[i];
    std::string entry_path = reader.PathOf("servers") + "[" + std::to_string(i) + "]";
    if (!entry.is_object()) return Status::InvalidArgument(entry_path + ": must be an object");
    JsonObjectReader server_reader(entry, entry_path);
    std::string ip, hostname;
    UPMESH_RETURN_IF_ERROR(server_reader.ReadString("ip", &ip));
    UPMESH_RETURN_IF_ERROR(server_reader.ReadString("hostname", &hostname));
    if (ip.empty() == hostname.empty()) {
      return Status::InvalidArgument(entry_path + ": needs exactly one of \"ip\" or \"hostname\"");
    }
    if (!ip.empty() && !IsIpLiteral(ip)) {
      return Status::InvalidArgument(entry_path + ".ip: must be an IPv4 or IPv6 address (use \"hostname\" for names), got " +
                                     QuoteForMessage(ip));
    }
    if (!hostname.empty() && !IsValidHostname(hostname)) {
      return Status::InvalidArgument(entry_path +
                                     ".hostname: must be a DNS name (labels of A-Z a-z 0-9 - _, at most 63 characters "
                                     "each and 253 in all, not all digits at the end), got " + QuoteForMessage(hostname));
    }
    ServerAddress server;
    server.host = ip.empty() ? hostname : ip;
    server.is_hostname = ip.empty();
    if (!entry.contains("port")) return Status::InvalidArgument(entry_path + ".port: missing");
    UPMESH_RETURN_IF_ERROR(server_reader.ReadInt("port", 1, 65535, &server.port));
    UPMESH_RETURN_IF_ERROR(server_reader.CheckNoUnknownKeys());
    cluster->servers.push_back(server);
  }
  cluster->has_health_check = false;
  cluster->health_check = HealthCheck();
  if (const json* check = reader.Find("healthCheck")) {
    UPMESH_RETURN_IF_ERROR(ParseHealthCheck(*check, reader.PathOf("healthCheck"), &cluster->health_check));
    cluster->has_health_check = true;
  }
  cluster->has_transition = false;
  cluster->transition = UpgradeTransition();
  if (const json* transition = reader.Find("upgradeTransition")) {
    if (!transition->is_null()) {
      UPMESH_RETURN_IF_ERROR(ParseTransition(*transition, reader.PathOf("upgradeTransition"), &cluster->transition));
      cluster->has_transition = true;
    }
  }
  return reader.CheckNoUnknownKeys();
}

Status CheckServerNetworks(const Cluster& cluster, const NetworkPolicy& policy, const std::string& path) {
  for (size_t i = 0; i < cluster.servers.size(); ++i) {
    const ServerAddress& server = cluster.servers[i];
    std::array<uint8_t, 16> address;
    if (server.is_hostname || !ParseIpAddress(server.host, &address)) continue;
    Status allowed = policy.Check(address, server.host);
    if (!allowed.ok()) return Status::InvalidArgument(path + ".servers[" + std::to_string(i) + "].ip: " + allowed.message());
  }
  return Status::Ok();
}

json ClusterToJson(const Cluster& cluster) {
  json servers = json::array();
  for (const ServerAddress& server : cluster.servers) {
    servers.push_back({{server.is_hostname ? "hostname" : "ip", server.host}, {"port", server.port}});
  }
  json out = {{"uuid", cluster.uuid}, {"version", cluster.version}, {"servers", servers}};
  if (cluster.has_transition) out["upgradeTransition"] = TransitionToJson(cluster.transition);
  if (cluster.has_health_check) {
    out["healthCheck"] = {{"path", cluster.health_check.path},
                          {"intervalMs", cluster.health_check.interval_ms},
                          {"timeoutMs", cluster.health_check.timeout_ms}};
  }
  return out;
}

Status RampHoldFromJson(const json& stored, RampHold* hold) {
  if (!stored.is_object() || !stored.value("heldMs", json()).is_number_integer() ||
      !stored.value("sinceMs", json()).is_number_integer()) {
    return Status::InvalidArgument("rampHold: must be {\"heldMs\": n, \"sinceMs\": n}");
  }
  hold->held_ms = stored["heldMs"].get<int64_t>();
  hold->since_ms = stored["sinceMs"].get<int64_t>();
  return Status::Ok();
}

json ClusterToStoredJson(const Cluster& cluster) {
  json out = ClusterToJson(cluster);
  out["addedOrder"] = cluster.added_order;
  out["addedAtMs"] = cluster.added_at_ms;
  if (cluster.rolled_back) out["rolledBack"] = true;
  if (!(cluster.ramp_hold == RampHold())) {
    out["rampHold"] = {{"heldMs", cluster.ramp_hold.held_ms}, {"sinceMs", cluster.ramp_hold.since_ms}};
  }
  return out;
}

Status ClusterFromStoredJson(const json& stored, Cluster* cluster) {
  if (!stored.is_object()) return Status::InvalidArgument("stored cluster: not an object");
  json copy = stored;
  uint64_t order = copy.value("addedOrder", uint64_t{0});
  int64_t at = copy.value("addedAtMs", int64_t{0});
  auto rolled_back_field = copy.find("rolledBack");
  bool rolled_back = rolled_back_field != copy.end() && rolled_back_field->is_boolean() && rolled_back_field->get<bool>();
  copy.erase("addedOrder");
  copy.erase("addedAtMs");
  copy.erase("rolledBack");
  RampHold hold;
  if (auto held = copy.find("rampHold"); held != copy.end()) {
    UPMESH_RETURN_IF_ERROR(RampHoldFromJson(*held, &hold));
    copy.erase("rampHold");
  }
  UPMESH_RETURN_IF_ERROR(ParseCluster(copy, "cluster", cluster));
  if (cluster->uuid.empty()) return Status::InvalidArgument("stored cluster: no uuid");
  cluster->added_order = order;
  cluster->added_at_ms = at;
  cluster->rolled_back = rolled_back;
  cluster->ramp_hold = hold;
  return Status::Ok();
}

int CompareVersions(const json& a, const json& b) {
  std::vector<std::string> a_segments = SplitVersion(VersionText(a));
  std::vector<std::string> b_segments = SplitVersion(VersionText(b));
  size_t n = std::max(a_segments.size(), b_segments.size());
  for (size_t i = 0; i < n; ++i) {
    if (i >= a_segments.size()) return -1;  // "1" < "1.0"
    if (i >= b_segments.size()) return 1;
    if (int order = CompareSegments(a_segments[i], b_segments[i])) return order;
  }
  return 0;
}

std::string NewUuid() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  uint64_t high = generator(), low = generator();
  high = (high & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  low = (low & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;    // variant 10
  char text[37];
  snprintf(text, sizeof text, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
           static_cast<unsigned>((high >> 16) & 0xffff), static_cast<unsigned>(high & 0xffff),
           static_cast<unsigned>(low >> 48), static_cast<unsigned long long>(low & 0xffffffffffffULL));
  return text;
}

const Cluster* ClusterTable::Find(const std::string& uuid) const {
  int index = IndexOf(uuid);
  return index < 0 ? nullptr : &clusters_[index];
}

int ClusterTable::IndexOf(const std::string& uuid) const {
  for (size_t i = 0; i < clusters_.size(); ++i) {
    if (clusters_[i].uuid == uuid) return static_cast<int>(i);
  }
  return -1;
}

std::vector<const Cluster*> ClusterTable::Live() const {
  std::vector<const Cluster*> live;
  for (const Cluster& cluster : clusters_) {
    if (!cluster.rolled_back) live.push_back(&cluster);
  }
  return live;
}

const Cluster* ClusterTable::NewestLive() const {
  for (const Cluster& cluster : clusters_) {
    if (!cluster.rolled_back) return &cluster;
  }
  return nullptr;
}

bool ClusterTable::MarkRolledBack(const std::string& uuid) {
  int index = IndexOf(uuid);
  if (index < 0) return false;
  clusters_[index].rolled_back = true;
  return true;
}

bool ClusterTable::SetRampHold(const std::string& uuid, const RampHold& hold) {
  int index = IndexOf(uuid);
  if (index < 0) return false;
  clusters_[index].ramp_hold = hold;
  return true;
}

void ClusterTable::Add(Cluster cluster) {
  auto position = std::find_if(clusters_.begin(), clusters_.end(),
                               [&](const Cluster& existing) { return NewerThan(cluster, existing); });
  clusters_.insert(position, std::move(cluster));
}

bool ClusterTable::Remove(const std::string& uuid) {
  int index = IndexOf(uuid);
  if (index < 0) return false;
  clusters_.erase(clusters_.begin() + index);
  return true;
}

json ClusterTable::ToStoredJson() const {
  json out = json::array();
  for (const Cluster& cluster : clusters_) out.push_back(ClusterToStoredJson(cluster));
  return out;
}

Status ClusterTable::FromStoredJson(const json& stored, ClusterTable* table) {
  if (!stored.is_array()) return Status::InvalidArgument("stored clusters: not an array");
  ClusterTable result;
  for (const json& entry : stored) {
    Cluster cluster;
    UPMESH_RETURN_IF_ERROR(ClusterFromStoredJson(entry, &cluster));
    if (result.Find(cluster.uuid)) return Status::InvalidArgument("stored clusters: duplicate uuid " + cluster.uuid);
    result.Add(std::move(cluster));
  }
  *table = std::move(result);
  return Status::Ok();
}

std::string VersionText(const json& version) {
  return version.is_string() ? version.get<std::string>() : version.dump();
}

}  // namespace upmesh
