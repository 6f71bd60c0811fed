#include "frontend/ramp_lease.h"

#include <algorithm>

namespace upmesh::frontend {

void RampLease::Follow(const std::string& uuid, uint64_t length) {
  length_ = length;
  if (uuid == uuid_) return;
  uuid_ = uuid;
  last_ = 0;
  blocks_.clear();
  last_grant_ = 1;
  demand_ = false;
  asked_ = false;
  retry_at_ms_ = 0;
}

uint64_t RampLease::Take() {
  uint64_t position = last_;
  (void)TryTake(&position);
  return position;
}

bool RampLease::TryTake(uint64_t* position) {
  demand_ = true;
  while (!blocks_.empty() && blocks_.front().next >= blocks_.front().end) blocks_.pop_front();
  if (blocks_.empty()) return false;
  last_ = blocks_.front().next++;
  *position = last_;
  return true;
}

bool RampLease::Starved() const { return !uuid_.empty() && remaining() == 0 && last_ < length_; }

uint64_t RampLease::remaining() const {
  uint64_t left = 0;
  for (const Block& block : blocks_) left += block.end - block.next;
  return left;
}

void RampLease::OnGrant(const std::string& uuid, uint64_t first, uint64_t count, int64_t now_ms) {
  if (uuid.empty() || uuid != uuid_) return;
  asked_ = false;
  if (count == 0) {
    retry_at_ms_ = now_ms + kRetryMs;
    if (remaining() == 0) last_ = std::max(last_, first);
    return;
  }
  last_grant_ = count;
  uint64_t start = std::max(first + 1, last_ + 1);
  uint64_t end = first + count + 1;
  if (!blocks_.empty()) start = std::max(start, blocks_.back().end);
  if (start < end) blocks_.push_back({start, end});
}

bool RampLease::AskDue(int64_t now_ms) {
  if (uuid_.empty() || !demand_ || now_ms < retry_at_ms_) return false;
  if (asked_ && now_ms - asked_at_ms_ < kAnswerWaitMs) return false;
  uint64_t left = remaining();
  uint64_t leased_to = blocks_.empty() ? last_ : blocks_.back().end - 1;
  if (leased_to >= length_) return false;  // the leased positions reach 100 %
  if (left * 2 > last_grant_) return false;
  asked_ = true;
  asked_at_ms_ = now_ms;
  return true;
}

}  // namespace upmesh::frontend
