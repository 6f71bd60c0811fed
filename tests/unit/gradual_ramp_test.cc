// The GRADUAL ramp's arithmetic shared by router and frontend.
#include <catch2/catch.hpp>

#include "shared/gradual_ramp.h"

using namespace upmesh;

namespace {
Cluster Gradual(double per_request, int64_t duration_s, int64_t added_at_ms = 0) {
  Cluster cluster;
  cluster.uuid = "v2";
  cluster.transition.mode = UpgradeMode::kGradual;
  cluster.transition.percentage_per_request = per_request;
  cluster.transition.duration_s = duration_s;
  cluster.added_at_ms = added_at_ms;
  return cluster;
}
}  // namespace

TEST_CASE("ramp math: the request share grows by position and stops at 100", "[gradual-ramp]") {
  CHECK(RequestRampShare(0, 10) == 0);
  CHECK(RequestRampShare(1, 10) == 10);
  CHECK(RequestRampShare(10, 10) == 100);
  CHECK(RequestRampShare(1000, 10) == 100);
  CHECK(RequestRampShare(5, 0) == 0);
  CHECK(RequestRampLength(10) == 10);
  CHECK(RequestRampLength(3) == 34);  // 33 × 3 = 99
  CHECK(RequestRampLength(0.01) == 10000);
  CHECK(RequestRampLength(100) == 1);
}

TEST_CASE("ramp math: a lease is 1 % of the ramp, between 1 and 100 positions", "[gradual-ramp]") {
  CHECK(RampLeaseLimit(10) == 1);
  CHECK(RampLeaseLimit(0.5) == 2);
  CHECK(RampLeaseLimit(0.01) == 100);
  CHECK(RampLeaseLimit(0.0001) == kMaxRampLease);
}

TEST_CASE("ramp math: the time share follows the clock minus the time held", "[gradual-ramp]") {
  RampHold none;
  CHECK(TimeRampShare(1000, 100, none, 1000) == 0);
  CHECK(TimeRampShare(1000, 100, none, 1000 + 25000) == Approx(25));
  CHECK(TimeRampShare(1000, 100, none, 0) == 0);  // a clock that went back: no negative share
  CHECK(TimeRampShare(1000, 100, none, 1000 + 500000) == 100);
  RampHold held{5000, 0};  // held 5 s before, not now
  CHECK(TimeRampShare(0, 100, held, 25000) == Approx(20));
  RampHold holding{5000, 20000};  // and held again since 20 s
  CHECK(TimeRampShare(0, 100, holding, 20000) == Approx(15));
  CHECK(TimeRampShare(0, 100, holding, 90000) == Approx(15));  // the clock stopped
}

TEST_CASE("ramp math: the newest version's share by its mode", "[gradual-ramp]") {
  CHECK(GradualShare(nullptr, 5, {}, 0) == 0);
  Cluster instant;
  CHECK(GradualShare(&instant, 5, {}, 0) == 0);
  Cluster by_requests = Gradual(2.5, 0);
  CHECK(IsRequestRamp(by_requests));
  CHECK(GradualShare(&by_requests, 4, {}, 0) == 10);
  Cluster by_time = Gradual(0, 10, 1000);
  CHECK_FALSE(IsRequestRamp(by_time));
  CHECK(GradualShare(&by_time, 999, {}, 6000) == Approx(50));  // the position does not matter
  CHECK(ShareMicros(10) == 10000000);
  CHECK(ShareMicros(100) == kFullShareMicros);
  CHECK(ShareMicros(150) == kFullShareMicros);
  CHECK(ShareMicros(-1) == 0);
}
