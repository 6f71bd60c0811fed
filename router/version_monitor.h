// VersionMonitor: the router's mesh-wide view of every version's health, and
// the judge's verdict on the newest one.
//
// Workers send HEALTH reports (shared/health_report.h) about every 100 ms.
// The monitor adds them to a sliding window per version (100 ms buckets over
// the candidate's monitor.windowSeconds) and keeps:
//   * each version's baseline: its last window that had enough requests, so
//     a version that stopped getting traffic (the old one after an INSTANT
//     switch) can still be compared with;
//   * per worker, the candidate's run of failures in a row (the catastrophe
//     rule adds them up);
//   * the last few failure samples and the first failure in the window;
//   * each worker's view of the backend servers that are not simply up
//     (ejected, probing, failing), shown with the clusters that use them.
//
// Beside the windows it keeps each version's totals since the router
// started (or the version was added), never expired: GET /metrics's counters.
//
// The candidate is the newest version that is not rolled back, when its
// monitor is enabled and an older live version exists to take its traffic
// back. Evaluate() judges it against that older version (router/health_judge.h)
// and says when to roll it back. Verdicts, baselines and windows live in
// memory only: a restarted router starts watching again.
//
// Not thread-safe: the router's event loop owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "router/health_judge.h"
#include "shared/cluster.h"
#include "shared/health_report.h"

namespace upmesh::router {

class VersionMonitor {
 public:
  static constexpr int64_t kBucketMs = 100;
  static constexpr size_t kSamplesKept = 5;

  // A rollback the judge asks for.
  struct Decision {
    std::string uuid;
    Judgement judgement;
  };

  // Adds a worker's report (monotonic now_ms for the window). Versions not
  // in `table` are ignored.
  void Record(const std::string& worker_id, const HealthReport& report, const ClusterTable& table, int64_t now_ms);

  // Judges the candidate (if any) and remembers the verdict. Returns a
  // decision when it is unhealthy. Call after every report and periodically
  // (windows age even without reports).
  std::optional<Decision> Evaluate(const ClusterTable& table, int64_t now_ms);

  // The verdict Evaluate() last gave the candidate `uuid`; kWatching if none.
  Health VerdictOf(const std::string& uuid) const;

  // The evidence of a rollback of `uuid`, as the API shows it: reason, detail,
  // atMs, the window's figures (new vs old), thresholds, samples, and a
  // timeline with firstFailureAtMs and decidedAtMs.
  nlohmann::json Evidence(const ClusterTable& table, const std::string& uuid, const std::string& reason,
                          const std::string& detail, int64_t now_wall_ms) const;

  // health, healthDetail, window and servers (each with the workers that
  // see it other than up) for the API's state of a version.
  nlohmann::json StateOf(const ClusterTable& table, const Cluster& cluster) const;

  // The version's figures since the router started, and over the current
  // window; nullptr when it has had no report.
  const HealthFigures* TotalOf(const std::string& uuid) const;
  const HealthFigures* WindowOf(const std::string& uuid) const;
  // The health state name the API shows (HealthName) and its detail.
  std::pair<std::string, std::string> HealthOf(const ClusterTable& table, const Cluster& cluster) const;

  // Forgets a deleted version.
  void Forget(const std::string& uuid);
  // Forgets what a lost worker reported (its server states, its failure runs).
  void ForgetWorker(const std::string& worker_id);

 private:
  struct Bucket {
    int64_t index = 0;  // now_ms / kBucketMs
    HealthFigures figures;
    int64_t first_failure_at_ms = 0;  // wall clock, 0: none
  };
  struct Version {
    std::deque<Bucket> buckets;  // oldest first
    HealthFigures window;        // the sum of buckets
    HealthFigures total;         // every report since it was first seen
    std::optional<HealthFigures> baseline;
    std::map<std::string, uint64_t> failure_runs;  // by worker
    std::deque<FailureSample> samples;             // newest last, at most kSamplesKept
    Judgement verdict;
    bool judged = false;  // had a conclusive verdict since it became the candidate
  };

  // The candidate's window length (the default monitor's when there is none).
  static int64_t WindowMs(const ClusterTable& table);
  void Expire(Version* version, int64_t now_ms, int64_t window_ms);
  uint64_t FailureRun(const Version& version) const;
  static int64_t FirstFailureAtMs(const Version& version);
  // The candidate and the version it replaces (nullptr when there is no candidate).
  static std::pair<const Cluster*, const Cluster*> CandidateOf(const ClusterTable& table);
  // The old version's figures: its window if busy enough, else its baseline.
  const HealthFigures* OldFigures(const std::string& uuid, int64_t min_requests, const char** from) const;

  std::map<std::string, Version> versions_;  // by uuid
  std::map<std::string, nlohmann::json> worker_servers_;  // worker id -> HealthReport::servers
  std::string candidate_;                    // whose verdict is current
};

}  // namespace upmesh::router
