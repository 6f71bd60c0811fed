// The router's record of live frontends and the seq each acknowledged.
#include <catch2/catch.hpp>

#include "router/frontend_acks.h"

using upmesh::router::FrontendAcks;

TEST_CASE("acks: with no frontend a change is released at once", "[frontend-acks]") {
  FrontendAcks acks(1500, 1000);
  std::vector<std::string> dropped;
  acks.Changed(5, 0);
  CHECK(acks.Released(5, 0, &dropped) == 5);
  CHECK(dropped.empty());
}

TEST_CASE("acks: a change waits for every live frontend", "[frontend-acks]") {
  FrontendAcks acks(1500, 1000);
  std::vector<std::string> dropped;
  acks.Heard("a", 4, 0);
  acks.Heard("b", 4, 0);
  acks.Changed(5, 10);
  CHECK(acks.Released(5, 10, &dropped) == 4);
  acks.Heard("a", 5, 11);
  CHECK(acks.Released(5, 11, &dropped) == 4);
  acks.Changed(6, 12);
  acks.Heard("b", 5, 13);
  CHECK(acks.Released(6, 13, &dropped) == 5);  // 5 is acknowledged by both, 6 not yet
  acks.Heard("a", 6, 14);
  acks.Heard("b", 6, 14);
  CHECK(acks.Released(6, 14, &dropped) == 6);
  CHECK(dropped.empty());
  CHECK(acks.next_deadline_ms() == INT64_MAX);
}

TEST_CASE("acks: after the bounded wait the laggard leaves the live set, and rejoins", "[frontend-acks]") {
  FrontendAcks acks(1500, 1000);
  std::vector<std::string> dropped;
  acks.Heard("a", 4, 0);
  acks.Heard("dead", 4, 0);
  acks.Changed(5, 100);
  acks.Heard("a", 5, 101);
  CHECK(acks.next_deadline_ms() == 1100);
  CHECK(acks.Released(5, 1099, &dropped) == 4);
  CHECK(acks.Released(5, 1100, &dropped) == 5);
  CHECK(dropped == std::vector<std::string>{"dead"});
  CHECK_FALSE(acks.IsLive("dead"));
  CHECK(acks.live() == 1);
  acks.Heard("dead", 5, 1200);  // it came back
  CHECK(acks.IsLive("dead"));
}

TEST_CASE("acks: a silent frontend expires", "[frontend-acks]") {
  FrontendAcks acks(1500, 1000);
  acks.Heard("a", 1, 0);
  acks.Heard("b", 1, 1000);
  CHECK(acks.Expire(1499).empty());
  CHECK(acks.Expire(1500) == std::vector<std::string>{"a"});
  std::vector<std::string> dropped;
  acks.Changed(2, 1500);
  acks.Heard("b", 2, 1501);
  CHECK(acks.Released(2, 1501, &dropped) == 2);
}
