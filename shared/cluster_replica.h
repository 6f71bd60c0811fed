// ClusterReplica: a worker's or frontend's copy of the router's cluster
// table, kept current with the zguide's Clone pattern.
//
// The router publishes every change as an UPDATE numbered seq = previous + 1,
// and answers SNAPSHOT? with the whole table and its seq. A replica applies
// the update that follows its own seq, ignores older ones, and reports a gap
// (a missed update) when one skips ahead: the caller then asks for a
// snapshot, which replaces everything. Pure logic: no sockets.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "shared/cluster.h"
#include "shared/status.h"

namespace upmesh {

class ClusterReplica {
 public:
  enum class UpdateResult { kApplied, kStale, kGap, kInvalid };

  bool loaded() const { return loaded_; }  // a snapshot has been applied
  uint64_t seq() const { return seq_; }
  const ClusterTable& table() const { return table_; }

  // Replaces the table with the snapshot's. Invalid JSON leaves it unchanged.
  Status ApplySnapshot(uint64_t seq, const nlohmann::json& stored_clusters);

  // Applies {"op":"put","cluster":{...}}, {"op":"delete","uuid":"..."} or
  // {"op":"rollback","uuid":"..."} (the version stays, marked rolled back) or
  // {"op":"hold","uuid":"...","heldMs":n,"sinceMs":n} (its GRADUAL ramp's hold).
  UpdateResult ApplyUpdate(uint64_t seq, const nlohmann::json& change, std::string* error);

 private:
  ClusterTable table_;
  uint64_t seq_ = 0;
  bool loaded_ = false;
};

}  // namespace upmesh
