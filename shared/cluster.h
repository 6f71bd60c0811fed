// Cluster versions: the model every process shares.
//
// A cluster is one version of the backend service: a set of servers plus the
// upgrade transition that says how traffic moves to it when it is the newest
// version. The JSON form is the original proxy's ("servers", "version",
// "uuid", "upgradeTransition"); docs/configuration.md and docs/rest-api.md
// describe every field.
//
// ClusterTable keeps the versions ordered newest first: versions compare
// numerically segment by segment ("1.10" > "1.9" > "1"); for equal versions
// the one added later is newer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/network_policy.h"
#include "shared/status.h"

namespace upmesh {

struct ServerAddress {
  std::string host;  // an IP literal or a hostname (resolved by the worker)
  uint16_t port = 0;
  bool is_hostname = false;  // given as "hostname" rather than "ip"
};

enum class UpgradeMode { kInstant, kSession, kGradual, kConcurrent };
const char* UpgradeModeName(UpgradeMode mode);

// What happens to requests with unsafe methods (POST, PUT, DELETE, PATCH...)
// in CONCURRENT mode, where a request would otherwise reach both versions.
enum class UnsafeMethodPolicy {
  kOldOnly,  // default: only the old version sees the write
  kNewOnly,  // only the new version sees the write
  kBoth,     // the write is done twice, and compared (opt-in)
};

// How the mesh watches a version while it is the newest one and an older
// version can take its traffic back (upgradeTransition.monitor; every field
// is documented in docs/rest-api.md). The defaults apply when the cluster
// says nothing: monitoring is on for every mode.
struct MonitorConfig {
  bool enabled = true;
  int64_t window_seconds = 10;            // sliding window the judge compares over
  int64_t min_requests = 50;              // fewer in the window (either side): inconclusive
  double max_error_rate_increase = 2;     // percentage points worse than the old version...
  double min_z_score = 3;                 // ...and significant by a two-proportion z-test
  double latency_ratio = 3;               // new p50 or p99 over the old one's...
  int64_t min_latency_increase_ms = 20;   // ...and at least this much slower
  double size_ratio = 4;                  // median 2xx body size differs by this factor...
  int64_t min_size_difference_bytes = 100;  // ...and by at least this many bytes
  double max_mismatch_percent = 10;       // CONCURRENT: compared answers that differ
  int64_t consecutive_failures = 10;      // hard failures in a row: roll back at once
  bool shield = true;                     // retry a failed idempotent request on the old version
  double ramp_probe_percent = 5;          // GRADUAL: share reached without a healthy verdict
};

struct UpgradeTransition {
  UpgradeMode mode = UpgradeMode::kInstant;
  int64_t session_timeout_s = 0;         // SESSION: cookie lifetime, renewed per request
  double percentage_per_request = 0;     // GRADUAL by requests: share added per request, (0, 100]
  int64_t duration_s = 0;                // GRADUAL by time: 0 -> 100 % linearly over this
  int64_t delay_tolerance_ms = 1000;     // CONCURRENT: largest accepted difference in delay
  UnsafeMethodPolicy unsafe_methods = UnsafeMethodPolicy::kOldOnly;  // CONCURRENT
  bool has_monitor = false;  // "monitor" given (echoed back only then)
  MonitorConfig monitor;
};

// Active health checks of a cluster's servers ("healthCheck"): every worker
// sends `GET path` to each server every interval; a 2xx or 3xx within the
// timeout is a success, anything else a failure of that server (the same
// record passive health keeps: worker/server_health.h).
struct HealthCheck {
  std::string path;  // origin-form, e.g. "/healthz"
  int64_t interval_ms = 2000;
  int64_t timeout_ms = 1000;
};

// A GRADUAL ramp's hold (the router holds it while the monitor has no
// healthy verdict on the version): a held time ramp's clock stops.
struct RampHold {
  int64_t held_ms = 0;   // time spent held before since_ms
  int64_t since_ms = 0;  // wall clock the current hold started; 0: not held
  bool held() const { return since_ms > 0; }
  bool operator==(const RampHold& o) const { return held_ms == o.held_ms && since_ms == o.since_ms; }
};

struct Cluster {
  std::string uuid;
  nlohmann::json version = 0;  // number or string, echoed as given
  std::vector<ServerAddress> servers;
  bool has_transition = false;   // "upgradeTransition" present
  UpgradeTransition transition;  // INSTANT when absent
  bool has_health_check = false;  // "healthCheck" present
  HealthCheck health_check;
  uint64_t added_order = 0;      // tie-break for equal versions: later is newer
  int64_t added_at_ms = 0;       // wall clock (ms since epoch): start of a time ramp
  bool rolled_back = false;      // kept for the record, gets no traffic
  RampHold ramp_hold;            // as broadcast to replicas ("rampHold"); the router keeps its own
};

// Cluster ids (uuid): 1..kMaxClusterId of [A-Za-z0-9._-], not "." or "..":
// they appear in API paths, file names of tools and log lines.
constexpr size_t kMaxClusterId = 64;
bool IsValidClusterId(const std::string& id);
// Version strings: 1..kMaxVersionText printable ASCII characters (0x20-0x7e):
// no NUL, CR, LF or other control characters, which would split log lines
// and headers.
constexpr size_t kMaxVersionText = 64;
bool IsValidVersionText(const std::string& text);
// A version as people read it: a string as is, a number as JSON writes it.
std::string VersionText(const nlohmann::json& version);
// DNS name syntax: dot-separated labels of 1..63 letters, digits, '-' or '_'
// (not starting or ending with '-'), at most 253 characters, an optional
// trailing dot; the last label is not all digits.
bool IsValidHostname(const std::string& name);

// Validates `json` (the object under "cluster") into *cluster. Errors name the
// field with `path` as prefix, e.g. "cluster.servers[0].port: ...".
// Does not assign uuid, added_order or added_at_ms.
Status ParseCluster(const nlohmann::json& json, const std::string& path, Cluster* cluster);

// Ok if every "ip" server is allowed by `policy`; else an error naming the
// server ("cluster.servers[0].ip: 169.254.169.254 is in denied network ...").
// Hostnames are checked by the workers, on every address they resolve to.
Status CheckServerNetworks(const Cluster& cluster, const NetworkPolicy& policy, const std::string& path);

// The cluster as the API shows it: {"uuid", "version", "servers", "upgradeTransition"}.
nlohmann::json ClusterToJson(const Cluster& cluster);
// upgradeTransition.monitor with every field, defaults included.
nlohmann::json MonitorToJson(const MonitorConfig& monitor);

// With added_order, added_at_ms, rolledBack and rampHold (when held or once
// held) too: for persistence and the broadcast.
nlohmann::json ClusterToStoredJson(const Cluster& cluster);
// {"heldMs": n, "sinceMs": n}, as "rampHold" and the broadcast's hold op carry it.
Status RampHoldFromJson(const nlohmann::json& stored, RampHold* hold);
Status ClusterFromStoredJson(const nlohmann::json& json, Cluster* cluster);

// <0, 0, >0 as version a is older than, equal to, newer than version b.
int CompareVersions(const nlohmann::json& a, const nlohmann::json& b);

// A random RFC 4122 version 4 UUID, lower-case.
std::string NewUuid();

// The cluster versions, newest first.
class ClusterTable {
 public:
  const std::vector<Cluster>& clusters() const { return clusters_; }  // newest first
  const Cluster* Find(const std::string& uuid) const;
  // Index in clusters() or -1.
  int IndexOf(const std::string& uuid) const;
  // The versions that may get traffic (not rolled back), newest first.
  std::vector<const Cluster*> Live() const;
  // The newest version that is not rolled back, or nullptr.
  const Cluster* NewestLive() const;
  // Marks a version rolled back; false if there is none with that uuid.
  bool MarkRolledBack(const std::string& uuid);
  // Inserts in version order. The uuid must be new.
  void Add(Cluster cluster);
  bool Remove(const std::string& uuid);
  // Sets a version's broadcast hold state; false if there is no such version.
  bool SetRampHold(const std::string& uuid, const RampHold& hold);
  bool empty() const { return clusters_.empty(); }

  nlohmann::json ToStoredJson() const;  // array of ClusterToStoredJson
  static Status FromStoredJson(const nlohmann::json& json, ClusterTable* table);

 private:
  std::vector<Cluster> clusters_;
};

}  // namespace upmesh
