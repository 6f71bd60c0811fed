#include "worker/health_recorder.h"

namespace upmesh::worker {

void VersionHealth::Record(Outcome outcome, int64_t latency_us, std::optional<uint64_t> body_bytes, int64_t now_wall_ms,
                           const FailureSample* sample) {
  HealthFigures& figures = report_.figures;
  figures.Record(outcome);
  if (!IsFailure(outcome)) {
    report_.failure_run = 0;
    figures.latency_us.Add(static_cast<uint64_t>(latency_us > 0 ? latency_us : 0));
    if (body_bytes) figures.body_bytes.Add(*body_bytes);
    return;
  }
  report_.failure_run++;
  if (report_.first_failure_at_ms == 0) report_.first_failure_at_ms = now_wall_ms;
  if (sample && report_.samples.size() < kMaxSamplesPerReport) report_.samples.push_back(*sample);
}

void VersionHealth::RecordComparison(bool matched) {
  report_.figures.compared++;
  if (!matched) report_.figures.mismatched++;
}

void HealthRecorder::Retain(const std::set<std::string>& uuids) {
  for (auto it = versions_.begin(); it != versions_.end();) {
    it = uuids.count(it->first) ? std::next(it) : versions_.erase(it);
  }
}

bool HealthRecorder::HasNews() const {
  for (const auto& [uuid, version] : versions_) {
    if (!version.report_.figures.empty()) return true;
  }
  return false;
}

HealthReport HealthRecorder::TakeReport(uint64_t seq) {
  HealthReport report;
  report.seq = seq;
  for (auto& [uuid, version] : versions_) {
    VersionReport& gathered = version.report_;
    if (gathered.figures.empty() && gathered.failure_run == 0) continue;
    report.versions[uuid] = gathered;
    uint64_t run = gathered.failure_run;
    gathered = VersionReport();
    gathered.failure_run = run;
  }
  return report;
}

}  // namespace upmesh::worker
