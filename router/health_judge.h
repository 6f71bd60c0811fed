// The judge: is the newest version worse than the one it replaces?
//
// A pure function of two versions' figures over the same window (the old
// version's may come from its last busy window when it no longer gets
// traffic, e.g. after an INSTANT switch), the candidate's run of failures
// and its monitor config. Rules, in order, the first that fires wins:
//
//   consecutiveFailures  the mesh saw `consecutive_failures` failures in a row
//                        from it (no statistics, no minimum volume)
//   (too little data)    fewer than `min_requests` on either side: inconclusive
//   errorRate            error rate at least `max_error_rate_increase` points
//                        above the old one's AND a two-proportion z-test
//                        z >= `min_z_score`
//   latencyP50/P99       p50 (or p99) over `latency_ratio` times the old one's
//                        AND at least `min_latency_increase_ms` slower
//   bodySize             median 2xx body size differs by `size_ratio` times
//                        AND by `min_size_difference_bytes`
//   mismatchRate         CONCURRENT: more than `max_mismatch_percent` of the
//                        compared answers differed
//
// An effect floor and a significance test together: a version is never
// rolled back for noise on few requests, nor for a difference too small to
// matter on many.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "shared/cluster.h"
#include "shared/health_report.h"

namespace upmesh::router {

enum class Health {
  kWatching,      // the newest version, not enough requests yet to judge it
  kHealthy,       // judged, no rule fired
  kInconclusive,  // judged before, too little data now (or nothing to compare with)
  kUnhealthy,     // a rule fired (a rollback follows)
  kRolledBack,
};
const char* HealthName(Health health);

struct Judgement {
  Health health = Health::kWatching;
  std::string rule;    // the rule that fired (unhealthy only)
  std::string detail;  // one sentence for a person: the figures behind the verdict
};

// `old` is null when there are no figures for the old version at all.
// Returns kHealthy, kInconclusive (too little data) or kUnhealthy.
Judgement Judge(const HealthFigures& candidate, const HealthFigures* old, uint64_t failure_run,
                const MonitorConfig& config);

// z of a two-proportion test that rate a (errors_a / n_a) exceeds rate b; 0
// when undefined (no requests, or no variance at all).
double TwoProportionZ(uint64_t errors_a, uint64_t n_a, uint64_t errors_b, uint64_t n_b);

// A window's figures for the API and the evidence: counts, errorRate (%),
// p50Ms, p99Ms, medianBodyBytes.
nlohmann::json SummaryJson(const HealthFigures& figures);

}  // namespace upmesh::router
