// The worker's Clone-pattern replica of the cluster table.
#include <catch2/catch.hpp>

#include "shared/cluster_replica.h"
#include "shared/config_follower.h"

using namespace upmesh;
using upmesh::ClusterReplica;
using nlohmann::json;

namespace {
json StoredCluster(const std::string& uuid, int version, uint64_t order) {
  return {{"uuid", uuid}, {"version", version}, {"servers", {{{"ip", "127.0.0.1"}, {"port", 8000 + version}}}},
          {"addedOrder", order}, {"addedAtMs", 0}};
}
}  // namespace

TEST_CASE("replica: updates need a snapshot first, then apply in sequence", "[replica]") {
  ClusterReplica replica;
  std::string error;
  json put2 = {{"op", "put"}, {"cluster", StoredCluster("b", 2, 2)}};
  CHECK(replica.ApplyUpdate(5, put2, &error) == ClusterReplica::UpdateResult::kGap);

  REQUIRE(replica.ApplySnapshot(4, json::array({StoredCluster("a", 1, 1)})).ok());
  CHECK(replica.loaded());
  CHECK(replica.ApplyUpdate(4, put2, &error) == ClusterReplica::UpdateResult::kStale);
  CHECK(replica.ApplyUpdate(5, put2, &error) == ClusterReplica::UpdateResult::kApplied);
  REQUIRE(replica.table().clusters().size() == 2);
  CHECK(replica.table().clusters()[0].uuid == "b");  // newest first
  CHECK(replica.seq() == 5);

  json put_far = {{"op", "put"}, {"cluster", StoredCluster("c", 3, 3)}};
  CHECK(replica.ApplyUpdate(7, put_far, &error) == ClusterReplica::UpdateResult::kGap);  // 6 was missed
  CHECK(replica.table().clusters().size() == 2);

  CHECK(replica.ApplyUpdate(6, {{"op", "delete"}, {"uuid", "b"}}, &error) == ClusterReplica::UpdateResult::kApplied);
  REQUIRE(replica.table().clusters().size() == 1);
  CHECK(replica.table().clusters()[0].uuid == "a");
  CHECK(replica.ApplyUpdate(7, {{"op", "explode"}}, &error) == ClusterReplica::UpdateResult::kInvalid);
  CHECK(replica.seq() == 6);
}

TEST_CASE("replica: a bad snapshot leaves the table as it was", "[replica]") {
  ClusterReplica replica;
  REQUIRE(replica.ApplySnapshot(1, json::array({StoredCluster("a", 1, 1)})).ok());
  CHECK_FALSE(replica.ApplySnapshot(9, json::object()).ok());
  CHECK_FALSE(replica.ApplySnapshot(9, json::array({{{"uuid", "x"}}})).ok());  // no servers
  CHECK(replica.seq() == 1);
  CHECK(replica.table().clusters().size() == 1);
}

TEST_CASE("replica: a rollback update marks the version, which stays in the table", "[replica]") {
  ClusterReplica replica;
  std::string error;
  REQUIRE(replica.ApplySnapshot(1, json::array({StoredCluster("a", 1, 1), StoredCluster("b", 2, 2)})).ok());
  REQUIRE(replica.table().NewestLive()->uuid == "b");
  CHECK(replica.ApplyUpdate(2, {{"op", "rollback"}, {"uuid", "b"}}, &error) == ClusterReplica::UpdateResult::kApplied);
  CHECK(replica.seq() == 2);
  REQUIRE(replica.table().clusters().size() == 2);
  CHECK(replica.table().Find("b")->rolled_back);
  CHECK_FALSE(replica.table().Find("a")->rolled_back);
  CHECK(replica.table().NewestLive()->uuid == "a");
  CHECK(replica.table().Live().size() == 1);
  // Stale and gapped rollbacks follow the same sequence rules as the other updates.
  CHECK(replica.ApplyUpdate(2, {{"op", "rollback"}, {"uuid", "a"}}, &error) == ClusterReplica::UpdateResult::kStale);
  CHECK(replica.ApplyUpdate(4, {{"op", "rollback"}, {"uuid", "a"}}, &error) == ClusterReplica::UpdateResult::kGap);
  CHECK_FALSE(replica.table().Find("a")->rolled_back);
}

TEST_CASE("replica: a malformed rollback update is invalid and changes nothing", "[replica]") {
  ClusterReplica replica;
  REQUIRE(replica.ApplySnapshot(1, json::array({StoredCluster("a", 1, 1), StoredCluster("b", 2, 2)})).ok());
  for (const json& change : {json{{"op", "rollback"}}, json{{"op", "rollback"}, {"uuid", 2}},
                             json{{"op", "rollback"}, {"uuid", nullptr}}}) {
    INFO(change.dump());
    std::string error;
    CHECK(replica.ApplyUpdate(2, change, &error) == ClusterReplica::UpdateResult::kInvalid);
    CHECK(error.rfind("unknown change: ", 0) == 0);
    CHECK(replica.seq() == 1);
  }
  CHECK(replica.table().Live().size() == 2);
}

TEST_CASE("replica: a snapshot carries rolled-back versions; a re-put of one replaces it", "[replica]") {
  ClusterReplica replica;
  json rolled = StoredCluster("b", 2, 2);
  rolled["rolledBack"] = true;
  REQUIRE(replica.ApplySnapshot(1, json::array({StoredCluster("a", 1, 1), rolled})).ok());
  CHECK(replica.table().Find("b")->rolled_back);
  CHECK(replica.table().NewestLive()->uuid == "a");
  std::string error;
  CHECK(replica.ApplyUpdate(2, {{"op", "put"}, {"cluster", rolled}}, &error) == ClusterReplica::UpdateResult::kApplied);
  CHECK(replica.table().clusters().size() == 2);
  CHECK(replica.table().Find("b")->rolled_back);
  // Deleting a rolled-back version removes it for good.
  CHECK(replica.ApplyUpdate(3, {{"op", "delete"}, {"uuid", "b"}}, &error) == ClusterReplica::UpdateResult::kApplied);
  CHECK(replica.table().Find("b") == nullptr);
}

TEST_CASE("replica: a hold change and a snapshot carry the ramp's hold", "[replica]") {
  ClusterReplica replica;
  std::string error;
  json stored = StoredCluster("b", 2, 2);
  stored["rampHold"] = {{"heldMs", 5}, {"sinceMs", 7}};
  REQUIRE(replica.ApplySnapshot(4, json::array({stored})).ok());
  CHECK(replica.table().Find("b")->ramp_hold.held_ms == 5);
  CHECK(replica.table().Find("b")->ramp_hold.since_ms == 7);
  json release = {{"op", "hold"}, {"uuid", "b"}, {"heldMs", 9}, {"sinceMs", 0}};
  CHECK(replica.ApplyUpdate(5, release, &error) == ClusterReplica::UpdateResult::kApplied);
  CHECK_FALSE(replica.table().Find("b")->ramp_hold.held());
  CHECK(replica.table().Find("b")->ramp_hold.held_ms == 9);
  json bad = {{"op", "hold"}, {"uuid", "b"}, {"heldMs", "x"}, {"sinceMs", 0}};
  CHECK(replica.ApplyUpdate(6, bad, &error) == ClusterReplica::UpdateResult::kInvalid);
  CHECK(replica.seq() == 5);
}

TEST_CASE("follower: a snapshot is wanted at start, retried, and again after a gap or silence", "[replica]") {
  upmesh::ConfigFollower follower;
  follower.Start(0);
  CHECK(follower.SnapshotDue(0));
  CHECK_FALSE(follower.SnapshotDue(1));
  CHECK(follower.SnapshotDue(upmesh::ConfigFollower::kSnapshotRetryMs));
  follower.SnapshotRefused(300);  // the link was not up: soon again
  CHECK(follower.SnapshotDue(300 + upmesh::ConfigFollower::kRefusedRetryMs));
  std::vector<zmq::message_t> snapshot;
  for (std::string_view frame : {std::string_view("UPM1"), std::string_view("SNAPSHOT"), std::string_view("7"),
                                 std::string_view("[]")}) {
    snapshot.emplace_back(frame.data(), frame.size());
  }
  REQUIRE(follower.OnSnapshot(snapshot));
  CHECK(follower.seq() == 7);
  CHECK_FALSE(follower.SnapshotDue(400));
  std::vector<zmq::message_t> gap;
  for (std::string_view frame : {std::string_view("UPM1"), std::string_view("UPDATE"), std::string_view("9"),
                                 std::string_view(R"({"op":"delete","uuid":"x"})")}) {
    gap.emplace_back(frame.data(), frame.size());
  }
  CHECK_FALSE(follower.OnBroadcast(gap, 500));
  CHECK(follower.SnapshotDue(500));  // 8 was missed
  REQUIRE(follower.OnSnapshot(snapshot));
  CHECK_FALSE(follower.SnapshotDue(600 + upmesh::ConfigFollower::kPublisherSilenceMs - 100));
  CHECK(follower.SnapshotDue(600 + upmesh::ConfigFollower::kPublisherSilenceMs));  // the publisher went silent
}
