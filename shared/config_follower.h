// ConfigFollower: the client side of the zguide's Clone pattern, shared by
// workers and frontends. It owns the ClusterReplica and decides when the
// replica must be fetched whole again; the caller owns the sockets (the SUB
// socket of the broadcast and the DEALER link that carries SNAPSHOT? and
// SNAPSHOT).
//
// A snapshot is wanted at start, after an update that skips ahead (a gap) or
// cannot be read, after a HUGZ that announces another seq, after the
// publisher was silent for kPublisherSilenceMs, and whenever the caller says
// so (its link reconnected, a request carries a newer seq). SnapshotDue()
// then says yes at once and every kSnapshotRetryMs until a snapshot arrives.
// Pure logic: no sockets, times are passed in.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "shared/cluster_replica.h"
#include "shared/zmq_frame.h"

namespace upmesh {

class ConfigFollower {
 public:
  static constexpr int64_t kSnapshotRetryMs = 200;
  static constexpr int64_t kPublisherSilenceMs = 5000;
  static constexpr int64_t kRefusedRetryMs = 20;  // the link refused SNAPSHOT? (not connected yet)

  const ClusterReplica& replica() const { return replica_; }
  uint64_t seq() const { return replica_.seq(); }
  bool loaded() const { return replica_.loaded(); }

  // Starts the publisher-silence clock.
  void Start(int64_t now_ms) { heard_ms_ = now_ms; }
  // One broadcast message [UPM1][UPDATE|HUGZ][seq]...; true when the table changed.
  bool OnBroadcast(const Frames& frames, int64_t now_ms);
  // A SNAPSHOT answer [UPM1][SNAPSHOT][seq][clusters-json]; true when applied.
  bool OnSnapshot(const Frames& frames);
  void WantSnapshot(int64_t now_ms);
  // True when SNAPSHOT? should go out now; schedules the next retry.
  bool SnapshotDue(int64_t now_ms);
  // The link refused the SNAPSHOT? SnapshotDue() asked for: ask again soon.
  void SnapshotRefused(int64_t now_ms) { next_request_ms_ = now_ms + kRefusedRetryMs; }
  // When SnapshotDue() may next say yes (INT64_MAX: not wanted).
  int64_t next_snapshot_ms() const;

 private:
  ClusterReplica replica_;
  bool wanted_ = true;
  int64_t next_request_ms_ = 0;
  int64_t heard_ms_ = 0;  // last UPDATE or HUGZ
};

}  // namespace upmesh
