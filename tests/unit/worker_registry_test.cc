// The load-balancing policy: least outstanding below capacity, ties
// round-robin, draining workers skipped, silent workers expired.
#include <catch2/catch.hpp>

#include <map>

#include "shared/worker_registry.h"

using upmesh::WorkerRegistry;
using upmesh::WorkerState;

TEST_CASE("ties go round-robin so light load reaches every worker", "[registry]") {
  WorkerRegistry registry(1500);
  for (const char* id : {"a", "b", "c"}) registry.Heard(id, 10, 0);
  std::map<std::string, int> picks;
  for (int i = 0; i < 30; ++i) {
    WorkerState* worker = registry.PickForRequest();
    REQUIRE(worker);
    picks[worker->id]++;  // outstanding stays 0: every request is answered at once
  }
  CHECK(picks["a"] == 10);
  CHECK(picks["b"] == 10);
  CHECK(picks["c"] == 10);
}

TEST_CASE("the worker with the fewest outstanding requests is chosen", "[registry]") {
  WorkerRegistry registry(1500);
  registry.Heard("busy", 10, 0).outstanding = 5;
  registry.Heard("idle", 10, 0).outstanding = 1;
  registry.Heard("mid", 10, 0).outstanding = 3;
  CHECK(registry.PickForRequest()->id == "idle");
}

TEST_CASE("capacity and draining are respected", "[registry]") {
  WorkerRegistry registry(1500);
  registry.Heard("full", 2, 0).outstanding = 2;
  CHECK(registry.PickForRequest() == nullptr);
  registry.Heard("leaving", 5, 0).draining = true;
  CHECK(registry.PickForRequest() == nullptr);
  registry.Heard("fresh", 1, 0);
  CHECK(registry.PickForRequest()->id == "fresh");
}

TEST_CASE("workers not heard from are expired, and hearing from them postpones it", "[registry]") {
  WorkerRegistry registry(1500);
  registry.Heard("quiet", 4, 0);
  registry.Heard("chatty", 4, 0);
  registry.Heard("chatty", -1, 1000);  // a reply or heartbeat at t=1000; capacity kept
  CHECK(registry.Find("chatty")->capacity == 4);
  std::vector<std::string> expired = registry.Expired(1600);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0] == "quiet");
  WorkerState removed = registry.Remove("quiet");
  CHECK(removed.id == "quiet");
  CHECK(registry.size() == 1);
  CHECK(registry.Expired(2499).empty());
  CHECK(registry.Expired(2500).size() == 1);
}
