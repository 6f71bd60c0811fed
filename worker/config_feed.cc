#include "worker/config_feed.h"

#include <utility>

#include "shared/wire.h"
#include "shared/zmq_frame.h"

namespace upmesh::worker {

ConfigFeed::ConfigFeed(zmq::context_t* context, std::string config_endpoint, const CurveClientKeys& curve,
                       PirateLink* link, const int64_t* now_ms, std::function<void()> on_change)
    : subscriber_(context, std::move(config_endpoint), curve),
      link_(link),
      now_ms_(now_ms),
      on_change_(std::move(on_change)) {}

Status ConfigFeed::Open(int epoll_fd) {
  follower_.Start(*now_ms_);
  return subscriber_.Open(epoll_fd);
}

void ConfigFeed::ReceiveUpdates() {
  Frames frames;
  while (subscriber_.Receive(&frames)) {
    if (follower_.OnBroadcast(frames, *now_ms_)) on_change_();
  }
}

void ConfigFeed::OnSnapshot(const Frames& frames) {
  if (follower_.OnSnapshot(frames)) on_change_();
}

void ConfigFeed::Tick() {
  if (!follower_.SnapshotDue(*now_ms_)) return;
  Frames frames = wire::Encoded(wire::SnapshotRequest{});
  if (!link_->Send(frames)) follower_.SnapshotRefused(*now_ms_);  // not connected yet
}

}  // namespace upmesh::worker
