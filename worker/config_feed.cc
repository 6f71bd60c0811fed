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
  std::vector<zmq::message_t> frames;
  while (subscriber_.Receive(&frames)) {
    if (follower_.OnBroadcast(frames, *now_ms_)) on_change_();
  }
}

void ConfigFeed::OnSnapshot(std::vector<zmq::message_t>& frames) {
  if (follower_.OnSnapshot(frames)) on_change_();
}

void ConfigFeed::Tick() {
  if (!follower_.SnapshotDue(*now_ms_)) return;
  zmq::message_t frames[2] = {Frame(wire::kSignature), Frame(wire::kSnapshotRequest)};
  if (!link_->Send(frames, 2)) follower_.SnapshotRefused(*now_ms_);  // not connected yet
}

}  // namespace upmesh::worker
