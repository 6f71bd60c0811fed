#include "shared/cluster_replica.h"

#include "shared/json_parse.h"

namespace upmesh {

Status ClusterReplica::ApplySnapshot(uint64_t seq, const nlohmann::json& stored_clusters) {
  ClusterTable table;
  Status status = ClusterTable::FromStoredJson(stored_clusters, &table);
  if (!status.ok()) return status;
  table_ = std::move(table);
  seq_ = seq;
  loaded_ = true;
  return Status::Ok();
}

ClusterReplica::UpdateResult ClusterReplica::ApplyUpdate(uint64_t seq, const nlohmann::json& change,
                                                         std::string* error) {
  if (!loaded_ || seq > seq_ + 1) return UpdateResult::kGap;
  if (seq <= seq_) return UpdateResult::kStale;  // already in our snapshot
  std::string op = change.is_object() ? change.value("op", "") : "";
  if (op == "put" && change.contains("cluster")) {
    Cluster cluster;
    Status status = ClusterFromStoredJson(change["cluster"], &cluster);
    if (!status.ok()) {
      *error = status.message();
      return UpdateResult::kInvalid;
    }
    table_.Remove(cluster.uuid);  // a re-put replaces
    table_.Add(std::move(cluster));
  } else if (op == "delete" && change.contains("uuid") && change["uuid"].is_string()) {
    table_.Remove(change["uuid"].get<std::string>());
  } else if (op == "rollback" && change.contains("uuid") && change["uuid"].is_string()) {
    table_.MarkRolledBack(change["uuid"].get<std::string>());
  } else if (op == "hold" && change.contains("uuid") && change["uuid"].is_string()) {
    RampHold hold;
    Status status = RampHoldFromJson(change, &hold);
    if (!status.ok()) {
      *error = status.message();
      return UpdateResult::kInvalid;
    }
    table_.SetRampHold(change["uuid"].get<std::string>(), hold);
  } else {
    *error = "unknown change: " + JsonForMessage(change);
    return UpdateResult::kInvalid;
  }
  seq_ = seq;
  return UpdateResult::kApplied;
}

}  // namespace upmesh
