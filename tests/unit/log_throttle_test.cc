#include <catch2/catch.hpp>

#include "shared/log.h"

using upmesh::LogThrottle;

TEST_CASE("LogThrottle admits a few lines a second and counts the rest") {
  LogThrottle throttle;
  uint64_t dropped = 99;
  const int64_t start = 1'000'000;
  for (int i = 0; i < LogThrottle::kLinesPerSecond; ++i) {
    REQUIRE(throttle.Admit(start + i, &dropped));
    CHECK(dropped == 0);
  }
  CHECK_FALSE(throttle.Admit(start + 10, &dropped));
  CHECK_FALSE(throttle.Admit(start + 999, &dropped));
  // The next second: the first line written reports both dropped lines.
  REQUIRE(throttle.Admit(start + 1000, &dropped));
  CHECK(dropped == 2);
  REQUIRE(throttle.Admit(start + 1001, &dropped));
  CHECK(dropped == 0);
}

TEST_CASE("LogThrottle starts a fresh budget after a quiet spell") {
  LogThrottle throttle;
  uint64_t dropped = 0;
  for (int i = 0; i < LogThrottle::kLinesPerSecond + 3; ++i) throttle.Admit(5000, &dropped);
  REQUIRE(throttle.Admit(60'000, &dropped));
  CHECK(dropped == 3);
}
