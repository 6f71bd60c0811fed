#include "ctl/cluster_view.h"

#include <algorithm>
#include <cstdint>
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

// "12 ms": a number with its unit; anything else as Text() shows it.
std::string WithUnit(const json& value, const char* unit) {
  return value.is_number() ? Text(value) + " " + unit : Text(value);
}

std::string Percent(const json& value) { return WithUnit(value, "%"); }

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

// strftime `format` of a wall-clock ms value in local time.
std::string LocalTime(int64_t ms, const char* format) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char text[64];
  std::strftime(text, sizeof text, format, &local);
  return text;
}

// "2024-06-01 12:00:03" (local time) for a wall-clock ms value.
std::string TimeText(const json& ms) {
  return ms.is_number() ? LocalTime(ms.get<int64_t>(), "%Y-%m-%d %H:%M:%S") : Text(ms);
}

// "12:00:03.120" (local time to the ms) for a wall-clock ms value.
std::string TimeOfDayText(const json& ms) {
  if (!ms.is_number()) return Text(ms);
  char millis[8];
  std::snprintf(millis, sizeof millis, ".%03d", static_cast<int>(ms.get<int64_t>() % 1000));
  return LocalTime(ms.get<int64_t>(), "%H:%M:%S") + millis;
}

// "2024-06-01 12:00:03.120 CEST (atMs 1717236003120)": the raw value too, to
// find it in the --json output.
std::string InstantText(const json& ms) {
  if (!ms.is_number()) return Text(ms);
  int64_t at = ms.get<int64_t>();
  return LocalTime(at, "%Y-%m-%d ") + TimeOfDayText(ms) + LocalTime(at, " %Z") + " (atMs " + Text(ms) + ")";
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

// Rows with each column as wide as its widest cell, two spaces apart, each
// row after `indent`; no trailing spaces. Ends with a newline.
std::string Table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line = indent;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

// Where the value of a "name: value" line starts (show, explain).
constexpr size_t kValueColumn = 20;

// Adds "name:   value"; the lines of a multi-line value go under its first.
void AddField(std::string* out, const std::string& name, const std::vector<std::string>& value) {
  std::string padding(name.size() + 1 < kValueColumn ? kValueColumn - name.size() - 1 : 1, ' ');
  *out += name + ":" + padding + Join(value, "\n" + std::string(kValueColumn, ' ')) + "\n";
}

// "2 (newest)".
std::string VersionLabel(const json& cluster, const json& state) {
  return Text(Member(cluster, "version")) + (Member(state, "newest") == json(true) ? " (newest)" : "");
}

// The outcome counters of a window's figures besides "ok", in words.
struct OutcomeName {
  const char* key;
  const char* words;
};
constexpr OutcomeName kOutcomes[] = {
    {"clientErrors", "client errors"}, {"serverErrors", "server errors"}, {"refused", "refused"}, {"reset", "reset"},
    {"timeouts", "timed out"},         {"badFraming", "bad framing"}};

// A window's figures in two lines: what the requests came to (outcomes
// that did not occur left out), then what the judge compares.
std::vector<std::string> WindowLines(const json& figures) {
  if (!figures.is_object()) return {"-"};
  std::string outcomes = Text(Member(figures, "requests")) + " requests: " + Text(Member(figures, "ok")) + " ok";
  for (const OutcomeName& outcome : kOutcomes) {
    const json& count = Member(figures, outcome.key);
    if (count.is_number() && count != json(0)) outcomes += ", " + Text(count) + " " + outcome.words;
  }
  std::string compared =
      "error rate " + Percent(Member(figures, "errorRate")) + ", p50 " + WithUnit(Member(figures, "p50Ms"), "ms") +
      ", p99 " + WithUnit(Member(figures, "p99Ms"), "ms") + ", median body " +
      WithUnit(Member(figures, "medianBodyBytes"), "bytes") + ", " + Text(Member(figures, "shielded")) + " shielded";
  const json& checked = Member(figures, "compared");
  if (checked.is_number() && checked != json(0)) {
    compared += ", " + Text(Member(figures, "mismatched")) + " of " + Text(checked) + " compared answers differed";
  }
  return {outcomes, compared};
}

// The monitor thresholds each rule of the judge reads (router/health_judge.h);
// empty for a rule this upmeshctl does not know.
std::vector<const char*> ThresholdsOf(const std::string& rule) {
  if (rule == "consecutiveFailures") return {"consecutiveFailures"};
  if (rule == "errorRate") return {"maxErrorRateIncrease", "minZScore", "minRequests"};
  if (rule == "latencyP50" || rule == "latencyP99") return {"latencyRatio", "minLatencyIncreaseMs", "minRequests"};
  if (rule == "bodySize") return {"sizeRatio", "minSizeDifferenceBytes", "minRequests"};
  if (rule == "mismatchRate") return {"maxMismatchPercent", "minRequests"};
  return {};
}

// The thresholds behind the decision as "name value, ...", by their names in
// upgradeTransition.monitor so that the operator can tune them. All of them
// for an unknown rule: better too many than the deciding one missing.
std::string ThresholdsText(const json& record) {
  std::string rule = Text(Member(record, "reason"));
  if (rule == "operator") return "none: an operator rolled it back";
  const json& thresholds = Member(record, "thresholds");
  std::vector<std::string> parts;
  std::vector<const char*> keys = ThresholdsOf(rule);
  if (keys.empty() && thresholds.is_object()) {
    for (auto it = thresholds.begin(); it != thresholds.end(); ++it) parts.push_back(it.key() + " " + Text(*it));
  }
  for (const char* key : keys) parts.push_back(std::string(key) + " " + Text(Member(thresholds, key)));
  return parts.empty() ? "-" : Join(parts, ", ");
}

// Where the old version's figures come from.
std::string OldSourceText(const json& from) {
  if (from == json("window")) return "its figures over the same window";
  if (from == json("baseline")) return "its figures from its last window with enough requests";
  return "figures from " + Text(from);
}

// The new and the old version's figures side by side.
std::string ComparisonTable(const json& window) {
  const json& fresh = Member(window, "new");
  const json& old = Member(window, "old");
  struct Row {
    const char* label;
    const char* key;
    const char* unit;  // nullptr: a count
  };
  constexpr Row kRows[] = {{"requests", "requests", nullptr},
                           {"error rate", "errorRate", "%"},
                           {"p50", "p50Ms", "ms"},
                           {"p99", "p99Ms", "ms"},
                           {"median body", "medianBodyBytes", "bytes"},
                           {"shielded", "shielded", nullptr}};
  std::vector<std::vector<std::string>> rows = {{"", "new", "old"}};
  for (const Row& row : kRows) {
    auto cell = [&row](const json& figures) {
      const json& value = Member(figures, row.key);
      return row.unit ? WithUnit(value, row.unit) : Text(value);
    };
    rows.push_back({row.label, cell(fresh), cell(old)});
  }
  return Table(rows, "  ");
}

// One failure sample: "12:00:03.120 worker w1: GET /a -> 502 (why)".
std::string SampleLine(const json& sample) {
  std::string line = TimeOfDayText(Member(sample, "atMs"));
  const json& worker = Member(sample, "worker");
  if (!worker.is_null()) line += " worker " + Text(worker) + ":";
  line += " " + Text(Member(sample, "method")) + " " + Text(Member(sample, "target")) + " -> " +
          Text(Member(sample, "status"));
  const json& error = Member(sample, "error");
  if (!error.is_null()) line += " (" + Text(error) + ")";
  return line;
}

// The samples oldest first: workers report them in batches, not in order.
std::vector<const json*> SamplesByTime(const json& samples) {
  std::vector<const json*> sorted;
  if (samples.is_array()) {
    for (const json& sample : samples) sorted.push_back(&sample);
  }
  auto at = [](const json* sample) {
    const json& ms = Member(*sample, "atMs");
    return ms.is_number() ? ms.get<double>() : 0.0;
  };
  std::stable_sort(sorted.begin(), sorted.end(), [&at](const json* a, const json* b) { return at(a) < at(b); });
  return sorted;
}

// "+12 ms": `at` after `origin`; "-" unless both are numbers.
std::string OffsetText(const json& at, const json& origin) {
  if (!at.is_number() || !origin.is_number()) return "-";
  int64_t offset = at.get<int64_t>() - origin.get<int64_t>();
  return (offset < 0 ? "-" : "+") + std::to_string(offset < 0 ? -offset : offset) + " ms";
}

// The timeline as offsets from the first failure (from the decision when the
// window held no failure): first failure, decision, each worker applying the
// rollback, all applied; then the workers that never confirmed it.
std::string TimelineText(const json& timeline) {
  const json& first_failure = Member(timeline, "firstFailureAtMs");
  const json& origin = first_failure.is_number() ? first_failure : Member(timeline, "decidedAtMs");
  std::vector<std::vector<std::string>> events;
  if (first_failure.is_number()) {
    events.push_back({OffsetText(first_failure, origin), "first failure (" + TimeOfDayText(first_failure) + ")"});
  }
  events.push_back({OffsetText(Member(timeline, "decidedAtMs"), origin), "decision"});
  const json& applied = Member(timeline, "workersApplied");
  if (applied.is_array()) {
    for (const json& worker : applied) {
      events.push_back({OffsetText(Member(worker, "atMs"), origin),
                        "worker " + Text(Member(worker, "worker")) + " applied the rollback"});
    }
  }
  const json& all_applied = Member(timeline, "allWorkersAppliedAtMs");
  if (all_applied.is_number()) events.push_back({OffsetText(all_applied, origin), "all workers applied it"});
  std::string out = first_failure.is_number() ? "timeline (from the first failure):\n"
                                              : "timeline (from the decision; no failure in the window):\n";
  out += Table(events, "  ");
  const json& unconfirmed = Member(timeline, "workersNotConfirmed");
  if (!applied.is_array()) {
    out += "  the workers' confirmations are not recorded yet (they follow a moment after the decision)\n";
  } else if (unconfirmed.is_array() && !unconfirmed.empty()) {
    std::vector<std::string> workers;
    for (const json& worker : unconfirmed) workers.push_back(Text(worker));
    out += "  never confirmed (lost, or silent until the router stopped waiting): " + Join(workers, ", ") + "\n";
  }
  return out;
}

// A rollback's evidence record: when, why, the thresholds behind it, the
// figures of both versions, the failure samples and the timeline.
std::string EvidenceText(const json& record) {
  std::string out;
  AddField(&out, "rolled back", {InstantText(Member(record, "atMs"))});
  AddField(&out, "reason", {Text(Member(record, "reason")) + ": " + Text(Member(record, "detail"))});
  AddField(&out, "thresholds", {ThresholdsText(record)});
  AddField(&out, "failures in a row", {Text(Member(record, "failureRun"))});
  const json& window = Member(record, "window");
  const json& old = Member(window, "old");
  AddField(&out, "compared with",
           {old.is_object() ? Text(Member(old, "uuid")) + ", " + OldSourceText(Member(old, "from"))
                            : "nothing: no older version had figures"});
  out += "figures over the " + WithUnit(Member(window, "seconds"), "s") + " window before the decision:\n";
  out += ComparisonTable(window);
  std::vector<const json*> samples = SamplesByTime(Member(record, "samples"));
  if (!samples.empty()) {
    out += "failure samples (oldest first):\n";
    for (const json* sample : samples) out += "  " + SampleLine(*sample) + "\n";
  }
  return out + TimelineText(Member(record, "timeline"));
}

// `text` with every control character (and DEL) as "?".
std::string Printable(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return text;
}

// A number with `digits` after the point and its unit, or "-".
std::string Fixed(const json& value, int digits, const char* unit) {
  if (!value.is_number()) return "-";
  char text[48];
  std::snprintf(text, sizeof text, "%.*f%s", digits, value.get<double>(), unit);
  return text;
}

// Requests per second over the version's window.
json WindowRate(const json& window) {
  const json& requests = Member(window, "requests");
  const json& seconds = Member(window, "seconds");
  if (!requests.is_number() || !seconds.is_number() || seconds.get<double>() <= 0) return kNull;
  return requests.get<double>() / seconds.get<double>();
}

// The entry of GET /configuration/cluster for `uuid`, or null.
const json& EntryOf(const json& clusters, const json& uuid) {
  if (!clusters.is_array()) return kNull;
  for (const json& entry : clusters) {
    if (Member(Member(entry, "cluster"), "uuid") == uuid) return entry;
  }
  return kNull;
}

std::string VersionsTable(const json& status, const json& clusters) {
  std::vector<std::vector<std::string>> rows = {
      {"VERSION", "UUID", "MODE", "SET", "ACTUAL", "HEALTH", "REQ/S", "ERRORS", "P50", "P99", "BODY"}};
  const json& versions = Member(status, "versions");
  if (!versions.is_array() || versions.empty()) return "no cluster versions configured\n";
  for (const json& version : versions) {
    const json& window = Member(Member(EntryOf(clusters, Member(version, "uuid")), "state"), "window");
    const json& share = Member(version, "share");
    rows.push_back({Printable(Text(Member(version, "version")) + (Member(version, "newest") == json(true) ? " (newest)" : "")),
                    Printable(Text(Member(version, "uuid"))), Printable(Text(Member(version, "mode"))),
                    Fixed(Member(share, "set"), 1, " %"), Fixed(Member(share, "actual"), 1, " %"),
                    Printable(Text(Member(version, "health"))), Fixed(WindowRate(window), 1, ""),
                    Fixed(Member(window, "errorRate"), 2, " %"), Fixed(Member(window, "p50Ms"), 1, " ms"),
                    Fixed(Member(window, "p99Ms"), 1, " ms"), Fixed(Member(window, "medianBodyBytes"), 0, " B")});
  }
  return Table(rows, "");
}

// The GRADUAL ramp, mismatches and rollbacks, one line each.
std::string VersionEvents(const json& clusters) {
  std::string out;
  if (!clusters.is_array()) return out;
  for (const json& entry : clusters) {
    const json& cluster = Member(entry, "cluster");
    const json& state = Member(entry, "state");
    std::string version = Printable(Text(Member(cluster, "version")));
    if (!Member(state, "gradualShare").is_null()) {
      out += "GRADUAL   version " + version + " at " + Fixed(Member(state, "gradualShare"), 1, " %") +
             (Member(state, "rampHeld") == json(true) ? " (held by the monitor)" : "") + "\n";
    }
    if (!Member(state, "mismatches").is_null()) {
      out += "MISMATCH  version " + version + ": " + Text(Member(state, "mismatches")) + " mismatches";
      const json& recent = Member(state, "recentMismatches");
      if (recent.is_array() && !recent.empty()) out += "; last: " + Printable(MismatchLine(recent[0]));
      out += "\n";
    }
    const json& rollback = Member(state, "rollback");
    if (!rollback.is_null()) {
      out += "ROLLBACK  version " + version + " at " + TimeOfDayText(Member(rollback, "atMs")) + ": " +
             Printable(Text(Member(rollback, "reason"))) + " - " + Printable(Text(Member(rollback, "detail"))) + "\n";
    }
  }
  return out;
}

// Requests per second a worker served since the sample before, or null.
json WorkerRate(const json& worker, const json& status, const json& previous) {
  const json& workers = Member(previous, "workers");
  if (!workers.is_array()) return kNull;
  const json& now = Member(status, "atMs");
  const json& then = Member(previous, "atMs");
  for (const json& before : workers) {
    if (Member(before, "id") != Member(worker, "id")) continue;
    const json& served = Member(worker, "served");
    const json& served_before = Member(before, "served");
    if (!served.is_number() || !served_before.is_number() || !now.is_number() || !then.is_number()) return kNull;
    double seconds = (now.get<double>() - then.get<double>()) / 1000;
    if (seconds <= 0) return kNull;
    return std::max(0.0, (served.get<double>() - served_before.get<double>()) / seconds);
  }
  return kNull;
}

std::string PeersTables(const json& status, const json& previous) {
  std::vector<std::vector<std::string>> workers = {{"WORKER", "CAPACITY", "SERVED", "REQ/S", "HEARD", "STATE"}};
  const json& listed = Member(status, "workers");
  if (listed.is_array()) {
    for (const json& worker : listed) {
      workers.push_back({Printable(Text(Member(worker, "id"))), Text(Member(worker, "capacity")),
                         Text(Member(worker, "served")), Fixed(WorkerRate(worker, status, previous), 1, ""),
                         WithUnit(Member(worker, "heardMsAgo"), "ms ago"),
                         Member(worker, "draining") == json(true) ? "draining" : "serving"});
    }
  }
  std::vector<std::vector<std::string>> frontends = {{"FRONTEND", "ENDPOINT", "SEQ"}};
  const json& listed_frontends = Member(status, "frontends");
  if (listed_frontends.is_array()) {
    for (const json& frontend : listed_frontends) {
      frontends.push_back({Printable(Text(Member(frontend, "id"))), Printable(Text(Member(frontend, "endpoint"))),
                           Text(Member(frontend, "seq"))});
    }
  }
  return (workers.size() > 1 ? Table(workers, "") : "no live workers\n") + "\n" +
         (frontends.size() > 1 ? Table(frontends, "") : "no live frontends\n");
}

}  // namespace

std::string FormatMeshStatus(const json& status, const json& clusters, const json& previous) {
  std::string out = "table seq " + Text(Member(status, "seq")) + " at " + TimeOfDayText(Member(status, "atMs")) + "\n\n";
  out += VersionsTable(status, clusters);
  std::string events = VersionEvents(clusters);
  if (!events.empty()) out += "\n" + events;
  return out + "\n" + PeersTables(status, previous);
}

std::string FormatClusterList(const json& clusters) {
  if (!clusters.is_array() || clusters.empty()) return "no cluster versions configured\n";
  std::vector<std::vector<std::string>> rows = {{"UUID", "VERSION", "MODE", "SERVERS", "SERVED", "HEALTH", "STATE"}};
  for (const json& entry : clusters) {
    const json& cluster = Member(entry, "cluster");
    const json& state = Member(entry, "state");
    rows.push_back({Text(Member(cluster, "uuid")), Text(Member(cluster, "version")), ModeName(cluster),
                    Join(ServerTexts(cluster), ","), Text(Member(state, "requestsServed")),
                    Text(Member(state, "health")), StateSummary(state)});
  }
  return Table(rows, "");
}

std::string FormatClusterDetails(const json& entry) {
  const json& cluster = Member(entry, "cluster");
  const json& state = Member(entry, "state");
  std::string out;
  AddField(&out, "uuid", {Text(Member(cluster, "uuid"))});
  AddField(&out, "version", {VersionLabel(cluster, state)});
  std::vector<std::string> servers = ServerTexts(cluster);
  AddField(&out, "servers", servers.empty() ? std::vector<std::string>{"-"} : servers);
  AddField(&out, "upgrade transition", {TransitionDetails(cluster)});
  AddField(&out, "requests served", {Text(Member(state, "requestsServed"))});
  if (!Member(state, "gradualShare").is_null()) {
    std::string share = Percent(Member(state, "gradualShare"));
    const json& ramp_requests = Member(state, "rampRequests");
    if (!ramp_requests.is_null()) share += " after " + Text(ramp_requests) + " requests";
    AddField(&out, "gradual share", {share});
  }
  if (!Member(state, "mismatches").is_null()) AddField(&out, "mismatches", {Text(Member(state, "mismatches"))});
  const json& recent = Member(state, "recentMismatches");
  if (recent.is_array() && !recent.empty()) {
    out += "recent mismatches (newest first):\n";
    for (const json& report : recent) out += "  " + MismatchLine(report) + "\n";
  }
  return out;
}

std::string FormatClusterExplanation(const json& entry) {
  const json& cluster = Member(entry, "cluster");
  const json& state = Member(entry, "state");
  std::string out;
  AddField(&out, "uuid", {Text(Member(cluster, "uuid"))});
  AddField(&out, "version", {VersionLabel(cluster, state)});
  std::string health = Text(Member(state, "health"));
  const json& health_detail = Member(state, "healthDetail");
  AddField(&out, "health", {health + (health_detail.is_null() ? "" : " (" + Text(health_detail) + ")")});
  const json& window = Member(state, "window");
  const json& seconds = Member(window, "seconds");
  AddField(&out, seconds.is_number() ? "window (last " + WithUnit(seconds, "s") + ")" : "window", WindowLines(window));
  const json& ramp_held = Member(state, "rampHeld");
  if (ramp_held.is_boolean()) {
    AddField(&out, "ramp held", {ramp_held.get<bool>() ? "yes: the GRADUAL share waits for a healthy verdict" : "no"});
  }
  const json& record = Member(state, "rollback");
  if (record.is_object()) return out + EvidenceText(record);
  AddField(&out, "rolled back", {health == "rolledBack" ? "yes, but the API sent no evidence" : "no"});
  return out;
}

}  // namespace upmesh::ctl
