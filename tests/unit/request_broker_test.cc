// RequestBroker: every request is sent, queued or answered exactly once per
// outcome; a lost worker's idempotent requests go to another worker before
// anything newer, the others are answered 502; queues are bounded in size
// and time.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "shared/request_broker.h"

namespace {

using upmesh::BrokeredRequest;
using upmesh::RequestBroker;
using Handoff = RequestBroker::Handoff;

constexpr int64_t kExpiryMs = 1500;

// Records what the broker asks its owner to do; `handoff` says how the next
// sends go, per worker (kSent unless set).
struct Owner {
  std::vector<std::pair<std::string, std::string>> sent;  // worker, request
  std::map<std::string, int> answered;                     // request -> status
  std::vector<std::string> lost;
  std::map<std::string, Handoff> handoff;

  RequestBroker::Handlers Handlers() {
    return {[this](const std::string& worker, BrokeredRequest& request) {
              auto it = handoff.find(worker);
              Handoff result = it == handoff.end() ? Handoff::kSent : it->second;
              if (result == Handoff::kSent) sent.emplace_back(worker, Name(request));
              return result;
            },
            [this](BrokeredRequest& request, int status, const std::string&) {
              REQUIRE(answered.count(Name(request)) == 0);  // never answered twice
              answered[Name(request)] = status;
            },
            [this](const std::string& worker, const char*, size_t, size_t) { lost.push_back(worker); }};
  }
  static std::string Name(const BrokeredRequest& request) { return request.frames[0].to_string(); }
};

BrokeredRequest Request(const std::string& name, bool idempotent, int64_t at_ms = 0) {
  BrokeredRequest request;
  request.frames.emplace_back(name.data(), name.size());
  request.idempotent = idempotent;
  request.received_at_ms = at_ms;
  return request;
}

RequestBroker::Limits Limits(size_t max_queued = 10, int64_t queue_timeout_ms = 1000) {
  return {max_queued, queue_timeout_ms, 60000};
}

}  // namespace

TEST_CASE("broker: a request goes to a free worker and a reply gives the credit back", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(), owner.Handlers());
  broker.workers().Heard("w1", 1, 0);
  REQUIRE(broker.Submit("a", Request("a", true)));
  REQUIRE(owner.sent.size() == 1);
  CHECK(owner.sent[0] == std::make_pair(std::string("w1"), std::string("a")));
  // At capacity: the next one waits.
  REQUIRE(broker.Submit("b", Request("b", true)));
  CHECK(owner.sent.size() == 1);
  CHECK(broker.queued() == 1);
  CHECK(broker.Completed("a"));
  CHECK_FALSE(broker.Completed("a"));  // a second reply for the same request
  broker.DispatchQueued();
  REQUIRE(owner.sent.size() == 2);
  CHECK(owner.sent[1].second == "b");
  CHECK(owner.answered.empty());
}

TEST_CASE("broker: a duplicate key is dropped while the first is held", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(), owner.Handlers());
  broker.workers().Heard("w1", 5, 0);
  CHECK(broker.Submit("a", Request("a", true)));
  CHECK_FALSE(broker.Submit("a", Request("a", true)));
  CHECK(owner.sent.size() == 1);
  CHECK(broker.held() == 1);
}

TEST_CASE("broker: requests queue in order until a worker joins, within bounds", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(2, 1000), owner.Handlers());
  broker.Submit("a", Request("a", true, 0));
  broker.Submit("b", Request("b", false, 100));
  broker.Submit("c", Request("c", true, 200));  // the queue holds 2
  CHECK(owner.answered == std::map<std::string, int>{{"c", 503}});
  broker.workers().Heard("w1", 10, 300);
  broker.DispatchQueued();
  REQUIRE(owner.sent.size() == 2);
  CHECK(owner.sent[0].second == "a");
  CHECK(owner.sent[1].second == "b");
}

TEST_CASE("broker: a request that waits longer than the queue timeout gets 503", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(10, 1000), owner.Handlers());
  broker.Submit("old", Request("old", true, 0));
  broker.Submit("new", Request("new", true, 900));
  broker.Sweep(1000);
  CHECK(owner.answered == std::map<std::string, int>{{"old", 503}});
  CHECK(broker.held() == 1);
  broker.workers().Heard("w1", 1, 1000);
  broker.Sweep(1001);
  REQUIRE(owner.sent.size() == 1);
  CHECK(owner.sent[0].second == "new");
}

TEST_CASE("broker: a lost worker's idempotent requests go first to another worker, the others get 502",
          "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(), owner.Handlers());
  broker.workers().Heard("w1", 3, 0);
  broker.Submit("get-1", Request("get-1", true, 10));
  broker.Submit("post", Request("post", false, 20));
  broker.Submit("get-2", Request("get-2", true, 30));
  broker.Submit("later", Request("later", true, 40));  // w1 is full: queued
  REQUIRE(owner.sent.size() == 3);
  broker.workers().Heard("w2", 3, 50);
  broker.WorkerLost("w1", "test");
  CHECK(owner.lost == std::vector<std::string>{"w1"});
  CHECK(owner.answered == std::map<std::string, int>{{"post", 502}});
  broker.DispatchQueued();
  REQUIRE(owner.sent.size() == 6);
  CHECK(owner.sent[3] == std::make_pair(std::string("w2"), std::string("get-1")));
  CHECK(owner.sent[4] == std::make_pair(std::string("w2"), std::string("get-2")));
  CHECK(owner.sent[5] == std::make_pair(std::string("w2"), std::string("later")));
  CHECK(broker.Completed("get-1"));
  CHECK(broker.workers().Find("w2")->outstanding == 2);
}

TEST_CASE("broker: an unreachable worker is dropped and the request goes to the next one", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(), owner.Handlers());
  broker.workers().Heard("gone", 5, 0);
  broker.workers().Heard("w2", 5, 0);
  owner.handoff["gone"] = Handoff::kUnreachable;
  broker.Submit("a", Request("a", false));
  REQUIRE(owner.sent.size() == 1);
  CHECK(owner.sent[0].second == "a");
  CHECK(owner.sent[0].first == "w2");
  CHECK(owner.lost == std::vector<std::string>{"gone"});
  CHECK(broker.workers().size() == 1);
}

TEST_CASE("broker: a busy worker's pipe keeps the request queued", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(), owner.Handlers());
  broker.workers().Heard("w1", 5, 0);
  owner.handoff["w1"] = Handoff::kBusy;
  broker.Submit("a", Request("a", true));
  CHECK(broker.queued() == 1);
  owner.handoff.clear();
  broker.DispatchQueued();
  CHECK(owner.sent.size() == 1);
  CHECK(broker.queued() == 0);
}

TEST_CASE("broker: silent workers expire, and a request never answered is forgotten", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, {10, 1000, 5000}, owner.Handlers());
  broker.workers().Heard("w1", 1, 0);
  broker.workers().Heard("w2", 1, 0);
  broker.Submit("a", Request("a", false, 0));
  std::string holder = owner.sent.at(0).first;
  std::string other = holder == "w1" ? "w2" : "w1";
  broker.workers().Heard(holder, -1, 4000);
  broker.Sweep(4000);  // `other` was last heard at 0: expired
  CHECK(owner.lost == std::vector<std::string>{other});
  broker.workers().Heard(holder, -1, 5500);
  broker.Sweep(5500);  // "a" is older than forget_after_ms: its credit comes back
  CHECK(broker.held() == 0);
  CHECK(broker.workers().Find(holder)->outstanding == 0);
  CHECK(owner.answered.empty());
}

TEST_CASE("broker: a READY with a new incarnation is a restarted worker holding none of the old requests",
          "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(), owner.Handlers());
  CHECK(broker.WorkerReady("w1", 5, "first", 0));
  broker.Submit("get", Request("get", true, 10));
  broker.Submit("post", Request("post", false, 20));
  // The same process reconnecting (Paranoid Pirate): its requests stay with it.
  CHECK_FALSE(broker.WorkerReady("w1", 5, "first", 30));
  CHECK(owner.lost.empty());
  CHECK(broker.workers().Find("w1")->outstanding == 2);
  // Killed and started again under the same name.
  CHECK(broker.WorkerReady("w1", 5, "second", 40));
  CHECK(owner.lost == std::vector<std::string>{"w1"});
  CHECK(owner.answered == std::map<std::string, int>{{"post", 502}});
  broker.DispatchQueued();
  REQUIRE(owner.sent.size() == 3);
  CHECK(owner.sent[2] == std::make_pair(std::string("w1"), std::string("get")));
  CHECK(broker.workers().Find("w1")->outstanding == 1);
}

TEST_CASE("broker: a worker first heard by its heartbeat adopts the incarnation of its next READY", "[broker]") {
  Owner owner;
  RequestBroker broker(kExpiryMs, Limits(), owner.Handlers());
  broker.workers().Heard("w1", 5, 0);  // the broker restarted; the worker's HB came first
  broker.Submit("get", Request("get", true, 10));
  CHECK_FALSE(broker.WorkerReady("w1", 5, "first", 20));
  CHECK(owner.lost.empty());
  CHECK(broker.workers().Find("w1")->outstanding == 1);
}
