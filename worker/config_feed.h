// ConfigFeed: the worker's copy of the router's cluster table, kept current
// by the zguide's Clone pattern. It wires the shared ConfigFollower (which
// decides when the table must be fetched whole) to the worker's sockets: the
// config broadcast's SUB socket (ConfigSubscriber) and the PirateLink, on
// which SNAPSHOT? goes out and SNAPSHOT comes back. Every time the table
// changes, `on_change` runs.
//
// The subscriber's ZMQ_FD sits in the worker's epoll set with data.ptr ==
// nullptr: the loop calls ReceiveUpdates() before every epoll_wait. Time is
// the loop's, read from `now_ms`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "shared/cluster_replica.h"
#include "shared/config_follower.h"
#include "shared/config_subscriber.h"
#include "shared/curve.h"
#include "shared/status.h"
#include "worker/pirate_link.h"

namespace upmesh::worker {

class ConfigFeed {
 public:
  ConfigFeed(zmq::context_t* context, std::string config_endpoint, const CurveClientKeys& curve, PirateLink* link,
             const int64_t* now_ms, std::function<void()> on_change);

  Status Open(int epoll_fd);

  // Applies every broadcast message waiting.
  void ReceiveUpdates();
  // A SNAPSHOT message from the router: [UPM1][SNAPSHOT][seq][clusters].
  void OnSnapshot(const Frames& frames);
  // The router may have restarted, or a request is stamped newer than the table.
  void WantSnapshot() { follower_.WantSnapshot(*now_ms_); }
  // Sends SNAPSHOT? when one is wanted and due (ConfigFollower's rules).
  void Tick();
  // When Tick() next has something to do.
  int64_t next_request_ms() const { return follower_.next_snapshot_ms(); }

  const ClusterReplica& replica() const { return follower_.replica(); }
  // May a request stamped with config `seq` be routed by the table?
  bool Covers(uint64_t seq) const { return follower_.loaded() && seq <= follower_.seq(); }
  // The seq of the table routed by (0 before the first snapshot).
  uint64_t seq() const { return follower_.seq(); }

 private:
  ConfigSubscriber subscriber_;
  ConfigFollower follower_;
  PirateLink* const link_;
  const int64_t* const now_ms_;
  const std::function<void()> on_change_;
};

}  // namespace upmesh::worker
