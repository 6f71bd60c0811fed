// A frontend's leased positions of the mesh-wide GRADUAL request ramp.
#include <catch2/catch.hpp>

#include "frontend/ramp_lease.h"

using upmesh::frontend::RampLease;

TEST_CASE("ramp lease: nothing leased, nothing advances", "[ramp-lease]") {
  RampLease lease;
  CHECK_FALSE(lease.AskDue(0));  // no ramp followed
  lease.Follow("v2", 100);
  CHECK_FALSE(lease.AskDue(0));  // no request wanted a position yet: nothing leased
  CHECK(lease.Starved());
  uint64_t position = 7;
  CHECK_FALSE(lease.TryTake(&position));
  CHECK(position == 7);
  CHECK(lease.Take() == 0);
  CHECK(lease.Take() == 0);
  CHECK(lease.AskDue(0));
  CHECK_FALSE(lease.AskDue(1));  // one question at a time
  CHECK(lease.AskDue(RampLease::kAnswerWaitMs));  // unanswered: asked again
}

TEST_CASE("ramp lease: positions come from the blocks in order, the next asked before they run out",
          "[ramp-lease]") {
  RampLease lease;
  lease.Follow("v2", 1000);
  CHECK(lease.Take() == 0);
  REQUIRE(lease.AskDue(0));
  lease.OnGrant("v2", 40, 10, 1);  // positions 41..50
  CHECK_FALSE(lease.Starved());
  CHECK(lease.Take() == 41);
  for (int i = 0; i < 3; ++i) lease.Take();
  CHECK_FALSE(lease.AskDue(2));  // 6 left of 10
  lease.Take();
  CHECK(lease.remaining() == 5);
  CHECK(lease.AskDue(2));  // half left: ask for the next block
  lease.OnGrant("v2", 70, 10, 3);  // another frontend had 51..70
  for (int i = 0; i < 5; ++i) lease.Take();
  CHECK(lease.last() == 50);
  CHECK(lease.Take() == 71);
}

TEST_CASE("ramp lease: a grant of nothing holds the position and is retried later", "[ramp-lease]") {
  RampLease lease;
  lease.Follow("v2", 1000);
  lease.Take();
  REQUIRE(lease.AskDue(0));
  lease.OnGrant("v2", 30, 0, 0);  // held: the mesh is at 30
  CHECK(lease.Take() == 30);     // a new frontend adopts where the mesh stands
  CHECK(lease.Take() == 30);
  CHECK_FALSE(lease.AskDue(RampLease::kRetryMs - 1));
  CHECK(lease.AskDue(RampLease::kRetryMs));
  lease.OnGrant("v2", 20, 0, 200);  // never back
  CHECK(lease.Take() == 30);
  lease.OnGrant("v2", 25, 10, 300);  // a stale block overlapping what was used: only 31..35
  CHECK(lease.Take() == 31);
  CHECK(lease.remaining() == 4);
}

TEST_CASE("ramp lease: another ramp starts over; other answers are ignored; 100 % stops asking", "[ramp-lease]") {
  RampLease lease;
  lease.Follow("v2", 10);
  lease.Take();
  REQUIRE(lease.AskDue(0));
  lease.OnGrant("v3", 0, 5, 0);
  CHECK(lease.Take() == 0);
  lease.OnGrant("v2", 0, 10, 0);
  CHECK(lease.Take() == 1);
  lease.Follow("v3", 10);
  CHECK(lease.Take() == 0);
  CHECK(lease.remaining() == 0);
  lease.Follow("v3", 10);  // the same ramp: kept (a request already wanted a position)
  REQUIRE(lease.AskDue(0));
  lease.OnGrant("v3", 0, 10, 0);
  for (int i = 0; i < 10; ++i) lease.Take();
  CHECK(lease.last() == 10);
  CHECK_FALSE(lease.Starved());   // leased up to 100 %: no request waits
  CHECK_FALSE(lease.AskDue(5000));  // at 100 %: nothing more to lease
}
