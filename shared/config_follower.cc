#include "shared/config_follower.h"

#include <cstdlib>
#include <string>

#include "shared/json_parse.h"
#include "shared/log.h"
#include "shared/wire.h"

namespace upmesh {
namespace {

std::string_view View(const zmq::message_t& message) {
  return std::string_view(static_cast<const char*>(message.data()), message.size());
}

unsigned long long SeqOf(const zmq::message_t& frame) {
  return std::strtoull(std::string(View(frame)).c_str(), nullptr, 10);
}

}  // namespace

bool ConfigFollower::OnBroadcast(const std::vector<zmq::message_t>& frames, int64_t now_ms) {
  heard_ms_ = now_ms;
  if (frames.size() < 3 || View(frames[0]) != wire::kSignature) return false;
  std::string_view command = View(frames[1]);
  unsigned long long seq = SeqOf(frames[2]);
  if (command == wire::kPublisherHeartbeat) {
    if (replica_.loaded() && seq != replica_.seq()) {
      LOG_INFO("config seq %llu announced, ours is %llu: fetching a snapshot", seq,
               static_cast<unsigned long long>(replica_.seq()));
      WantSnapshot(now_ms);
    }
    return false;
  }
  if (command != wire::kUpdate || frames.size() != 4) return false;
  nlohmann::json change;
  if (Status parsed = ParseJson(View(frames[3]), wire::kClusterFrameLimits, &change); !parsed.ok()) {
    LOG_WARN("config update %llu is not valid JSON (%s): fetching a snapshot", seq, parsed.message().c_str());
    WantSnapshot(now_ms);
    return false;
  }
  std::string error;
  switch (replica_.ApplyUpdate(seq, change, &error)) {
    case ClusterReplica::UpdateResult::kApplied:
      LOG_INFO("config seq %llu applied: %zu cluster version(s)", seq, replica_.table().clusters().size());
      return true;
    case ClusterReplica::UpdateResult::kStale:
      return false;
    case ClusterReplica::UpdateResult::kGap:
      if (replica_.loaded()) LOG_INFO("config update %llu after a gap: fetching a snapshot", seq);
      WantSnapshot(now_ms);
      return false;
    case ClusterReplica::UpdateResult::kInvalid:
      LOG_WARN("config update %llu not understood (%s): fetching a snapshot", seq, error.c_str());
      WantSnapshot(now_ms);
      return false;
  }
  return false;
}

bool ConfigFollower::OnSnapshot(const std::vector<zmq::message_t>& frames) {
  if (frames.size() != 4) {
    LOG_WARN("dropped a malformed SNAPSHOT (%zu frames)", frames.size());
    return false;
  }
  unsigned long long seq = SeqOf(frames[2]);
  nlohmann::json clusters;
  Status status = ParseJson(View(frames[3]), wire::kClusterFrameLimits, &clusters);
  if (status.ok()) status = replica_.ApplySnapshot(seq, clusters);
  if (!status.ok()) {
    LOG_ERROR("snapshot from the router not understood: %s", status.message().c_str());
    return false;
  }
  wanted_ = false;
  LOG_INFO("config snapshot seq %llu: %zu cluster version(s)", seq, replica_.table().clusters().size());
  return true;
}

void ConfigFollower::WantSnapshot(int64_t now_ms) {
  if (wanted_) return;
  wanted_ = true;
  next_request_ms_ = now_ms;
}

bool ConfigFollower::SnapshotDue(int64_t now_ms) {
  // The publisher heartbeats; silence means we may be missing updates.
  if (!wanted_ && now_ms - heard_ms_ > kPublisherSilenceMs) {
    LOG_WARN("no config broadcast for %lld ms: fetching a snapshot", static_cast<long long>(now_ms - heard_ms_));
    heard_ms_ = now_ms;
    WantSnapshot(now_ms);
  }
  if (!wanted_ || now_ms < next_request_ms_) return false;
  next_request_ms_ = now_ms + kSnapshotRetryMs;
  return true;
}

int64_t ConfigFollower::next_snapshot_ms() const {
  return wanted_ ? next_request_ms_ : heard_ms_ + kPublisherSilenceMs + 1;
}

}  // namespace upmesh
