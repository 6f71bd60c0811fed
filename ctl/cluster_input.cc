#include "ctl/cluster_input.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

#include "shared/cluster_limits.h"
#include "shared/config.h"
#include "shared/json_parse.h"

namespace upmesh::ctl {
namespace {

using nlohmann::json;

bool IsIpLiteral(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

// "2" -> 2 (the API shows numbers as given); "1.10", "2024-06-rc1" -> strings.
json VersionValue(const std::string& text) {
  auto is_digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
  bool digits = !text.empty() && text.size() <= 18 && std::all_of(text.begin(), text.end(), is_digit);
  if (digits) return std::stoll(text);
  return text;
}

// Which --mode each transition flag belongs to.
struct TransitionFlag {
  const char* name;
  bool given;
  std::vector<std::string> modes;
};

}  // namespace

Status ClusterRequestFromText(const std::string& text, const std::string& origin, json* request) {
  json parsed;
  // The largest body any router's API could take (configService.maxBodyBytes).
  if (Status status = ParseJson(text, {kMaxBodyBytesCeiling}, &parsed); !status.ok()) {
    return Status::InvalidArgument(origin + ": not valid JSON: " + status.message());
  }
  if (!parsed.is_object()) {
    return Status::InvalidArgument(origin +
                                   ": must be a JSON object, either {\"cluster\": {...}} or the cluster itself");
  }
  if (parsed.contains("cluster")) {
    *request = std::move(parsed);
  } else {
    *request = {{"cluster", std::move(parsed)}};
  }
  return Status::Ok();
}

Status ClusterRequestFromFlags(const ClusterFlags& flags, json* request) {
  if (flags.version.empty()) return Status::InvalidArgument("--version: required (or give the cluster with --file)");
  if (flags.servers.empty()) {
    return Status::InvalidArgument("--server: required at least once (or give the cluster with --file)");
  }
  json cluster = {{"version", VersionValue(flags.version)}, {"servers", json::array()}};
  for (const std::string& text : flags.servers) {
    ServerAddress server;
    Status status = ParseServerAddress(text, &server);
    if (!status.ok()) return Status::InvalidArgument("--server: " + status.message());
    cluster["servers"].push_back({{IsIpLiteral(server.host) ? "ip" : "hostname", server.host}, {"port", server.port}});
  }
  if (!flags.uuid.empty()) cluster["uuid"] = flags.uuid;

  std::string mode = flags.mode;
  std::transform(mode.begin(), mode.end(), mode.begin(), [](unsigned char c) { return std::toupper(c); });
  const TransitionFlag transition_flags[] = {
      {"--session-timeout", flags.session_timeout_s.has_value(), {"SESSION", "GRADUAL"}},
      {"--percentage", flags.percentage.has_value(), {"GRADUAL"}},
      {"--duration-seconds", flags.duration_s.has_value(), {"GRADUAL"}},
      {"--delay-tolerance-ms", flags.delay_tolerance_ms.has_value(), {"CONCURRENT"}},
      {"--unsafe-methods", flags.unsafe_methods.has_value(), {"CONCURRENT"}},
  };
  if (!mode.empty() && mode != "INSTANT" && mode != "SESSION" && mode != "GRADUAL" && mode != "CONCURRENT") {
    return Status::InvalidArgument("--mode: must be one of INSTANT, SESSION, GRADUAL, CONCURRENT, got \"" +
                                   flags.mode + "\"");
  }
  for (const TransitionFlag& flag : transition_flags) {
    if (!flag.given || std::count(flag.modes.begin(), flag.modes.end(), mode)) continue;
    std::string wanted = flag.modes[0];
    for (size_t i = 1; i < flag.modes.size(); ++i) wanted += " or " + flag.modes[i];
    return Status::InvalidArgument(std::string(flag.name) + ": only for --mode " + wanted +
                                   (mode.empty() ? " (no --mode given)" : ", not " + mode));
  }

  if (!mode.empty()) {
    json transition = {{"mode", mode}};
    if (flags.session_timeout_s) transition["sessionTimeout"] = *flags.session_timeout_s;
    if (flags.percentage) transition["percentageTransitionPerRequest"] = *flags.percentage;
    if (flags.duration_s) transition["durationSeconds"] = *flags.duration_s;
    if (flags.delay_tolerance_ms) transition["delayToleranceMs"] = *flags.delay_tolerance_ms;
    if (flags.unsafe_methods) transition["unsafeMethods"] = *flags.unsafe_methods;
    cluster["upgradeTransition"] = std::move(transition);
  }
  *request = {{"cluster", std::move(cluster)}};
  return Status::Ok();
}

}  // namespace upmesh::ctl
