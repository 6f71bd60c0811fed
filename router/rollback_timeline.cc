#include "router/rollback_timeline.h"

namespace upmesh::router {

void RollbackTimelines::Start(const std::string& uuid, uint64_t seq, const std::vector<std::string>& workers,
                              int64_t now_wall_ms) {
  Timeline timeline;
  timeline.seq = seq;
  timeline.started_ms = now_wall_ms;
  timeline.pending.insert(workers.begin(), workers.end());
  timelines_[uuid] = std::move(timeline);
}

void RollbackTimelines::WorkerAt(const std::string& worker, uint64_t seq, int64_t now_wall_ms) {
  for (auto& [uuid, timeline] : timelines_) {
    if (seq < timeline.seq || timeline.pending.erase(worker) == 0) continue;
    timeline.applied.push_back({{"worker", worker}, {"atMs", now_wall_ms}});
    timeline.last_applied_ms = now_wall_ms;
  }
}

void RollbackTimelines::WorkerLost(const std::string& worker) {
  for (auto& [uuid, timeline] : timelines_) {
    if (timeline.pending.erase(worker) > 0) timeline.lost.push_back(worker);
  }
}

std::vector<RollbackTimelines::Finished> RollbackTimelines::TakeFinished(int64_t now_wall_ms) {
  std::vector<Finished> finished;
  for (auto it = timelines_.begin(); it != timelines_.end();) {
    Timeline& timeline = it->second;
    bool complete = timeline.pending.empty() && timeline.lost.empty();
    if (!timeline.pending.empty() && now_wall_ms - timeline.started_ms < kTimeoutMs) {
      ++it;
      continue;
    }
    nlohmann::json unconfirmed = nlohmann::json(timeline.lost);
    for (const std::string& worker : timeline.pending) unconfirmed.push_back(worker);
    nlohmann::json additions = {
        {"workersApplied", timeline.applied},
        {"allWorkersAppliedAtMs",
         complete ? nlohmann::json(timeline.applied.empty() ? timeline.started_ms : timeline.last_applied_ms)
                  : nlohmann::json(nullptr)},
        {"workersNotConfirmed", unconfirmed}};
    finished.push_back({it->first, std::move(additions)});
    it = timelines_.erase(it);
  }
  return finished;
}

}  // namespace upmesh::router
