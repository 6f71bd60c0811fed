#include "router/version_monitor.h"

#include <algorithm>

namespace upmesh::router {

using nlohmann::json;

void VersionMonitor::Record(const std::string& worker_id, const HealthReport& report, const ClusterTable& table,
                            int64_t now_ms) {
  int64_t index = now_ms / kBucketMs;
  if (report.servers.empty()) {
    worker_servers_.erase(worker_id);
  } else {
    worker_servers_[worker_id] = report.servers;
  }
  for (const auto& [uuid, gathered] : report.versions) {
    if (!table.Find(uuid)) continue;  // deleted meanwhile, or made up
    Version& version = versions_[uuid];
    if (version.buckets.empty() || version.buckets.back().index != index) version.buckets.push_back(Bucket{index, {}, 0});
    Bucket& bucket = version.buckets.back();
    bucket.figures.Add(gathered.figures);
    version.window.Add(gathered.figures);
    version.total.Add(gathered.figures);
    if (gathered.first_failure_at_ms > 0 &&
        (bucket.first_failure_at_ms == 0 || gathered.first_failure_at_ms < bucket.first_failure_at_ms)) {
      bucket.first_failure_at_ms = gathered.first_failure_at_ms;
    }
    version.failure_runs[worker_id] = gathered.failure_run;
    for (FailureSample sample : gathered.samples) {
      sample.worker = worker_id;
      version.samples.push_back(std::move(sample));
      if (version.samples.size() > kSamplesKept) version.samples.pop_front();
    }
  }
}

int64_t VersionMonitor::WindowMs(const ClusterTable& table) {
  const Cluster* newest = table.NewestLive();
  MonitorConfig defaults;
  return (newest ? newest->transition.monitor.window_seconds : defaults.window_seconds) * 1000;
}

void VersionMonitor::Expire(Version* version, int64_t now_ms, int64_t window_ms) {
  int64_t oldest_kept = (now_ms - window_ms) / kBucketMs;
  while (!version->buckets.empty() && version->buckets.front().index <= oldest_kept) {
    version->window.Subtract(version->buckets.front().figures);
    version->buckets.pop_front();
  }
}

uint64_t VersionMonitor::FailureRun(const Version& version) const {
  uint64_t run = 0;
  for (const auto& [worker, worker_run] : version.failure_runs) run += worker_run;
  return run;
}

int64_t VersionMonitor::FirstFailureAtMs(const Version& version) {
  int64_t first = 0;
  for (const Bucket& bucket : version.buckets) {
    if (bucket.first_failure_at_ms > 0 && (first == 0 || bucket.first_failure_at_ms < first)) {
      first = bucket.first_failure_at_ms;
    }
  }
  return first;
}

std::pair<const Cluster*, const Cluster*> VersionMonitor::CandidateOf(const ClusterTable& table) {
  std::vector<const Cluster*> live = table.Live();
  if (live.size() < 2 || !live[0]->transition.monitor.enabled) return {nullptr, nullptr};
  return {live[0], live[1]};
}

const HealthFigures* VersionMonitor::OldFigures(const std::string& uuid, int64_t min_requests,
                                                const char** from) const {
  auto it = versions_.find(uuid);
  if (it == versions_.end()) return nullptr;
  const Version& old = it->second;
  if (old.window.requests() >= static_cast<uint64_t>(min_requests) || !old.baseline) {
    *from = "window";
    return &old.window;
  }
  *from = "baseline";
  return &*old.baseline;
}

std::optional<VersionMonitor::Decision> VersionMonitor::Evaluate(const ClusterTable& table, int64_t now_ms) {
  int64_t window_ms = WindowMs(table);
  auto [candidate, old] = CandidateOf(table);
  const Cluster* newest = table.NewestLive();  // the candidate, when there is one
  MonitorConfig config = newest ? newest->transition.monitor : MonitorConfig();
  for (auto& [uuid, version] : versions_) {
    Expire(&version, now_ms, window_ms);
    if (version.window.requests() >= static_cast<uint64_t>(config.min_requests)) version.baseline = version.window;
  }
  if (!candidate) {
    candidate_.clear();
    return std::nullopt;
  }
  Version& watched = versions_[candidate->uuid];
  if (candidate_ != candidate->uuid) {
    candidate_ = candidate->uuid;
    watched.judged = false;
  }
  const char* from = "";
  const HealthFigures* old_figures = OldFigures(old->uuid, config.min_requests, &from);
  Judgement judgement = Judge(watched.window, old_figures, FailureRun(watched), config);
  if (judgement.health == Health::kInconclusive && !watched.judged) judgement.health = Health::kWatching;
  if (judgement.health == Health::kHealthy) watched.judged = true;
  watched.verdict = judgement;
  if (judgement.health != Health::kUnhealthy) return std::nullopt;
  return Decision{candidate->uuid, judgement};
}

Health VersionMonitor::VerdictOf(const std::string& uuid) const {
  auto it = versions_.find(uuid);
  if (uuid != candidate_ || it == versions_.end()) return Health::kWatching;
  return it->second.verdict.health;
}

json VersionMonitor::Evidence(const ClusterTable& table, const std::string& uuid, const std::string& reason,
                              const std::string& detail, int64_t now_wall_ms) const {
  const Cluster* cluster = table.Find(uuid);
  MonitorConfig config = cluster ? cluster->transition.monitor : MonitorConfig();
  // The version it is compared with: the next older live one.
  const Cluster* old = nullptr;
  bool past = false;
  for (const Cluster* live : table.Live()) {
    if (past && !old) old = live;
    if (live->uuid == uuid) past = true;
  }
  auto found = versions_.find(uuid);
  Version empty;
  const Version& version = found == versions_.end() ? empty : found->second;
  json window = {{"seconds", WindowMs(table) / 1000}, {"new", SummaryJson(version.window)}, {"old", nullptr}};
  if (old) {
    const char* from = "";
    if (const HealthFigures* figures = OldFigures(old->uuid, config.min_requests, &from)) {
      json summary = SummaryJson(*figures);
      summary["uuid"] = old->uuid;
      summary["from"] = from;
      window["old"] = std::move(summary);
    }
  }
  json samples = json::array();
  for (const FailureSample& sample : version.samples) samples.push_back(FailureSampleToJson(sample));
  int64_t first_failure = FirstFailureAtMs(version);
  return {{"uuid", uuid},
          {"version", cluster ? cluster->version : json(nullptr)},
          {"reason", reason},
          {"detail", detail},
          {"atMs", now_wall_ms},
          {"window", std::move(window)},
          {"failureRun", FailureRun(version)},
          {"thresholds", MonitorToJson(config)},
          {"samples", std::move(samples)},
          {"timeline",
           {{"firstFailureAtMs", first_failure > 0 ? json(first_failure) : json(nullptr)},
            {"decidedAtMs", now_wall_ms}}}};
}

const HealthFigures* VersionMonitor::TotalOf(const std::string& uuid) const {
  auto found = versions_.find(uuid);
  return found == versions_.end() ? nullptr : &found->second.total;
}

const HealthFigures* VersionMonitor::WindowOf(const std::string& uuid) const {
  auto found = versions_.find(uuid);
  return found == versions_.end() ? nullptr : &found->second.window;
}

std::pair<std::string, std::string> VersionMonitor::HealthOf(const ClusterTable& table, const Cluster& cluster) const {
  auto found = versions_.find(cluster.uuid);
  std::string health = "healthy";
  std::string detail;
  auto [candidate, old] = CandidateOf(table);
  const Cluster* newest = table.NewestLive();
  if (cluster.rolled_back) {
    health = HealthName(Health::kRolledBack);
    detail = "rolled back: gets no traffic";
  } else if (candidate && candidate->uuid == cluster.uuid) {
    bool current = candidate_ == cluster.uuid && found != versions_.end();
    health = HealthName(current ? found->second.verdict.health : Health::kWatching);
    detail = current ? found->second.verdict.detail : "not judged yet";
  } else if (newest && newest->uuid == cluster.uuid) {
    detail = cluster.transition.monitor.enabled ? "the only version that can serve: nothing to compare it with"
                                                : "not judged: monitoring is disabled (upgradeTransition.monitor)";
  } else if (old && old->uuid == cluster.uuid) {
    detail = "the baseline the newest version is compared with";
  } else {
    detail = "an older version: not judged";
  }
  return {health, detail};
}

json VersionMonitor::StateOf(const ClusterTable& table, const Cluster& cluster) const {
  auto found = versions_.find(cluster.uuid);
  HealthFigures none;
  const HealthFigures& window = found == versions_.end() ? none : found->second.window;
  json summary = SummaryJson(window);
  summary["seconds"] = WindowMs(table) / 1000;
  auto [health, detail] = HealthOf(table, cluster);
  json servers = json::array();
  for (const ServerAddress& address : cluster.servers) {
    std::string label = address.host + ":" + std::to_string(address.port);  // as the worker names it
    json workers = json::object();
    std::string state = "up";
    for (const auto& [worker, states] : worker_servers_) {
      auto seen = states.find(label);
      if (seen == states.end()) continue;
      workers[worker] = *seen;
      if (seen->value("state", "") == "ejected") state = "ejected";
    }
    servers.push_back({{"address", label}, {"state", state}, {"workers", workers}});
  }
  return {{"health", health}, {"healthDetail", detail}, {"window", summary}, {"servers", servers}};
}

void VersionMonitor::ForgetWorker(const std::string& worker_id) {
  worker_servers_.erase(worker_id);
  for (auto& [uuid, version] : versions_) version.failure_runs.erase(worker_id);
}

void VersionMonitor::Forget(const std::string& uuid) {
  versions_.erase(uuid);
  if (candidate_ == uuid) candidate_.clear();
}

}  // namespace upmesh::router
