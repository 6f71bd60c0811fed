// ClusterRegistry: the router's authoritative cluster table and everything
// the router knows about it. Pure logic (no sockets), so it is unit-tested
// directly.
//
// It holds:
//   * the ClusterTable (newest first) and the config sequence number `seq`,
//     which grows by one with every change;
//   * the GRADUAL ramp counters: per cluster, the ramp positions leased to
//     frontends while it was the newest version (mesh-wide: every frontend
//     stamps the share of a position it leased, docs/protocol.md);
//   * per-cluster statistics reported by workers (requests served) and
//     CONCURRENT mismatch reports (a count and the last few);
//   * rollbacks: which versions were rolled back and the evidence record of
//     each (the version stays in the table, marked, and gets no traffic);
//   * the GRADUAL ramp's hold: while the monitor has no healthy verdict on
//     the new version the ramp does not advance.
//
// Persistence. The table, seq and the ramp counters live in one JSON state
// file: {"seq": N, "clusters": [stored clusters, each with its "rampHold"
// once held], "gradual": {"<uuid>": R}, "rollbacks": {"<uuid>": record}}
// ("holds": {"<uuid>": {"heldMs": H, "sinceMs": S}} of older builds is read too).
// Every change is written to the file *before* it is applied in memory
// (write to FILE.tmp, fsync, rename over FILE, fsync the directory), so a
// change either survives a crash whole or is not made at all. Statistics and
// mismatch reports are not persisted: they describe the running mesh.
//
// Ramp counters are persisted hi/lo style, so that the hot path does not
// write a file per request and yet a restarted router never hands out a
// smaller share than before: when the count reaches the persisted `reserved`
// value, reserved = count + lease + kRampBlock is written first; after a restart
// the count continues from the reserved value. A ramp whose persistence
// fails stops growing (it never goes backwards) until a write succeeds.
//
// Not thread-safe: the router's single event loop owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/clock.h"
#include "shared/cluster.h"
#include "shared/cluster_limits.h"
#include "shared/status.h"

namespace upmesh::router {

// Writes `text` to `path` atomically: PATH.tmp, fsync, rename, fsync of the
// directory (without the fsyncs when !sync). On failure the old file is
// untouched.
Status WriteFileAtomically(const std::string& path, const std::string& text, bool sync = true);

class ClusterRegistry {
 public:
  static constexpr uint64_t kRampBlock = 1000;   // ramp counts reserved per state-file write
  static constexpr size_t kRecentMismatches = 10;  // mismatch reports kept per cluster

  explicit ClusterRegistry(std::string state_file, ClusterLimits limits = ClusterLimits());

  // Loads the state file if it exists; a corrupt or unreadable one is an
  // error naming the file (and the file is left untouched). Versions in it
  // that are invalid or break `limits` (an older build wrote them) are not
  // loaded: each is logged as an error naming the file and the limit, the
  // file as found is kept as STATE_FILE.refused-<now_wall_ms>, and the state file is
  // rewritten with the versions that fit, newest first, at seq + 1. Otherwise seeds
  // the table with `initial` (may be null: no cluster at all) and writes
  // the file, with seq = now_wall_ms (so seq never goes back, even when a
  // state file is lost). *loaded tells which happened.
  Status Open(const Cluster* initial, int64_t now_wall_ms, bool* loaded);

  const std::string& state_file() const { return state_file_; }
  const ClusterTable& table() const { return table_; }
  uint64_t seq() const { return seq_; }
  const ClusterLimits& limits() const { return limits_; }

  // The table as a SNAPSHOT carries it (stored clusters, compact JSON).
  // Encoded once per seq: workers ask for it on join and after a gap.
  const std::string& SnapshotJson() const;

  // Adds a validated cluster (ParseCluster). Assigns a uuid when it has
  // none, the added order and added_at_ms. Persists, then applies; on error
  // nothing changes. *change receives the broadcast change-json
  // {"op":"put","cluster":{stored}}. Errors: InvalidArgument (the uuid
  // exists, or the table would break limits().max_clusters or
  // max_table_bytes), IoError (the state file).
  Status Put(Cluster cluster, int64_t now_wall_ms, nlohmann::json* change);

  // Removes a cluster. NotFound if there is none; IoError if the state file
  // cannot be written (nothing changes). *change: {"op":"delete","uuid":u}.
  // `uuid` is taken by value: a caller may pass a cluster's own uuid, which
  // the removal destroys.
  Status Remove(std::string uuid, nlohmann::json* change);

  // Marks a version rolled back, keeping `record` (the evidence) with it.
  // Persists, then applies; *change: {"op":"rollback","uuid":u}. NotFound if
  // there is no such version; InvalidArgument if it is rolled back already
  // or is the last version that can serve; IoError (nothing changes).
  Status RollBack(std::string uuid, nlohmann::json record, nlohmann::json* change);  // uuid: as Remove
  // Replaces the evidence record of a rolled-back version (its timeline
  // grew). Written without fsync: the rollback itself is already durable.
  Status UpdateRollbackRecord(const std::string& uuid, nlohmann::json record);
  const nlohmann::json* RollbackRecord(const std::string& uuid) const;

  // Holds (or releases) the newest version's GRADUAL ramp: a held request
  // ramp grants no lease, a held time ramp's clock stops. A change is a new
  // seq (persisted without fsync, then applied) broadcast as *change =
  // {"op":"hold","uuid":u,"heldMs":H,"sinceMs":S}; *change is null when
  // nothing changes. IoError: nothing changes.
  Status SetRampHold(bool hold, int64_t now_wall_ms, nlohmann::json* change);
  // Whether the newest live version's ramp is held.
  bool ramp_held() const;

  // The newest live cluster's GRADUAL share in percent [0, 100]
  // (shared/gradual_ramp.h): by requests at the last position leased; by
  // time from added_at_ms and the hold. 0 when the newest live cluster is not
  // GRADUAL or there is none.
  double GradualShare(int64_t now_wall_ms) const;

  // A frontend's RAMP? for the request ramp of `uuid`: positions first + 1 ..
  // first + count are its own to stamp. count is 0 (nothing granted; first
  // is still the last position leased) unless `uuid` is the newest live
  // version, ramps by requests, is not held and has not reached 100 %;
  // otherwise count = min(wanted, RampLeaseLimit, positions left to 100 %).
  // The reservation is persisted before a lease that passes it is granted;
  // if that write fails nothing is granted for a second.
  struct Lease {
    uint64_t first = 0;
    uint64_t count = 0;
  };
  Lease LeaseRamp(const std::string& uuid, uint64_t wanted, int64_t now_wall_ms);
  // The last position leased for `uuid`'s ramp (0: none).
  uint64_t RampPosition(const std::string& uuid) const;

  // A worker's heartbeat statistics {"served": {"<uuid>": n}}, cumulative
  // since that worker started. Counts of workers that left stay in the
  // totals; a worker whose counts go down has restarted and counts anew.
  // InvalidArgument (nothing recorded) if malformed.
  // Requests the worker has served since it started, by its last HB (0 if none came).
  uint64_t ServedBy(const std::string& worker_id) const;
  Status RecordWorkerStats(const std::string& worker_id, const nlohmann::json& stats);

  // A CONCURRENT mismatch report: a JSON object naming the compared new
  // version as "cluster" (uuid; the newest cluster when absent) plus the
  // differences. Stored with "worker" and "atMs" added. InvalidArgument if
  // not an object or naming an unknown cluster.
  Status RecordMismatch(const std::string& worker_id, const nlohmann::json& report, int64_t now_wall_ms);

  // The live state the API shows next to a cluster: requestsServed, newest,
  // and gradualShare/rampRequests (newest GRADUAL) or mismatches/
  // recentMismatches (CONCURRENT).
  nlohmann::json StateOf(const Cluster& cluster, int64_t now_wall_ms) const;

 private:
  struct Ramp {
    uint64_t count = 0;     // positions leased while this cluster was the newest
    uint64_t reserved = 0;  // persisted in the state file; count <= reserved always
  };
  struct Mismatches {
    uint64_t count = 0;
    std::deque<nlohmann::json> recent;  // oldest first, at most kRecentMismatches
  };

  // The state file's JSON for a table, seq and ramp reservations (with the
  // current rollbacks).
  nlohmann::json StateJson(const ClusterTable& table, uint64_t seq, const std::map<std::string, Ramp>& ramps) const;
  Status Load(const std::string& text, std::vector<std::string>* refused);
  // Keeps the state file as found in STATE_FILE.refused-<now_wall_ms> and
  // persists the loaded table; `refused` says what was left out and why.
  Status SetAsideRefused(const std::string& text, const std::vector<std::string>& refused, int64_t now_wall_ms);
  Status Persist(const ClusterTable& table, uint64_t seq, const std::map<std::string, Ramp>& ramps,
                 bool sync = true);

  std::string state_file_;
  ClusterLimits limits_;
  ClusterTable table_;
  uint64_t seq_ = 0;
  std::map<std::string, Ramp> ramps_;  // by uuid
  int64_t ramp_retry_after_ms_ = 0;    // after a failed ramp reservation write
  std::map<std::string, uint64_t> served_;  // by cluster uuid, mesh-wide
  std::map<std::string, std::map<std::string, uint64_t>> last_worker_stats_;  // worker id -> uuid -> n
  std::map<std::string, Mismatches> mismatches_;  // by cluster uuid
  std::map<std::string, nlohmann::json> rollbacks_;  // evidence by cluster uuid
  mutable std::string snapshot_;  // SnapshotJson() at snapshot_seq_
  mutable uint64_t snapshot_seq_ = 0;
  mutable bool snapshot_valid_ = false;
};

}  // namespace upmesh::router
