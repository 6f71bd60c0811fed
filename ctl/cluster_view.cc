#include "ctl/cluster_view.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

namespace upmesh::ctl {
namespace {

using nlohmann::json;

const json kNull;

// The member `key` of `object`, or null when `object` is not an object or lacks it.
const json& Member(const json& object, const char* key) {
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

// A scalar as a person reads it: strings unquoted, numbers as given, "-" for null.
std::string Text(const json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value.get<double>());
    return text;
  }
  return value.dump();
}

std::string ServerText(const json& server) {
  const json& ip = Member(server, "ip");
  const json& host = ip.is_null() ? Member(server, "hostname") : ip;
  std::string host_text = Text(host);
  if (host_text.find(':') != std::string::npos) host_text = "[" + host_text + "]";
  return host_text + ":" + Text(Member(server, "port"));
}

std::vector<std::string> ServerTexts(const json& cluster) {
  std::vector<std::string> texts;
  const json& servers = Member(cluster, "servers");
  if (servers.is_array()) {
    for (const json& server : servers) texts.push_back(ServerText(server));
  }
  return texts;
}

// INSTANT when the cluster has no upgradeTransition; SESSION when it has one
// without a mode (the API's rule).
std::string ModeName(const json& cluster) {
  const json& transition = Member(cluster, "upgradeTransition");
  if (!transition.is_object()) return "INSTANT";
  const json& mode = Member(transition, "mode");
  return mode.is_null() ? "SESSION" : Text(mode);
}

std::string Percent(const json& value) { return value.is_number() ? Text(value) + " %" : Text(value); }

// The transition's parameters in words, e.g. "+0.5 % per request".
std::string TransitionDetails(const json& cluster) {
  const json& transition = Member(cluster, "upgradeTransition");
  std::string mode = ModeName(cluster);
  std::string details;
  auto add = [&details](const std::string& part) { details += (details.empty() ? "" : ", ") + part; };
  if (mode == "GRADUAL") {
    const json& per_request = Member(transition, "percentageTransitionPerRequest");
    const json& duration = Member(transition, "durationSeconds");
    if (!per_request.is_null()) add("ramp by requests, +" + Percent(per_request) + " per request");
    if (!duration.is_null()) add("ramp by time, 0 to 100 % over " + Text(duration) + " s");
  }
  if (mode == "SESSION" || mode == "GRADUAL") {
    const json& timeout = Member(transition, "sessionTimeout");
    if (!timeout.is_null()) add("sessions end after " + Text(timeout) + " s of silence");
  }
  if (mode == "CONCURRENT") {
    add("delay tolerance " + Text(Member(transition, "delayToleranceMs")) + " ms");
    std::string unsafe = Text(Member(transition, "unsafeMethods"));
    if (unsafe == "old") unsafe = "the old version only";
    if (unsafe == "new") unsafe = "the new version only";
    if (unsafe == "both") unsafe = "both versions";
    add("unsafe methods to " + unsafe);
  }
  return details.empty() ? mode : mode + " (" + details + ")";
}

// The STATE column: "newest", the GRADUAL share, the CONCURRENT mismatch count.
std::string StateSummary(const json& state) {
  std::string summary;
  auto add = [&summary](const std::string& part) { summary += (summary.empty() ? "" : ", ") + part; };
  if (Member(state, "newest") == json(true)) add("newest");
  if (!Member(state, "gradualShare").is_null()) add("share " + Percent(Member(state, "gradualShare")));
  if (!Member(state, "mismatches").is_null()) add(Text(Member(state, "mismatches")) + " mismatches");
  return summary.empty() ? "-" : summary;
}

// "2024-06-01 12:00:03" (local time) for a wall-clock ms value.
std::string TimeText(const json& ms) {
  if (!ms.is_number()) return Text(ms);
  std::time_t seconds = static_cast<std::time_t>(ms.get<double>() / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &local);
  return text;
}

// One mismatch report: when, which worker, then the differences as key=value.
std::string MismatchLine(const json& report) {
  if (!report.is_object()) return report.dump();
  std::string line = TimeText(Member(report, "atMs")) + " worker " + Text(Member(report, "worker")) + ":";
  for (auto it = report.begin(); it != report.end(); ++it) {
    if (it.key() == "atMs" || it.key() == "worker" || it.key() == "cluster") continue;
    line += " " + it.key() + "=" + (it->is_structured() ? it->dump() : Text(*it));
  }
  return line;
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

}  // namespace

std::string FormatClusterList(const json& clusters) {
  if (!clusters.is_array() || clusters.empty()) return "no cluster versions configured\n";
  std::vector<std::vector<std::string>> rows = {{"UUID", "VERSION", "MODE", "SERVERS", "SERVED", "STATE"}};
  for (const json& entry : clusters) {
    const json& cluster = Member(entry, "cluster");
    const json& state = Member(entry, "state");
    rows.push_back({Text(Member(cluster, "uuid")), Text(Member(cluster, "version")), ModeName(cluster),
                    Join(ServerTexts(cluster), ","), Text(Member(state, "requestsServed")), StateSummary(state)});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string FormatClusterDetails(const json& entry) {
  const json& cluster = Member(entry, "cluster");
  const json& state = Member(entry, "state");
  std::string out;
  auto field = [&out](const std::string& name, const std::string& value) {
    out += name + ":" + std::string(name.size() < 19 ? 19 - name.size() : 1, ' ') + value + "\n";
  };
  field("uuid", Text(Member(cluster, "uuid")));
  field("version", Text(Member(cluster, "version")) + (Member(state, "newest") == json(true) ? " (newest)" : ""));
  std::vector<std::string> servers = ServerTexts(cluster);
  field("servers", servers.empty() ? "-" : Join(servers, "\n" + std::string(20, ' ')));
  field("upgrade transition", TransitionDetails(cluster));
  field("requests served", Text(Member(state, "requestsServed")));
  if (!Member(state, "gradualShare").is_null()) {
    std::string share = Percent(Member(state, "gradualShare"));
    const json& ramp_requests = Member(state, "rampRequests");
    if (!ramp_requests.is_null()) share += " after " + Text(ramp_requests) + " requests";
    field("gradual share", share);
  }
  if (!Member(state, "mismatches").is_null()) field("mismatches", Text(Member(state, "mismatches")));
  const json& recent = Member(state, "recentMismatches");
  if (recent.is_array() && !recent.empty()) {
    out += "recent mismatches (oldest first):\n";
    for (const json& report : recent) out += "  " + MismatchLine(report) + "\n";
  }
  return out;
}

}  // namespace upmesh::ctl
