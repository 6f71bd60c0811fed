// Per-version health as measured in the data path, and the HEALTH message
// that carries it from a worker to the router (docs/protocol.md).
//
// A worker records the outcome of every trip to a backend (HealthFigures),
// per cluster version, and sends what it gathered since its last report:
//
//   [UPM1][HEALTH][report-json]
//   report-json: {"seq": <the worker's config seq>,
//                 "versions": {"<uuid>": VersionReport, ...},
//                 "servers": {"host:port": server state, ...}}
//
// The router adds the figures to its sliding windows (router/version_monitor.h).
// This file is the one codec for that format.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/log_histogram.h"
#include "shared/status.h"

namespace upmesh {

// How one trip to a backend ended.
enum class Outcome {
  kOk,           // 1xx-3xx from the backend
  kClientError,  // 4xx from the backend
  kServerError,  // 5xx from the backend
  kRefused,      // no connection: refused, unreachable, not resolved
  kReset,        // the connection broke before the response was whole
  kTimeout,      // connect, pool wait or response took too long
  kBadFraming,   // the response could not be read (bad framing, too large)
};

// Every outcome but kOk and kClientError: counted as an error, and as a hard
// failure by the catastrophe rule.
inline bool IsFailure(Outcome outcome) {
  return outcome != Outcome::kOk && outcome != Outcome::kClientError;
}

// Outcome counts, latency and size of one version over some span of time.
struct HealthFigures {
  uint64_t ok = 0;
  uint64_t client_errors = 0;
  uint64_t server_errors = 0;
  uint64_t refused = 0;
  uint64_t reset = 0;
  uint64_t timeouts = 0;
  uint64_t bad_framing = 0;
  uint64_t shielded = 0;    // failed here and retried on an older version
  uint64_t compared = 0;    // CONCURRENT comparisons with this as the new version
  uint64_t mismatched = 0;  // ...that did not match
  LogHistogram latency_us;  // request written to response whole; responses only
  LogHistogram body_bytes;  // 2xx responses only

  void Record(Outcome outcome);
  uint64_t requests() const { return ok + client_errors + errors(); }
  uint64_t errors() const { return server_errors + refused + reset + timeouts + bad_framing; }
  bool empty() const { return requests() == 0 && shielded == 0 && compared == 0; }
  void Add(const HealthFigures& other);
  void Subtract(const HealthFigures& other);
};

// A failed request, kept as an example for the evidence of a rollback.
struct FailureSample {
  std::string method;
  std::string target;  // at most kMaxSampleText bytes
  int status = 0;      // the backend's 5xx, or the 502/504 upmesh answers
  std::string error;   // why (upmesh's own failures), at most kMaxSampleText bytes
  std::string worker;  // filled in by the router
  int64_t at_ms = 0;   // wall clock
};

struct VersionReport {
  HealthFigures figures;
  uint64_t failure_run = 0;       // failures since this worker's last success (not reset per report)
  int64_t first_failure_at_ms = 0;  // wall clock of the first failure in the report, 0: none
  std::vector<FailureSample> samples;  // at most kMaxSamplesPerReport
};

struct HealthReport {
  uint64_t seq = 0;  // the worker's config seq when it sent the report
  std::map<std::string, VersionReport> versions;  // by cluster uuid
  // Backend servers this worker does not see as simply up, by "host:port":
  // {"state": "ejected"|"probing"|"up", "consecutiveFailures", "ejectedForMs"?}.
  // An empty object: all up.
  nlohmann::json servers = nlohmann::json::object();
};

constexpr size_t kMaxSamplesPerReport = 3;
constexpr size_t kMaxSampleText = 200;
constexpr size_t kMaxVersionsPerReport = 256;
constexpr size_t kMaxServersPerReport = 4096;

// Every counter and both histograms; `compact` (the report's form: a worker
// sends ten a second, most counters zero) leaves out zeros and empty
// histograms, which a reader takes as 0 and empty.
nlohmann::json HealthFiguresToJson(const HealthFigures& figures, bool compact = false);
Status HealthFiguresFromJson(const nlohmann::json& json, const std::string& path, HealthFigures* figures);

nlohmann::json FailureSampleToJson(const FailureSample& sample);

std::string EncodeHealthReport(const HealthReport& report);
// InvalidArgument naming the field when the text is not a report.
Status DecodeHealthReport(std::string_view text, HealthReport* report);

}  // namespace upmesh
