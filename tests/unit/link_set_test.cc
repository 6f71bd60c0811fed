#include <catch2/catch.hpp>

#include "worker/link_set.h"

using upmesh::worker::LinkPlan;
using upmesh::worker::ReconcileLinks;
using Strings = std::vector<std::string>;

TEST_CASE("link set: opens a link to every listed or static frontend it has none to") {
  LinkPlan plan = ReconcileLinks({"tcp://s:1"}, {"tcp://b:1", "tcp://a:1", "tcp://s:1"}, {{"tcp://b:1", false}});
  CHECK(plan.open == Strings{"tcp://a:1", "tcp://s:1"});
  CHECK(plan.close.empty());
}

TEST_CASE("link set: a link goes only when its frontend is silent AND no longer listed") {
  std::map<std::string, bool> links = {{"tcp://live:1", false}, {"tcp://silent:1", true}, {"tcp://listed:1", true}};
  // The router's list lost live and silent; it still has listed.
  LinkPlan plan = ReconcileLinks({}, {"tcp://listed:1"}, links);
  CHECK(plan.open.empty());
  CHECK(plan.close == Strings{"tcp://silent:1"});
}

TEST_CASE("link set: a silent router (empty list) never takes away a frontend that answers") {
  LinkPlan plan = ReconcileLinks({}, {}, {{"tcp://a:1", false}, {"tcp://b:1", false}});
  CHECK(plan.open.empty());
  CHECK(plan.close.empty());
}

TEST_CASE("link set: static frontends are never closed, even silent and unlisted") {
  LinkPlan plan = ReconcileLinks({"tcp://s:1"}, {}, {{"tcp://s:1", true}});
  CHECK(plan.open.empty());
  CHECK(plan.close.empty());
}
