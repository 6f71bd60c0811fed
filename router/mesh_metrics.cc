#include "router/mesh_metrics.h"

#include <algorithm>
#include <array>

#include "shared/metrics_text.h"

namespace upmesh::router {

const std::vector<double> kDurationBoundsSeconds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,   0.5,   1,      2.5,   5,    10,    30,    60};
const std::vector<double> kBodyBoundsBytes = {64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216};

namespace {

using Labels = MetricsText::Labels;
using Type = MetricsText::Type;

std::string VersionLabel(const Cluster& cluster) {
  return VersionText(cluster.version);
}

Labels VersionLabels(const Cluster& cluster) { return {{"version", VersionLabel(cluster)}, {"uuid", cluster.uuid}}; }

Labels With(Labels labels, const char* name, std::string value) {
  labels.emplace_back(name, std::move(value));
  return labels;
}

// Requests by answer class, from the outcome counts (docs/rest-api.md):
// 2xx are the ok trips whose body was measured (bodyBytes counts 2xx only),
// 3xx the other ok ones; upmesh answers 502 for refused, reset and bad
// framing, 504 for timeouts.
std::vector<std::pair<const char*, uint64_t>> ByCode(const HealthFigures& f) {
  uint64_t two = std::min(f.ok, f.body_bytes.count());
  return {{"2xx", two},
          {"3xx", f.ok - two},
          {"4xx", f.client_errors},
          {"5xx", f.server_errors},
          {"502", f.refused + f.reset + f.bad_framing},
          {"504", f.timeouts}};
}

class PageBuilder {
 public:
  PageBuilder(const MeshMetricsSources& sources, int64_t now_wall_ms)
      : sources_(sources), table_(sources.registry->table()), now_wall_ms_(now_wall_ms) {}

  Status Build(std::string* page) {
    Requests();
    Histograms();
    PerVersionCounters();
    States();
    Mesh();
    if (!out_.status().ok()) return out_.status();
    *page = out_.text();
    return Status::Ok();
  }

 private:
  const HealthFigures& TotalOf(const Cluster& cluster) const {
    const HealthFigures* total = sources_.monitor ? sources_.monitor->TotalOf(cluster.uuid) : nullptr;
    return total ? *total : none_;
  }

  void Requests() {
    out_.Family("upmesh_requests_total", Type::kCounter,
                "Trips to a version's backends by answer: code 2xx-5xx from the backend, 502/504 from upmesh.");
    for (const Cluster& cluster : table_.clusters()) {
      for (const auto& [code, count] : ByCode(TotalOf(cluster))) {
        out_.Counter(With(VersionLabels(cluster), "code", code), static_cast<double>(count));
      }
    }
  }

  void Histograms() {
    std::vector<double> micros;
    for (double seconds : kDurationBoundsSeconds) micros.push_back(seconds * 1e6);
    out_.Family("upmesh_request_duration_seconds", Type::kHistogram,
                "Request written to response whole, per version, of the 1xx-4xx answers (_sum estimated from bins).");
    for (const Cluster& cluster : table_.clusters()) {
      const LogHistogram& latency = TotalOf(cluster).latency_us;
      out_.Histogram(VersionLabels(cluster), kDurationBoundsSeconds, latency.Fold(micros), latency.EstimatedSum() / 1e6);
    }
    out_.Family("upmesh_response_bytes", Type::kHistogram,
                "Body size of 2xx responses, per version (_sum estimated from bins).");
    for (const Cluster& cluster : table_.clusters()) {
      const LogHistogram& body = TotalOf(cluster).body_bytes;
      out_.Histogram(VersionLabels(cluster), kBodyBoundsBytes, body.Fold(kBodyBoundsBytes), body.EstimatedSum());
    }
  }

  void PerVersionCounter(const char* name, const char* help, uint64_t HealthFigures::*field) {
    out_.Family(name, Type::kCounter, help);
    for (const Cluster& cluster : table_.clusters()) {
      out_.Counter(VersionLabels(cluster), static_cast<double>(TotalOf(cluster).*field));
    }
  }

  void PerVersionCounters() {
    PerVersionCounter("upmesh_shielded_requests_total",
                      "Requests that failed on this version and were retried on the older one.", &HealthFigures::shielded);
    PerVersionCounter("upmesh_concurrent_comparisons_total",
                      "CONCURRENT answers of this (new) version compared with the old one's.", &HealthFigures::compared);
    PerVersionCounter("upmesh_concurrent_mismatches_total",
                      "CONCURRENT comparisons of this (new) version that did not match.", &HealthFigures::mismatched);
    out_.Family("upmesh_rollbacks_total", Type::kCounter, "Versions rolled back since the router started, by reason.");
    if (sources_.rollbacks) {
      for (const auto& [reason, count] : *sources_.rollbacks) out_.Counter({{"reason", reason}}, static_cast<double>(count));
    }
  }

  void States() {
    static constexpr std::array<Health, 5> kStates = {Health::kWatching, Health::kHealthy, Health::kInconclusive,
                                                      Health::kUnhealthy, Health::kRolledBack};
    out_.Family("upmesh_version_health", Type::kGauge, "1 for the version's current health state, else 0.");
    for (const Cluster& cluster : table_.clusters()) {
      std::string current = sources_.monitor ? sources_.monitor->HealthOf(table_, cluster).first
                                             : (cluster.rolled_back ? "rolledBack" : "healthy");
      for (Health state : kStates) {
        out_.Gauge(With(VersionLabels(cluster), "state", HealthName(state)), current == HealthName(state) ? 1 : 0);
      }
    }
    double gradual = sources_.registry->GradualShare(now_wall_ms_);
    std::map<std::string, double> set = SetShares(table_, gradual);
    uint64_t window_total = 0;
    for (const Cluster& cluster : table_.clusters()) window_total += WindowRequests(cluster);
    out_.Family("upmesh_traffic_share", Type::kGauge,
                "Percent of requests: kind=set as the table routes them, kind=actual over the monitor's window.");
    for (const Cluster& cluster : table_.clusters()) {
      auto found = set.find(cluster.uuid);
      out_.Gauge(With(VersionLabels(cluster), "kind", "set"), found == set.end() ? 0 : found->second);
      double actual = window_total == 0 ? 0 : 100.0 * static_cast<double>(WindowRequests(cluster)) /
                                                  static_cast<double>(window_total);
      out_.Gauge(With(VersionLabels(cluster), "kind", "actual"), actual);
    }
    out_.Family("upmesh_gradual_share", Type::kGauge,
                "The newest version's GRADUAL share in percent (0 when it is not GRADUAL).");
    out_.Gauge({}, gradual);
  }

  uint64_t WindowRequests(const Cluster& cluster) const {
    const HealthFigures* window = sources_.monitor ? sources_.monitor->WindowOf(cluster.uuid) : nullptr;
    return window ? window->requests() : 0;
  }

  void Mesh() {
    out_.Family("upmesh_config_seq", Type::kGauge, "The cluster table's sequence number (grows with every change).");
    out_.Gauge({}, static_cast<double>(sources_.registry->seq()));
    out_.Family("upmesh_versions", Type::kGauge, "Versions in the cluster table (rolled back ones included).");
    out_.Gauge({}, static_cast<double>(table_.clusters().size()));
    out_.Family("upmesh_workers", Type::kGauge, "Workers the router sees alive.");
    out_.Gauge({}, static_cast<double>(sources_.workers));
    out_.Family("upmesh_build_info", Type::kGauge, "Always 1; the router's upmesh version.");
    out_.Gauge({{"version", UPMESH_VERSION}}, 1);
  }

  const MeshMetricsSources& sources_;
  const ClusterTable& table_;
  int64_t now_wall_ms_;
  HealthFigures none_;
  MetricsText out_;
};

}  // namespace

std::map<std::string, double> SetShares(const ClusterTable& table, double gradual_share) {
  std::map<std::string, double> shares;
  std::vector<const Cluster*> live = table.Live();
  if (live.empty()) return shares;
  UpgradeMode mode = live[0]->transition.mode;
  bool has_older = live.size() > 1;
  if (mode == UpgradeMode::kGradual && has_older) {
    shares[live[0]->uuid] = gradual_share;
    shares[live[1]->uuid] = 100 - gradual_share;
  } else {
    shares[live[0]->uuid] = 100;
    if (mode == UpgradeMode::kConcurrent && has_older) shares[live[1]->uuid] = 100;  // both are asked
  }
  return shares;
}

Status BuildMeshMetrics(const MeshMetricsSources& sources, int64_t now_wall_ms, std::string* page) {
  return PageBuilder(sources, now_wall_ms).Build(page);
}

}  // namespace upmesh::router
