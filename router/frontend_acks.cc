#include "router/frontend_acks.h"

#include <algorithm>

namespace upmesh::router {

void FrontendAcks::Heard(const std::string& frontend_id, uint64_t seq, int64_t now_ms) {
  Frontend& frontend = frontends_[frontend_id];
  frontend.acked = seq;
  frontend.heard_ms = now_ms;
}

void FrontendAcks::Changed(uint64_t seq, int64_t now_ms) {
  if (!waits_.empty() && waits_.back().seq >= seq) return;
  waits_.push_back({seq, now_ms + ack_wait_ms_});
}

uint64_t FrontendAcks::Released(uint64_t current, int64_t now_ms, std::vector<std::string>* dropped) {
  while (!waits_.empty()) {
    const Wait& wait = waits_.front();
    bool all_acked = true;
    for (const auto& [id, frontend] : frontends_) all_acked = all_acked && frontend.acked >= wait.seq;
    if (!all_acked && now_ms < wait.deadline_ms) break;
    if (!all_acked) {
      for (auto it = frontends_.begin(); it != frontends_.end();) {
        if (it->second.acked < wait.seq) {
          dropped->push_back(it->first);
          it = frontends_.erase(it);
        } else {
          ++it;
        }
      }
    }
    waits_.pop_front();
  }
  return waits_.empty() ? current : waits_.front().seq - 1;
}

std::vector<std::string> FrontendAcks::Expire(int64_t now_ms) {
  std::vector<std::string> expired;
  for (auto it = frontends_.begin(); it != frontends_.end();) {
    if (now_ms - it->second.heard_ms >= liveness_ms_) {
      expired.push_back(it->first);
      it = frontends_.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

int64_t FrontendAcks::next_deadline_ms() const { return waits_.empty() ? INT64_MAX : waits_.front().deadline_ms; }

std::map<std::string, uint64_t> FrontendAcks::AckedSeqs() const {
  std::map<std::string, uint64_t> seqs;
  for (const auto& [id, frontend] : frontends_) seqs[id] = frontend.acked;
  return seqs;
}

}  // namespace upmesh::router
