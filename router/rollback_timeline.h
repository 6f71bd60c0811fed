// RollbackTimelines: when each worker started routing by the table that
// rolled a version back, for the rollback's evidence record.
//
// A rollback is a config change with its own seq; workers report the seq
// they route by (HEALTH right after applying a change, and every HB). A
// timeline starts with the workers the router knows at the decision and
// finishes when each of them has reported that seq (or was lost), or after
// kTimeoutMs; its additions then go into the record:
//   workersApplied: [{"worker", "atMs"}], allWorkersAppliedAtMs (or null),
//   workersNotConfirmed: [ids] (lost, or silent until the timeout).
// Pure logic: no sockets.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace upmesh::router {

class RollbackTimelines {
 public:
  static constexpr int64_t kTimeoutMs = 10000;

  struct Finished {
    std::string uuid;
    nlohmann::json additions;  // to merge into the record's "timeline"
  };

  void Start(const std::string& uuid, uint64_t seq, const std::vector<std::string>& workers, int64_t now_wall_ms);
  // A worker routes by config `seq` now.
  void WorkerAt(const std::string& worker, uint64_t seq, int64_t now_wall_ms);
  void WorkerLost(const std::string& worker);
  // Timelines every worker has confirmed, or that timed out; removed.
  std::vector<Finished> TakeFinished(int64_t now_wall_ms);
  bool empty() const { return timelines_.empty(); }

 private:
  struct Timeline {
    uint64_t seq = 0;
    int64_t started_ms = 0;
    std::set<std::string> pending;
    std::vector<std::string> lost;
    nlohmann::json applied = nlohmann::json::array();
    int64_t last_applied_ms = 0;
  };
  std::map<std::string, Timeline> timelines_;  // by cluster uuid
};

}  // namespace upmesh::router
