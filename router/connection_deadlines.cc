#include "router/connection_deadlines.h"

#include <limits>

namespace upmesh::router {
namespace {

// Waiting for a request (new, slow or idle) goes first, then unread answers,
// then closing ones, and last a request being answered.
int EvictionRank(ConnectionDeadlines::Phase phase) {
  switch (phase) {
    case ConnectionDeadlines::Phase::kRequest:
    case ConnectionDeadlines::Phase::kIdle: return 0;
    case ConnectionDeadlines::Phase::kSending: return 1;
    case ConnectionDeadlines::Phase::kClosing: return 2;
    case ConnectionDeadlines::Phase::kAnswering: return 3;
  }
  return 3;
}

}  // namespace

const char* PhaseName(ConnectionDeadlines::Phase phase) {
  switch (phase) {
    case ConnectionDeadlines::Phase::kRequest: return "request incomplete";
    case ConnectionDeadlines::Phase::kIdle: return "idle keep-alive";
    case ConnectionDeadlines::Phase::kAnswering: return "being answered";
    case ConnectionDeadlines::Phase::kSending: return "answer unread";
    case ConnectionDeadlines::Phase::kClosing: return "closing";
  }
  return "?";
}

bool ConnectionDeadlines::Admit(const std::string& id, int64_t now, Victim* victim) {
  bool evicted = false;
  if (!Contains(id) && entries_.size() >= settings_.max_connections && !by_eviction_.empty()) {
    const EvictionKey& oldest = *by_eviction_.begin();
    victim->id = std::get<2>(oldest);
    victim->phase = entries_.at(victim->id).phase;
    victim->waited_ms = now - std::get<1>(oldest);
    Forget(victim->id);
    evicted = true;
  }
  Set(id, Phase::kRequest, now + settings_.request_timeout_ms, now);
  return evicted;
}

void ConnectionDeadlines::RequestBegan(const std::string& id, int64_t now) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.phase != Phase::kIdle) return;
  // Still waiting for a complete request since the last answer: keep its place in the eviction order.
  Set(id, Phase::kRequest, now + settings_.request_timeout_ms, it->second.since);
}

void ConnectionDeadlines::Answered(const std::string& id, int64_t now) {
  if (Contains(id)) Set(id, Phase::kIdle, now + settings_.idle_timeout_ms, now);
}

void ConnectionDeadlines::Answering(const std::string& id) {
  auto it = entries_.find(id);
  if (it != entries_.end()) Set(id, Phase::kAnswering, std::numeric_limits<int64_t>::max(), it->second.since);
}

void ConnectionDeadlines::Blocked(const std::string& id, int64_t now) {
  if (Contains(id)) Set(id, Phase::kSending, now + settings_.request_timeout_ms, now);
}

void ConnectionDeadlines::Closing(const std::string& id, int64_t now) {
  if (Contains(id)) Set(id, Phase::kClosing, now + settings_.linger_ms, now);
}

void ConnectionDeadlines::Forget(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Unindex(id, it->second);
  entries_.erase(it);
}

std::vector<std::pair<std::string, ConnectionDeadlines::Phase>> ConnectionDeadlines::Expired(int64_t now) const {
  std::vector<std::pair<std::string, Phase>> expired;
  for (const auto& [deadline, id] : by_deadline_) {
    if (deadline > now) break;
    expired.emplace_back(id, entries_.at(id).phase);
  }
  return expired;
}

void ConnectionDeadlines::Set(const std::string& id, Phase phase, int64_t deadline, int64_t since) {
  auto it = entries_.find(id);
  if (it != entries_.end()) Unindex(id, it->second);
  Entry& entry = entries_[id];
  entry = {phase, deadline, since};
  by_deadline_.emplace(deadline, id);
  by_eviction_.emplace(EvictionRank(phase), since, id);
}

void ConnectionDeadlines::Unindex(const std::string& id, const Entry& entry) {
  by_deadline_.erase({entry.deadline, id});
  by_eviction_.erase({EvictionRank(entry.phase), entry.since, id});
}

}  // namespace upmesh::router
