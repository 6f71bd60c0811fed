#include "shared/config_follower.h"

#include <cstdlib>
#include <string>

#include "shared/json_parse.h"
#include "shared/log.h"
#include "shared/wire.h"

namespace upmesh {
namespace {

}  // namespace

bool ConfigFollower::OnBroadcast(const Frames& frames, int64_t now_ms) {
  heard_ms_ = now_ms;
  std::string_view command;
  if (!wire::PeekCommand(frames, &command).ok()) return false;
  if (command == wire::PublisherHeartbeat::kCommand) {
    wire::PublisherHeartbeat heartbeat;
    if (Status decoded = wire::PublisherHeartbeat::Decode(frames, &heartbeat); !decoded.ok()) {
      LOG_WARN_THROTTLED("config broadcast: %s", decoded.message().c_str());
      return false;
    }
    if (replica_.loaded() && heartbeat.seq != replica_.seq()) {
      LOG_INFO("config seq %llu announced, ours is %llu: fetching a snapshot",
               static_cast<unsigned long long>(heartbeat.seq), static_cast<unsigned long long>(replica_.seq()));
      WantSnapshot(now_ms);
    }
    return false;
  }
  wire::Update update;
  if (Status decoded = wire::Update::Decode(frames, &update); !decoded.ok()) {
    LOG_WARN_THROTTLED("config broadcast: %s", decoded.message().c_str());
    return false;
  }
  unsigned long long seq = update.seq;
  nlohmann::json change;
  if (Status parsed = ParseJson(update.change_json, wire::kClusterFrameLimits, &change); !parsed.ok()) {
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

bool ConfigFollower::OnSnapshot(const Frames& frames) {
  wire::Snapshot snapshot;
  if (Status decoded = wire::Snapshot::Decode(frames, &snapshot); !decoded.ok()) {
    LOG_WARN("dropped a malformed SNAPSHOT: %s", decoded.message().c_str());
    return false;
  }
  unsigned long long seq = snapshot.seq;
  nlohmann::json clusters;
  Status status = ParseJson(snapshot.clusters_json, wire::kClusterFrameLimits, &clusters);
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
