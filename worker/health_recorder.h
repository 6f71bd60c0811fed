// HealthRecorder: what one worker saw of each cluster version since its last
// HEALTH report (shared/health_report.h), for the router's judge.
//
// The worker looks a version's VersionHealth up once per table change and
// keeps the pointer in its route (the map's nodes never move), so recording
// a request's outcome costs a few additions and no lookup. TakeReport()
// hands over everything gathered and starts the next span; failure runs
// (failures since the last success) carry over from one span to the next,
// since the catastrophe rule counts them whatever the report boundaries.
// Pure logic: no sockets, no clock of its own.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "shared/health_report.h"

namespace upmesh::worker {

class VersionHealth {
 public:
  // One trip to a backend of this version. `sample` describes a failure
  // (kept while the report has room); latency counts for responses, the
  // body size when given (the caller gives it for 2xx responses only).
  void Record(Outcome outcome, int64_t latency_us, std::optional<uint64_t> body_bytes, int64_t now_wall_ms,
              const FailureSample* sample);
  void RecordShielded() { report_.figures.shielded++; }
  void RecordComparison(bool matched);

  uint64_t failure_run() const { return report_.failure_run; }

 private:
  friend class HealthRecorder;
  VersionReport report_;
};

class HealthRecorder {
 public:
  // The version's record, made on first use; valid until Retain() drops it.
  VersionHealth* ForVersion(const std::string& uuid) { return &versions_[uuid]; }
  // Forgets the versions not in `uuids` (deleted from the table).
  void Retain(const std::set<std::string>& uuids);

  // True if anything was recorded since the last report.
  bool HasNews() const;
  // Everything recorded since the last report, stamped with `seq`; the
  // next span starts empty (failure runs carry over).
  HealthReport TakeReport(uint64_t seq);

 private:
  std::unordered_map<std::string, VersionHealth> versions_;
};

}  // namespace upmesh::worker
