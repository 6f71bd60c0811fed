#include "worker/config_follower.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "shared/json_parse.h"
#include "shared/log.h"
#include "shared/wire.h"
#include "shared/zmq_frame.h"

namespace upmesh::worker {
namespace {

uint64_t SeqOf(const zmq::message_t& frame) { return std::strtoull(std::string(View(frame)).c_str(), nullptr, 10); }

}  // namespace

ConfigFollower::ConfigFollower(zmq::context_t* context, std::string config_endpoint, const CurveClientKeys& curve,
                               RouterLink* link, const int64_t* now_ms, std::function<void()> on_change)
    : subscriber_(context, std::move(config_endpoint), curve),
      link_(link),
      now_ms_(now_ms),
      on_change_(std::move(on_change)) {}

Status ConfigFollower::Open(int epoll_fd) {
  heard_ms_ = *now_ms_;
  return subscriber_.Open(epoll_fd);
}

void ConfigFollower::ReceiveUpdates() {
  std::vector<zmq::message_t> frames;
  while (subscriber_.Receive(&frames)) {
    heard_ms_ = *now_ms_;
    if (frames.size() < 3 || View(frames[0]) != wire::kSignature) continue;
    std::string_view command = View(frames[1]);
    uint64_t seq = SeqOf(frames[2]);
    if (command == wire::kPublisherHeartbeat) {
      if (replica_.loaded() && seq != replica_.seq()) {
        LOG_INFO("config seq %llu announced, ours is %llu: fetching a snapshot",
                 static_cast<unsigned long long>(seq), static_cast<unsigned long long>(replica_.seq()));
        WantSnapshot();
      }
      continue;
    }
    if (command != wire::kUpdate || frames.size() != 4) continue;
    nlohmann::json change;
    std::string error;
    if (Status parsed = ParseJson(View(frames[3]), wire::kClusterFrameLimits, &change); !parsed.ok()) {
      LOG_WARN("config update %llu is not valid JSON (%s): fetching a snapshot", static_cast<unsigned long long>(seq),
               parsed.message().c_str());
      WantSnapshot();
      continue;
    }
    switch (replica_.ApplyUpdate(seq, change, &error)) {
      case ClusterReplica::UpdateResult::kApplied:
        LOG_INFO("config seq %llu applied: %zu cluster version(s)", static_cast<unsigned long long>(seq),
                 replica_.table().clusters().size());
        on_change_();
        break;
      case ClusterReplica::UpdateResult::kStale:
        break;
      case ClusterReplica::UpdateResult::kGap:
        if (replica_.loaded()) {
          LOG_INFO("config update %llu after a gap: fetching a snapshot", static_cast<unsigned long long>(seq));
        }
        WantSnapshot();
        break;
      case ClusterReplica::UpdateResult::kInvalid:
        LOG_WARN("config update %llu not understood (%s): fetching a snapshot", static_cast<unsigned long long>(seq),
                 error.c_str());
        WantSnapshot();
        break;
    }
  }
}

void ConfigFollower::OnSnapshot(std::vector<zmq::message_t>& frames) {
  if (frames.size() != 4) {
    LOG_WARN("dropped a malformed SNAPSHOT (%zu frames)", frames.size());
    return;
  }
  uint64_t seq = SeqOf(frames[2]);
  nlohmann::json clusters;
  Status status = ParseJson(View(frames[3]), wire::kClusterFrameLimits, &clusters);
  if (status.ok()) status = replica_.ApplySnapshot(seq, clusters);
  if (!status.ok()) {
    LOG_ERROR("snapshot from the router not understood: %s", status.message().c_str());
    return;
  }
  snapshot_wanted_ = false;
  LOG_INFO("config snapshot seq %llu: %zu cluster version(s)", static_cast<unsigned long long>(seq),
           replica_.table().clusters().size());
  on_change_();
}

void ConfigFollower::WantSnapshot() {
  if (snapshot_wanted_) return;
  snapshot_wanted_ = true;
  next_snapshot_request_ms_ = *now_ms_;
}

void ConfigFollower::Tick() {
  int64_t now_ms = *now_ms_;
  if (!snapshot_wanted_ && now_ms - heard_ms_ > kPublisherSilenceMs) {
    LOG_WARN("no config broadcast for %lld ms: fetching a snapshot", static_cast<long long>(now_ms - heard_ms_));
    heard_ms_ = now_ms;
    WantSnapshot();
  }
  if (!snapshot_wanted_ || now_ms < next_snapshot_request_ms_) return;
  zmq::message_t frames[2] = {Frame(wire::kSignature), Frame(wire::kSnapshotRequest)};
  link_->Send(frames, 2);  // refused while not connected: asked again below
  next_snapshot_request_ms_ = now_ms + kSnapshotRetryMs;
}

}  // namespace upmesh::worker
