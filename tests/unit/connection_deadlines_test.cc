#include <catch2/catch.hpp>

#include "router/connection_deadlines.h"

using upmesh::router::ConnectionDeadlines;
using Phase = ConnectionDeadlines::Phase;

namespace {

ConnectionDeadlines::Settings Small(size_t max_connections = 3) {
  ConnectionDeadlines::Settings settings;
  settings.request_timeout_ms = 10000;
  settings.idle_timeout_ms = 2000;
  settings.linger_ms = 1000;
  settings.max_connections = max_connections;
  return settings;
}

std::vector<std::string> ExpiredIds(const ConnectionDeadlines& deadlines, int64_t now) {
  std::vector<std::string> ids;
  for (const auto& [id, phase] : deadlines.Expired(now)) ids.push_back(id);
  return ids;
}

}  // namespace

TEST_CASE("ConnectionDeadlines: a new connection has the request timeout from its connect") {
  ConnectionDeadlines deadlines(Small());
  ConnectionDeadlines::Victim victim;
  REQUIRE_FALSE(deadlines.Admit("a", 1000, &victim));
  CHECK(deadlines.PhaseOf("a") == Phase::kRequest);
  CHECK(deadlines.Expired(10999).empty());
  auto expired = deadlines.Expired(11000);
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].first == "a");
  CHECK(expired[0].second == Phase::kRequest);
}

TEST_CASE("ConnectionDeadlines: bytes trickling in do not extend the request deadline") {
  ConnectionDeadlines deadlines(Small());
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("slow", 0, &victim);
  // RequestBegan only acts on an idle connection: a slowloris in kRequest keeps its deadline.
  for (int64_t t = 1000; t < 10000; t += 1000) deadlines.RequestBegan("slow", t);
  CHECK(ExpiredIds(deadlines, 10000) == std::vector<std::string>{"slow"});
}

TEST_CASE("ConnectionDeadlines: keep-alive idles for the idle timeout, then a request gets the request timeout") {
  ConnectionDeadlines deadlines(Small());
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("a", 0, &victim);
  deadlines.Answered("a", 500);
  CHECK(deadlines.PhaseOf("a") == Phase::kIdle);
  CHECK(deadlines.Expired(2499).empty());
  CHECK(ExpiredIds(deadlines, 2500) == std::vector<std::string>{"a"});
  deadlines.RequestBegan("a", 1500);
  CHECK(deadlines.PhaseOf("a") == Phase::kRequest);
  CHECK(deadlines.Expired(11499).empty());
  CHECK(ExpiredIds(deadlines, 11500) == std::vector<std::string>{"a"});
}

TEST_CASE("ConnectionDeadlines: an unread answer has the request timeout, a closing one the linger") {
  ConnectionDeadlines deadlines(Small());
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("reader", 0, &victim);
  deadlines.Admit("done", 0, &victim);
  deadlines.Blocked("reader", 100);
  deadlines.Closing("done", 200);
  CHECK(deadlines.PhaseOf("reader") == Phase::kSending);
  CHECK(ExpiredIds(deadlines, 1200) == std::vector<std::string>{"done"});
  auto expired = deadlines.Expired(10100);
  REQUIRE(expired.size() == 2);
  CHECK(expired[1].first == "reader");
  CHECK(expired[1].second == Phase::kSending);
}

TEST_CASE("ConnectionDeadlines: Expired lists earliest first and Forget removes") {
  ConnectionDeadlines deadlines(Small());
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("late", 300, &victim);
  deadlines.Admit("early", 100, &victim);
  deadlines.Admit("gone", 200, &victim);
  deadlines.Forget("gone");
  deadlines.Forget("never-there");
  CHECK(deadlines.size() == 2);
  CHECK(ExpiredIds(deadlines, 20000) == std::vector<std::string>{"early", "late"});
}

TEST_CASE("ConnectionDeadlines: at the cap the one waiting longest without a complete request makes room") {
  ConnectionDeadlines deadlines(Small(3));
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("slowloris", 0, &victim);  // never completes a request
  deadlines.Admit("keepalive", 100, &victim);
  deadlines.Admit("answered-late", 200, &victim);
  deadlines.Answered("keepalive", 300);       // waiting since 300
  deadlines.Answered("answered-late", 400);   // waiting since 400
  REQUIRE(deadlines.Admit("operator", 1000, &victim));
  CHECK(victim.id == "slowloris");
  CHECK(victim.phase == Phase::kRequest);
  CHECK(victim.waited_ms == 1000);
  CHECK_FALSE(deadlines.Contains("slowloris"));
  CHECK(deadlines.Contains("operator"));
  CHECK(deadlines.size() == 3);
  // Next: the idle keep-alive connection answered longest ago, not the newcomer.
  REQUIRE(deadlines.Admit("another", 1100, &victim));
  CHECK(victim.id == "keepalive");
  CHECK(victim.phase == Phase::kIdle);
  CHECK(victim.waited_ms == 800);
}

TEST_CASE("ConnectionDeadlines: a request begun after an idle spell keeps its place in the eviction order") {
  ConnectionDeadlines deadlines(Small(2));
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("old-idle", 0, &victim);
  deadlines.Answered("old-idle", 10);
  deadlines.Admit("fresh", 500, &victim);
  deadlines.RequestBegan("old-idle", 900);  // starts a request but has been waiting since 10
  REQUIRE(deadlines.Admit("newcomer", 1000, &victim));
  CHECK(victim.id == "old-idle");
  CHECK(victim.waited_ms == 990);
}

TEST_CASE("ConnectionDeadlines: unread answers go after waiters, closing ones last; a newcomer always gets in") {
  ConnectionDeadlines deadlines(Small(2));
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("closing", 0, &victim);
  deadlines.Admit("unread", 10, &victim);
  deadlines.Closing("closing", 20);
  deadlines.Blocked("unread", 30);
  REQUIRE(deadlines.Admit("first", 100, &victim));
  CHECK(victim.id == "unread");
  CHECK(victim.phase == Phase::kSending);
  // "first" waits for its request: it goes before the closing one.
  REQUIRE(deadlines.Admit("second", 200, &victim));
  CHECK(victim.id == "first");
  REQUIRE(deadlines.Admit("third", 300, &victim));
  CHECK(victim.id == "second");
  deadlines.Closing("third", 310);
  REQUIRE(deadlines.Admit("fourth", 400, &victim));
  CHECK(victim.id == "closing");
  CHECK(deadlines.size() == 2);
}

TEST_CASE("ConnectionDeadlines: below the cap nobody is evicted, and a known id is not admitted twice") {
  ConnectionDeadlines deadlines(Small(2));
  ConnectionDeadlines::Victim victim;
  CHECK_FALSE(deadlines.Admit("a", 0, &victim));
  CHECK_FALSE(deadlines.Admit("b", 0, &victim));
  CHECK_FALSE(deadlines.Admit("b", 5, &victim));  // the same id again: reset, not a newcomer
  CHECK(deadlines.size() == 2);
  CHECK(ExpiredIds(deadlines, 10000) == std::vector<std::string>{"a"});
}

TEST_CASE("ConnectionDeadlines: a request being answered has no deadline and is evicted last") {
  ConnectionDeadlines deadlines(Small(2));
  ConnectionDeadlines::Victim victim;
  deadlines.Admit("answering", 0, &victim);
  deadlines.Answering("answering");
  CHECK(deadlines.PhaseOf("answering") == Phase::kAnswering);
  deadlines.Admit("closing", 10, &victim);
  deadlines.Closing("closing", 20);
  CHECK(ExpiredIds(deadlines, 1'000'000'000) == std::vector<std::string>{"closing"});
  REQUIRE(deadlines.Admit("newcomer", 100, &victim));
  CHECK(victim.id == "closing");
  deadlines.Answered("newcomer", 110);
  deadlines.Blocked("newcomer", 120);
  REQUIRE(deadlines.Admit("another", 200, &victim));
  CHECK(victim.id == "newcomer");
  deadlines.Closing("another", 210);
  REQUIRE(deadlines.Admit("last", 300, &victim));
  CHECK(victim.id == "another");
  deadlines.Answering("last");
  REQUIRE(deadlines.Admit("one-more", 400, &victim));
  CHECK(victim.id == "answering");  // both being answered: the one waiting longer goes
  deadlines.Answered("last", 500);
  CHECK(deadlines.PhaseOf("last") == Phase::kIdle);
}
