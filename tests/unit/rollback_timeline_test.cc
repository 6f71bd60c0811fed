// RollbackTimelines: which worker routed by the rollback's table when, and
// when a timeline is finished (all confirmed, lost, or timed out).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/rollback_timeline.h"

using nlohmann::json;
using upmesh::router::RollbackTimelines;

TEST_CASE("timeline: finished when every worker has reported the rollback's seq", "[rollback-timeline]") {
  RollbackTimelines timelines;
  CHECK(timelines.empty());
  timelines.Start("v2", 10, {"w1", "w2"}, 1000);
  CHECK_FALSE(timelines.empty());
  timelines.WorkerAt("w1", 9, 1010);  // an older table: not yet
  CHECK(timelines.TakeFinished(1020).empty());
  timelines.WorkerAt("w1", 10, 1030);
  CHECK(timelines.TakeFinished(1040).empty());  // w2 still pending
  timelines.WorkerAt("w2", 11, 1050);           // a newer seq includes the rollback
  std::vector<RollbackTimelines::Finished> finished = timelines.TakeFinished(1060);
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].uuid == "v2");
  CHECK(finished[0].additions["workersApplied"] ==
        json::parse(R"([{"worker": "w1", "atMs": 1030}, {"worker": "w2", "atMs": 1050}])"));
  CHECK(finished[0].additions["allWorkersAppliedAtMs"] == 1050);
  CHECK(finished[0].additions["workersNotConfirmed"] == json::array());
  CHECK(timelines.empty());
  CHECK(timelines.TakeFinished(1070).empty());  // taken once
}

TEST_CASE("timeline: a worker is counted once, unknown workers not at all", "[rollback-timeline]") {
  RollbackTimelines timelines;
  timelines.Start("v2", 10, {"w1", "w2"}, 0);
  timelines.WorkerAt("w1", 10, 5);
  timelines.WorkerAt("w1", 12, 7);   // again: already applied
  timelines.WorkerAt("w9", 10, 8);   // joined after the decision
  CHECK(timelines.TakeFinished(10).empty());
  timelines.WorkerAt("w2", 10, 20);
  std::vector<RollbackTimelines::Finished> finished = timelines.TakeFinished(30);
  REQUIRE(finished.size() == 1);
  REQUIRE(finished[0].additions["workersApplied"].size() == 2);
  CHECK(finished[0].additions["workersApplied"][0]["atMs"] == 5);
  CHECK(finished[0].additions["workersApplied"][1]["worker"] == "w2");
}

TEST_CASE("timeline: a lost worker is not confirmed, and there is no all-applied time", "[rollback-timeline]") {
  RollbackTimelines timelines;
  timelines.Start("v2", 10, {"w1", "w2", "w3"}, 0);
  timelines.WorkerAt("w1", 10, 100);
  timelines.WorkerLost("w2");
  timelines.WorkerLost("w2");  // twice: listed once
  CHECK(timelines.TakeFinished(200).empty());  // w3 pending
  timelines.WorkerAt("w3", 10, 300);
  timelines.WorkerAt("w2", 10, 310);  // came back after it was lost: too late to count
  std::vector<RollbackTimelines::Finished> finished = timelines.TakeFinished(400);
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].additions["workersApplied"].size() == 2);
  CHECK(finished[0].additions["allWorkersAppliedAtMs"].is_null());
  CHECK(finished[0].additions["workersNotConfirmed"] == json::array({"w2"}));
}

TEST_CASE("timeline: silent workers time out after kTimeoutMs", "[rollback-timeline]") {
  RollbackTimelines timelines;
  timelines.Start("v2", 10, {"w1", "w2", "w3"}, 5000);
  timelines.WorkerAt("w2", 10, 5100);
  CHECK(timelines.TakeFinished(5000 + RollbackTimelines::kTimeoutMs - 1).empty());
  std::vector<RollbackTimelines::Finished> finished = timelines.TakeFinished(5000 + RollbackTimelines::kTimeoutMs);
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].additions["workersApplied"] == json::parse(R"([{"worker": "w2", "atMs": 5100}])"));
  CHECK(finished[0].additions["allWorkersAppliedAtMs"].is_null());
  CHECK(finished[0].additions["workersNotConfirmed"] == json::array({"w1", "w3"}));
  CHECK(timelines.empty());
}

TEST_CASE("timeline: no workers at the decision: finished at once, applied when it started", "[rollback-timeline]") {
  RollbackTimelines timelines;
  timelines.Start("v2", 10, {}, 777);
  std::vector<RollbackTimelines::Finished> finished = timelines.TakeFinished(778);
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].additions["workersApplied"] == json::array());
  CHECK(finished[0].additions["allWorkersAppliedAtMs"] == 777);
  CHECK(finished[0].additions["workersNotConfirmed"] == json::array());
}

TEST_CASE("timeline: several rollbacks are tracked separately", "[rollback-timeline]") {
  RollbackTimelines timelines;
  timelines.Start("v3", 20, {"w1", "w2"}, 0);
  timelines.Start("v2", 21, {"w1", "w2"}, 10);
  timelines.WorkerAt("w1", 20, 30);  // v3's seq only
  timelines.WorkerAt("w2", 21, 40);  // seq 21 includes 20: both
  std::vector<RollbackTimelines::Finished> finished = timelines.TakeFinished(50);
  REQUIRE(finished.size() == 1);  // v3 is confirmed by both; v2 waits for w1
  CHECK(finished[0].uuid == "v3");
  CHECK(finished[0].additions["workersApplied"].size() == 2);
  CHECK(finished[0].additions["allWorkersAppliedAtMs"] == 40);
  timelines.WorkerAt("w1", 21, 60);
  finished = timelines.TakeFinished(70);
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].uuid == "v2");
  CHECK(finished[0].additions["workersApplied"] ==
        json::parse(R"([{"worker": "w2", "atMs": 40}, {"worker": "w1", "atMs": 60}])"));
  CHECK(finished[0].additions["allWorkersAppliedAtMs"] == 60);
  CHECK(timelines.empty());
  // Restarting a timeline for the same version replaces it.
  timelines.Start("v4", 30, {"w1"}, 0);
  timelines.Start("v4", 31, {"w2"}, 100);
  timelines.WorkerAt("w2", 31, 150);
  finished = timelines.TakeFinished(160);
  REQUIRE(finished.size() == 1);
  CHECK(finished[0].additions["workersApplied"][0]["worker"] == "w2");
  CHECK(finished[0].additions["allWorkersAppliedAtMs"] == 150);
}
