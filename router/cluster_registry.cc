#include "router/cluster_registry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "shared/gradual_ramp.h"
#include "shared/json_parse.h"
#include "shared/json_reader.h"
#include "shared/log.h"

namespace upmesh::router {
namespace {

using nlohmann::json;

constexpr int64_t kRampRetryMs = 1000;
constexpr size_t kMaxMismatchReportBytes = 8 * 1024;
// An older build may have written a table far over today's limits (the
// issue's attack left 54 MB): such a file must still be read, so that the
// versions that fit can be served. Beyond 256 MiB it is not a state file
// any router wrote.
constexpr JsonLimits kStateFileLimits{256 * 1024 * 1024};

Status ErrnoError(const std::string& what) { return Status::IoError(what + ": " + std::strerror(errno)); }

Status WriteAll(int fd, const std::string& text, const std::string& path) {
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot write " + path);
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Status WriteFileAtomically(const std::string& path, const std::string& text, bool sync) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create " + tmp);
  Status status = WriteAll(fd, text, tmp);
  if (sync && status.ok() && ::fsync(fd) != 0) status = ErrnoError("cannot fsync " + tmp);
  if (::close(fd) != 0 && status.ok()) status = ErrnoError("cannot close " + tmp);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) status = ErrnoError("cannot rename " + tmp + " to " + path);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  if (!sync) return Status::Ok();
  // The rename itself must reach the disk too.
  int dir = ::open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    (void)::fsync(dir);
    ::close(dir);
  }
  return Status::Ok();
}

ClusterRegistry::ClusterRegistry(std::string state_file, ClusterLimits limits)
    : state_file_(std::move(state_file)), limits_(limits) {}

const std::string& ClusterRegistry::SnapshotJson() const {
  if (!snapshot_valid_ || snapshot_seq_ != seq_) {
    snapshot_ = table_.ToStoredJson().dump(-1, ' ', false, json::error_handler_t::replace);
    snapshot_seq_ = seq_;
    snapshot_valid_ = true;
  }
  return snapshot_;
}

Status ClusterRegistry::Open(const Cluster* initial, int64_t now_wall_ms, bool* loaded) {
  *loaded = false;
  struct stat info;
  if (::stat(state_file_.c_str(), &info) == 0) {
    if (info.st_size > static_cast<off_t>(kStateFileLimits.max_bytes)) {
      return Status::InvalidArgument(state_file_ + ": the state file is " + std::to_string(info.st_size) +
                                     " bytes, more than any router reads (" +
                                     std::to_string(kStateFileLimits.max_bytes) + "); move it away to start empty");
    }
    std::ifstream in(state_file_, std::ios::binary);
    if (!S_ISREG(info.st_mode) || !in) return Status::IoError(state_file_ + ": cannot read the state file");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Status::IoError(state_file_ + ": cannot read the state file");
    std::vector<std::string> refused;
    Status status = Load(text, &refused);
    if (!status.ok()) {
      return Status::InvalidArgument(state_file_ + ": corrupt state file (fix or remove it): " + status.message());
    }
    if (!refused.empty()) UPMESH_RETURN_IF_ERROR(SetAsideRefused(text, refused, now_wall_ms));
    *loaded = true;
    return Status::Ok();
  }
  if (errno != ENOENT) return ErrnoError(state_file_ + ": cannot read the state file");
  ClusterTable table;
  if (initial) {
    Cluster cluster = *initial;
    if (cluster.uuid.empty()) cluster.uuid = NewUuid();
    cluster.added_order = 1;
    cluster.added_at_ms = now_wall_ms;
    table.Add(std::move(cluster));
  }
  // A fresh table's seq starts at the wall clock (ms), not 0: if a router
  // ever loses its state file, its seq still moves forward, so workers that
  // hold an older table see a newer stamp and fetch the new one at once.
  uint64_t first_seq = static_cast<uint64_t>(now_wall_ms);
  UPMESH_RETURN_IF_ERROR(Persist(table, first_seq, {}));
  table_ = std::move(table);
  seq_ = first_seq;
  ramps_.clear();
  return Status::Ok();
}

Status ClusterRegistry::SetAsideRefused(const std::string& text, const std::vector<std::string>& refused,
                                        int64_t now_wall_ms) {
  // The file as found is kept whole, so that nothing an operator stored is
  // lost; the state file then holds what this router serves.
  std::string aside = state_file_ + ".refused-" + std::to_string(now_wall_ms);
  for (const std::string& reason : refused) {
    LOG_ERROR("%s: version refused, not loaded (kept in %s): %s", state_file_.c_str(), aside.c_str(), reason.c_str());
  }
  Status saved = WriteFileAtomically(aside, text);
  if (!saved.ok()) {
    return Status::IoError(state_file_ + ": " + std::to_string(refused.size()) +
                           " version(s) break the limits and the file cannot be set aside: " + saved.message());
  }
  // A new seq: workers still holding the table as the file had it at the
  // old seq must fetch this one.
  UPMESH_RETURN_IF_ERROR(Persist(table_, seq_ + 1, ramps_));
  seq_++;
  LOG_WARN("%s: loaded %zu version(s), refused %zu (over the limits or invalid); the original file is %s",
           state_file_.c_str(), table_.clusters().size(), refused.size(), aside.c_str());
  return Status::Ok();
}

namespace {

size_t StoredBytes(const Cluster& cluster) {
  return ClusterToStoredJson(cluster).dump(-1, ' ', false, json::error_handler_t::replace).size();
}

size_t TableBytes(const ClusterTable& table) {
  size_t bytes = 0;
  for (const Cluster& cluster : table.clusters()) bytes += StoredBytes(cluster);
  return bytes;
}

// The stored clusters that are valid and fit `limits`, newest first (the
// versions serving traffic are the ones to keep); each one left out is
// described in *refused.
ClusterTable FittingClusters(const json& stored, const ClusterLimits& limits, std::vector<std::string>* refused) {
  ClusterTable all;
  for (size_t i = 0; i < stored.size(); ++i) {
    Cluster cluster;
    Status status = ClusterFromStoredJson(stored[i], &cluster);
    if (status.ok() && all.Find(cluster.uuid)) status = Status::InvalidArgument("duplicate uuid " + cluster.uuid);
    if (!status.ok()) {
      refused->push_back("clusters[" + std::to_string(i) + "]: " + status.message());
      continue;
    }
    all.Add(std::move(cluster));
  }
  ClusterTable fitting;
  size_t bytes = 0;
  for (const Cluster& cluster : all.clusters()) {
    std::string name = "cluster " + cluster.uuid + ": ";
    size_t size = StoredBytes(cluster);
    if (cluster.servers.size() > limits.max_servers_per_cluster) {
      refused->push_back(name + std::to_string(cluster.servers.size()) + " servers, over configService.maxServersPerCluster (" +
                         std::to_string(limits.max_servers_per_cluster) + ")");
    } else if (fitting.clusters().size() >= limits.max_clusters) {
      refused->push_back(name + "over configService.maxClusters (" + std::to_string(limits.max_clusters) + ")");
    } else if (bytes + size > limits.max_table_bytes) {
      refused->push_back(name + std::to_string(size) + " bytes, over configService.maxTableBytes (" +
                         std::to_string(limits.max_table_bytes) + " for the table)");
    } else {
      bytes += size;
      fitting.Add(cluster);
    }
  }
  return fitting;
}

}  // namespace

Status ClusterRegistry::Load(const std::string& text, std::vector<std::string>* refused) {
  json root;
  UPMESH_RETURN_IF_ERROR(ParseJson(text, kStateFileLimits, &root));
  if (!root.is_object()) return Status::InvalidArgument("the top level must be a JSON object");
  JsonObjectReader reader(root, "");
  const json* seq = reader.Find("seq");
  if (!seq || !seq->is_number_unsigned()) return Status::InvalidArgument("seq: must be a non-negative integer");
  const json* clusters = reader.Find("clusters");
  if (!clusters || !clusters->is_array()) return Status::InvalidArgument("clusters: must be an array");
  ClusterTable table = FittingClusters(*clusters, limits_, refused);
  std::map<std::string, Ramp> ramps;
  if (const json* gradual = reader.Find("gradual")) {
    if (!gradual->is_object()) return Status::InvalidArgument("gradual: must be an object");
    for (auto it = gradual->begin(); it != gradual->end(); ++it) {
      if (!it.value().is_number_unsigned()) {
        return Status::InvalidArgument("gradual." + NameForMessage(it.key()) + ": must be a non-negative integer");
      }
      if (!table.Find(it.key())) continue;  // a ramp of a cluster that is gone
      // hi/lo: continue from the reservation, so the share never goes back.
      uint64_t reserved = it.value().get<uint64_t>();
      ramps[it.key()] = Ramp{reserved, reserved};
    }
  }
  std::map<std::string, json> rollbacks;
  if (const json* stored = reader.Find("rollbacks")) {
    if (!stored->is_object()) return Status::InvalidArgument("rollbacks: must be an object");
    for (auto it = stored->begin(); it != stored->end(); ++it) {
      if (table.Find(it.key())) rollbacks[it.key()] = it.value();
    }
  }
  if (const json* stored = reader.Find("holds")) {
    if (!stored->is_object()) return Status::InvalidArgument("holds: must be an object");
    for (auto it = stored->begin(); it != stored->end(); ++it) {
      const json& hold = it.value();
      if (!hold.is_object() || !hold.value("heldMs", json()).is_number_integer() ||
          !hold.value("sinceMs", json()).is_number_integer()) {
        return Status::InvalidArgument("holds." + NameForMessage(it.key()) + ": must be {\"heldMs\": n, \"sinceMs\": n}");
      }
      // Written by older builds; newer ones keep the hold in the cluster ("rampHold").
      table.SetRampHold(it.key(), RampHold{hold["heldMs"].get<int64_t>(), hold["sinceMs"].get<int64_t>()});
    }
  }
  UPMESH_RETURN_IF_ERROR(reader.CheckNoUnknownKeys());
  table_ = std::move(table);
  snapshot_valid_ = false;
  seq_ = seq->get<uint64_t>();
  ramps_ = std::move(ramps);
  rollbacks_ = std::move(rollbacks);
  return Status::Ok();
}

json ClusterRegistry::StateJson(const ClusterTable& table, uint64_t seq,
                                const std::map<std::string, Ramp>& ramps) const {
  json gradual = json::object();
  for (const auto& [uuid, ramp] : ramps) {
    if (table.Find(uuid)) gradual[uuid] = ramp.reserved;
  }
  json rollbacks = json::object();
  for (const auto& [uuid, record] : rollbacks_) {
    if (table.Find(uuid)) rollbacks[uuid] = record;
  }
  return {{"seq", seq}, {"clusters", table.ToStoredJson()}, {"gradual", gradual}, {"rollbacks", rollbacks}};
}

Status ClusterRegistry::Persist(const ClusterTable& table, uint64_t seq, const std::map<std::string, Ramp>& ramps,
                                bool sync) {
  // Strings from flags may be invalid UTF-8: replaced, never a throw.
  std::string text = StateJson(table, seq, ramps).dump(2, ' ', false, json::error_handler_t::replace);
  return WriteFileAtomically(state_file_, text + "\n", sync);
}

Status ClusterRegistry::Put(Cluster cluster, int64_t now_wall_ms, json* change) {
  if (cluster.uuid.empty()) {
    do {
      cluster.uuid = NewUuid();
    } while (table_.Find(cluster.uuid));
  } else if (table_.Find(cluster.uuid)) {
    return Status::InvalidArgument("cluster.uuid: a cluster with uuid " + cluster.uuid + " already exists");
  }
  if (table_.clusters().size() >= limits_.max_clusters) {
    return Status::InvalidArgument("cluster: the table already holds " + std::to_string(limits_.max_clusters) +
                                   " versions, the limit (configService.maxClusters); delete old ones first");
  }
  uint64_t order = 0;
  for (const Cluster& existing : table_.clusters()) order = std::max(order, existing.added_order);
  cluster.added_order = order + 1;
  cluster.added_at_ms = now_wall_ms;
  size_t bytes = TableBytes(table_) + StoredBytes(cluster);
  if (bytes > limits_.max_table_bytes) {
    return Status::InvalidArgument("cluster: the table would hold " + std::to_string(bytes) +
                                   " bytes, over the limit of " + std::to_string(limits_.max_table_bytes) +
                                   " (configService.maxTableBytes); delete old versions first");
  }
  ClusterTable next = table_;
  next.Add(cluster);
  UPMESH_RETURN_IF_ERROR(Persist(next, seq_ + 1, ramps_));
  table_ = std::move(next);
  seq_++;
  *change = {{"op", "put"}, {"cluster", ClusterToStoredJson(cluster)}};
  return Status::Ok();
}

Status ClusterRegistry::Remove(std::string uuid, json* change) {
  if (!table_.Find(uuid)) return Status::NotFound("no cluster with uuid " + uuid);
  ClusterTable next = table_;
  next.Remove(uuid);
  std::map<std::string, Ramp> ramps = ramps_;
  ramps.erase(uuid);
  UPMESH_RETURN_IF_ERROR(Persist(next, seq_ + 1, ramps));
  table_ = std::move(next);
  ramps_ = std::move(ramps);
  seq_++;
  served_.erase(uuid);
  mismatches_.erase(uuid);
  rollbacks_.erase(uuid);
  *change = {{"op", "delete"}, {"uuid", uuid}};
  return Status::Ok();
}

Status ClusterRegistry::RollBack(std::string uuid, json record, json* change) {
  const Cluster* cluster = table_.Find(uuid);
  if (!cluster) return Status::NotFound("no cluster with uuid " + uuid);
  if (cluster->rolled_back) return Status::InvalidArgument("cluster " + uuid + " is already rolled back");
  if (table_.Live().size() < 2) {
    return Status::InvalidArgument("cluster " + uuid + " is the only version that can serve: nothing to roll back to");
  }
  ClusterTable next = table_;
  next.MarkRolledBack(uuid);
  rollbacks_[uuid] = std::move(record);  // StateJson writes it; taken back below if the write fails
  Status status = Persist(next, seq_ + 1, ramps_);
  if (!status.ok()) {
    rollbacks_.erase(uuid);
    return status;
  }
  table_ = std::move(next);
  seq_++;
  *change = {{"op", "rollback"}, {"uuid", uuid}};
  return Status::Ok();
}

Status ClusterRegistry::UpdateRollbackRecord(const std::string& uuid, json record) {
  auto it = rollbacks_.find(uuid);
  if (it == rollbacks_.end()) return Status::NotFound("no rollback of cluster " + uuid);
  it->second = std::move(record);
  return Persist(table_, seq_, ramps_, /*sync=*/false);
}

const json* ClusterRegistry::RollbackRecord(const std::string& uuid) const {
  auto it = rollbacks_.find(uuid);
  return it == rollbacks_.end() ? nullptr : &it->second;
}

bool ClusterRegistry::ramp_held() const {
  const Cluster* newest = table_.NewestLive();
  return newest && newest->ramp_hold.held();
}

Status ClusterRegistry::SetRampHold(bool hold, int64_t now_wall_ms, json* change) {
  *change = json();
  const Cluster* newest = table_.NewestLive();
  if (!newest || hold == newest->ramp_hold.held()) return Status::Ok();
  std::string uuid = newest->uuid;
  RampHold state = newest->ramp_hold;
  if (hold) {
    state.since_ms = now_wall_ms;
  } else {
    state.held_ms += std::max<int64_t>(0, now_wall_ms - state.since_ms);
    state.since_ms = 0;
  }
  ClusterTable next = table_;
  next.SetRampHold(uuid, state);
  // Not fsynced: a hold lost in a machine crash is decided again by the monitor.
  UPMESH_RETURN_IF_ERROR(Persist(next, seq_ + 1, ramps_, /*sync=*/false));
  table_ = std::move(next);
  seq_++;
  LOG_INFO("GRADUAL ramp of cluster %s %s", uuid.c_str(),
           hold ? "held: the new version is not judged healthy" : "advancing again");
  *change = {{"op", "hold"}, {"uuid", uuid}, {"heldMs", state.held_ms}, {"sinceMs", state.since_ms}};
  return Status::Ok();
}

uint64_t ClusterRegistry::RampPosition(const std::string& uuid) const {
  auto it = ramps_.find(uuid);
  return it == ramps_.end() ? 0 : it->second.count;
}

double ClusterRegistry::GradualShare(int64_t now_wall_ms) const {
  const Cluster* newest = table_.NewestLive();
  if (!newest) return 0;
  return upmesh::GradualShare(newest, RampPosition(newest->uuid), newest->ramp_hold, now_wall_ms);
}

ClusterRegistry::Lease ClusterRegistry::LeaseRamp(const std::string& uuid, uint64_t wanted, int64_t now_wall_ms) {
  Lease lease;
  lease.first = RampPosition(uuid);
  const Cluster* newest = table_.NewestLive();
  if (!newest || newest->uuid != uuid || !IsRequestRamp(*newest) || newest->ramp_hold.held()) return lease;
  double percent = newest->transition.percentage_per_request;
  uint64_t length = RequestRampLength(percent);
  if (lease.first >= length || wanted == 0 || now_wall_ms < ramp_retry_after_ms_) return lease;
  uint64_t count = std::min({wanted, RampLeaseLimit(percent), length - lease.first});
  Ramp& ramp = ramps_[uuid];
  if (ramp.count + count > ramp.reserved) {
    std::map<std::string, Ramp> next = ramps_;
    next[uuid].reserved = ramp.count + count + kRampBlock;
    // No fsync: leases are frequent and the router's loop must not stall. The
    // rename is still atomic and survives a crash of the router; only a crash
    // of the whole machine can lose the newest reservation.
    Status status = Persist(table_, seq_, next, /*sync=*/false);
    if (!status.ok()) {
      // The ramp pauses rather than risk handing out a position twice after a restart.
      LOG_WARN("GRADUAL ramp paused: %s (retrying in %lld ms)", status.message().c_str(),
               static_cast<long long>(kRampRetryMs));
      ramp_retry_after_ms_ = now_wall_ms + kRampRetryMs;
      return lease;
    }
    ramp.reserved = next[uuid].reserved;
  }
  ramp.count += count;
  lease.count = count;
  return lease;
}

Status ClusterRegistry::RecordWorkerStats(const std::string& worker_id, const json& stats) {
  if (!stats.is_object()) return Status::InvalidArgument("stats: must be a JSON object");
  auto served = stats.find("served");
  if (served == stats.end() || !served->is_object()) {
    return Status::InvalidArgument("stats.served: must be an object {\"<uuid>\": count}");
  }
  for (auto it = served->begin(); it != served->end(); ++it) {
    if (!it.value().is_number_unsigned()) {
      return Status::InvalidArgument("stats.served." + NameForMessage(it.key()) + ": must be a non-negative integer");
    }
  }
  std::map<std::string, uint64_t>& last = last_worker_stats_[worker_id];
  for (auto it = served->begin(); it != served->end(); ++it) {
    uint64_t now_count = it.value().get<uint64_t>();
    uint64_t& before = last[it.key()];
    // A count that went down: the worker restarted (same name) and counts from zero.
    uint64_t delta = now_count >= before ? now_count - before : now_count;
    before = now_count;
    if (delta > 0 && table_.Find(it.key())) served_[it.key()] += delta;
  }
  return Status::Ok();
}

uint64_t ClusterRegistry::ServedBy(const std::string& worker_id) const {
  auto found = last_worker_stats_.find(worker_id);
  uint64_t total = 0;
  if (found != last_worker_stats_.end()) {
    for (const auto& [uuid, count] : found->second) total += count;
  }
  return total;
}

Status ClusterRegistry::RecordMismatch(const std::string& worker_id, const json& report, int64_t now_wall_ms) {
  if (!report.is_object()) return Status::InvalidArgument("mismatch report: must be a JSON object");
  if (report.dump().size() > kMaxMismatchReportBytes) {
    return Status::InvalidArgument("mismatch report: larger than " + std::to_string(kMaxMismatchReportBytes) + " bytes");
  }
  std::string uuid;
  auto named = report.find("cluster");
  if (named != report.end()) {
    if (!named->is_string()) return Status::InvalidArgument("mismatch report: cluster must be a uuid string");
    uuid = named->get<std::string>();
  } else if (const Cluster* newest = table_.NewestLive()) {
    uuid = newest->uuid;
  }
  if (!table_.Find(uuid)) return Status::InvalidArgument("mismatch report: no cluster with uuid " + QuoteForMessage(uuid));
  Mismatches& log = mismatches_[uuid];
  log.count++;
  json stored = report;
  stored["worker"] = worker_id;
  stored["atMs"] = now_wall_ms;
  log.recent.push_back(std::move(stored));
  while (log.recent.size() > kRecentMismatches) log.recent.pop_front();
  return Status::Ok();
}

json ClusterRegistry::StateOf(const Cluster& cluster, int64_t now_wall_ms) const {
  const Cluster* newest_live = table_.NewestLive();
  bool newest = newest_live && newest_live->uuid == cluster.uuid;
  auto served = served_.find(cluster.uuid);
  json state = {{"requestsServed", served == served_.end() ? 0 : served->second}, {"newest", newest}};
  if (newest && cluster.transition.mode == UpgradeMode::kGradual) {
    state["gradualShare"] = GradualShare(now_wall_ms);
    if (cluster.transition.duration_s == 0) {
      auto ramp = ramps_.find(cluster.uuid);
      state["rampRequests"] = ramp == ramps_.end() ? 0 : ramp->second.count;
    }
  }
  if (cluster.transition.mode == UpgradeMode::kConcurrent) {
    auto log = mismatches_.find(cluster.uuid);
    state["mismatches"] = log == mismatches_.end() ? 0 : log->second.count;
    json recent = json::array();
    if (log != mismatches_.end()) {
      for (auto it = log->second.recent.rbegin(); it != log->second.recent.rend(); ++it) recent.push_back(*it);
    }
    state["recentMismatches"] = recent;  // newest first
  }
  if (newest && cluster.transition.mode == UpgradeMode::kGradual) state["rampHeld"] = cluster.ramp_hold.held();
  if (const json* record = RollbackRecord(cluster.uuid)) state["rollback"] = *record;
  return state;
}

}  // namespace upmesh::router
