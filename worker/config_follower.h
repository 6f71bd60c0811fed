// ConfigFollower: the worker's replica of the router's cluster table, kept
// current by the zguide's Clone pattern. A snapshot comes from the router
// (asked with SNAPSHOT? over the RouterLink, answered with SNAPSHOT), then
// the numbered UPDATEs of the config broadcast (ConfigSubscriber) are
// applied in order. A new snapshot is asked for (every kSnapshotRetryMs
// until one comes) on a gap or an update not understood, on a publisher
// heartbeat (HUGZ) announcing another seq, after kPublisherSilenceMs without
// a word from the publisher, and whenever the worker asks (WantSnapshot:
// the router may have restarted, or a request is stamped newer than the
// replica). Every time the table changes, `on_change` runs.
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

#include "shared/curve.h"
#include "shared/status.h"
#include "worker/cluster_replica.h"
#include "worker/config_subscriber.h"
#include "worker/router_link.h"

namespace upmesh::worker {

class ConfigFollower {
 public:
  static constexpr int64_t kSnapshotRetryMs = 200;
  // The router's publisher heartbeats every heartbeat interval; this much
  // silence means updates may be lost on the way.
  static constexpr int64_t kPublisherSilenceMs = 5000;

  ConfigFollower(zmq::context_t* context, std::string config_endpoint, const CurveClientKeys& curve,
                 RouterLink* link, const int64_t* now_ms, std::function<void()> on_change);

  Status Open(int epoll_fd);

  // Applies every broadcast message waiting.
  void ReceiveUpdates();
  // A SNAPSHOT message from the router: [UPM1][SNAPSHOT][seq][clusters].
  void OnSnapshot(std::vector<zmq::message_t>& frames);
  void WantSnapshot();
  // Asks for a snapshot when one is wanted and due, or when the publisher
  // went silent.
  void Tick();
  // When Tick() next has a request to send (INT64_MAX: none wanted).
  int64_t next_request_ms() const { return snapshot_wanted_ ? next_snapshot_request_ms_ : INT64_MAX; }

  const ClusterReplica& replica() const { return replica_; }
  // May a request stamped with config `seq` be routed by the replica?
  bool Covers(uint64_t seq) const { return replica_.loaded() && seq <= replica_.seq(); }

 private:
  void Applied();

  ConfigSubscriber subscriber_;
  RouterLink* const link_;
  const int64_t* const now_ms_;
  const std::function<void()> on_change_;
  ClusterReplica replica_;
  bool snapshot_wanted_ = true;
  int64_t next_snapshot_request_ms_ = 0;
  int64_t heard_ms_ = 0;  // the last UPDATE or HUGZ
};

}  // namespace upmesh::worker
