#include "router/health_judge.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace upmesh::router {
namespace {

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

double Ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

template <typename... Numbers>
std::string Format(const char* format, Numbers... numbers) {
  char text[256];
  std::snprintf(text, sizeof text, format, numbers...);
  return text;
}

Judgement Unhealthy(const char* rule, std::string detail) {
  return Judgement{Health::kUnhealthy, rule, std::move(detail)};
}

Judgement Inconclusive(std::string detail) { return Judgement{Health::kInconclusive, "", std::move(detail)}; }

// The latency rule for one quantile; empty rule when it does not fire.
Judgement JudgeLatency(const char* rule, const char* name, uint64_t new_us, uint64_t old_us,
                       const MonitorConfig& config) {
  bool slower = static_cast<double>(new_us) > config.latency_ratio * static_cast<double>(old_us) &&
                static_cast<int64_t>(new_us) - static_cast<int64_t>(old_us) >= config.min_latency_increase_ms * 1000;
  if (!slower) return Judgement{Health::kHealthy, "", ""};
  return Unhealthy(rule, std::string(name) +
                             Format(" %.1f ms vs %.1f ms on the old version (threshold: over %.1fx and %.0f ms slower)",
                                    Ms(new_us), Ms(old_us), config.latency_ratio,
                                    static_cast<double>(config.min_latency_increase_ms)));
}

}  // namespace

const char* HealthName(Health health) {
  switch (health) {
    case Health::kWatching: return "watching";
    case Health::kHealthy: return "healthy";
    case Health::kInconclusive: return "inconclusive";
    case Health::kUnhealthy: return "unhealthy";
    case Health::kRolledBack: return "rolledBack";
  }
  return "watching";
}

double TwoProportionZ(uint64_t errors_a, uint64_t n_a, uint64_t errors_b, uint64_t n_b) {
  if (n_a == 0 || n_b == 0) return 0;
  double a = static_cast<double>(n_a), b = static_cast<double>(n_b);
  double p_a = static_cast<double>(errors_a) / a, p_b = static_cast<double>(errors_b) / b;
  double pooled = static_cast<double>(errors_a + errors_b) / (a + b);
  double variance = pooled * (1 - pooled) * (1 / a + 1 / b);
  if (variance <= 0) return 0;
  return (p_a - p_b) / std::sqrt(variance);
}

Judgement Judge(const HealthFigures& candidate, const HealthFigures* old, uint64_t failure_run,
                const MonitorConfig& config) {
  uint64_t limit = static_cast<uint64_t>(config.consecutive_failures);
  if (failure_run >= limit) {
    return Unhealthy("consecutiveFailures", std::to_string(failure_run) + " failures in a row (threshold " +
                                                std::to_string(limit) + ")");
  }
  uint64_t minimum = static_cast<uint64_t>(config.min_requests);
  if (candidate.requests() < minimum) {
    return Inconclusive(std::to_string(candidate.requests()) + " requests in the window, " +
                        std::to_string(minimum) + " needed");
  }
  if (!old || old->requests() < minimum) {
    return Inconclusive("the old version has " + std::to_string(old ? old->requests() : 0) +
                        " requests to compare with, " + std::to_string(minimum) + " needed");
  }

  double new_rate = Percent(candidate.errors(), candidate.requests());
  double old_rate = Percent(old->errors(), old->requests());
  double z = TwoProportionZ(candidate.errors(), candidate.requests(), old->errors(), old->requests());
  if (new_rate > old_rate && new_rate - old_rate >= config.max_error_rate_increase && z >= config.min_z_score) {
    return Unhealthy("errorRate", Format("error rate %.1f %% vs %.1f %% on the old version, z = %.1f (threshold: "
                                         "%.1f points worse and z >= %.1f)",
                                         new_rate, old_rate, z, config.max_error_rate_increase, config.min_z_score));
  }

  if (candidate.latency_us.count() >= minimum && old->latency_us.count() >= minimum) {
    Judgement p50 = JudgeLatency("latencyP50", "p50 latency", candidate.latency_us.Quantile(0.5),
                                 old->latency_us.Quantile(0.5), config);
    if (p50.health == Health::kUnhealthy) return p50;
    Judgement p99 = JudgeLatency("latencyP99", "p99 latency", candidate.latency_us.Quantile(0.99),
                                 old->latency_us.Quantile(0.99), config);
    if (p99.health == Health::kUnhealthy) return p99;
  }

  if (candidate.body_bytes.count() >= minimum && old->body_bytes.count() >= minimum) {
    double new_size = static_cast<double>(candidate.body_bytes.Quantile(0.5));
    double old_size = static_cast<double>(old->body_bytes.Quantile(0.5));
    bool differs = new_size != old_size && std::max(new_size, old_size) >= config.size_ratio * std::min(new_size, old_size) &&
                   std::fabs(new_size - old_size) >= static_cast<double>(config.min_size_difference_bytes);
    if (differs) {
      return Unhealthy("bodySize", Format("median 2xx body %.0f bytes vs %.0f bytes on the old version (threshold: "
                                          "%.1fx and %.0f bytes apart)",
                                          new_size, old_size, config.size_ratio,
                                          static_cast<double>(config.min_size_difference_bytes)));
    }
  }

  if (candidate.compared >= minimum) {
    double mismatch = Percent(candidate.mismatched, candidate.compared);
    if (mismatch > config.max_mismatch_percent) {
      return Unhealthy("mismatchRate", Format("%.1f %% of %.0f compared answers differed (threshold %.1f %%)", mismatch,
                                              static_cast<double>(candidate.compared), config.max_mismatch_percent));
    }
  }
  return Judgement{Health::kHealthy, "",
                   Format("%.0f requests, error rate %.1f %% vs %.1f %%, p99 %.1f ms vs %.1f ms",
                          static_cast<double>(candidate.requests()), new_rate, old_rate,
                          Ms(candidate.latency_us.Quantile(0.99)), Ms(old->latency_us.Quantile(0.99)))};
}

nlohmann::json SummaryJson(const HealthFigures& figures) {
  nlohmann::json out = HealthFiguresToJson(figures);
  out.erase("latencyUs");
  out.erase("bodyBytes");
  out["requests"] = figures.requests();
  out["errorRate"] = std::round(Percent(figures.errors(), figures.requests()) * 100) / 100;
  out["p50Ms"] = Ms(figures.latency_us.Quantile(0.5));
  out["p99Ms"] = Ms(figures.latency_us.Quantile(0.99));
  out["medianBodyBytes"] = figures.body_bytes.Quantile(0.5);
  return out;
}

}  // namespace upmesh::router
