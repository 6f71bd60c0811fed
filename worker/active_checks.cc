#include "worker/active_checks.h"

namespace upmesh::worker {

void ActiveChecks::Rebuild(const std::vector<Cluster>& live, const std::vector<Route>& routes,
                           const std::string& worker_name, int64_t now_ms) {
  std::map<size_t, Check> checks;
  for (size_t i = 0; i < live.size(); ++i) {
    if (!live[i].has_health_check) continue;
    const HealthCheck& wanted = live[i].health_check;
    for (size_t pool : routes[i].pools) {
      if (checks.count(pool)) continue;  // a newer version already said how
      Check check;
      check.head = "GET " + wanted.path + " HTTP/1.1\r\nUser-Agent: upmesh-health-check\r\nX-Upmesh-Worker: " +
                   worker_name + "\r\n";
      check.interval_ms = wanted.interval_ms;
      check.timeout_ms = wanted.timeout_ms;
      check.next_ms = now_ms;
      if (auto old = checks_.find(pool); old != checks_.end()) {
        check.next_ms = old->second.next_ms;  // keep the rhythm
        check.in_flight = old->second.in_flight;
      }
      checks.emplace(pool, std::move(check));
    }
  }
  checks_ = std::move(checks);
}

std::vector<ActiveChecks::Probe> ActiveChecks::TakeDue(int64_t now_ms) {
  std::vector<Probe> due;
  for (auto& [pool, check] : checks_) {
    if (check.in_flight || now_ms < check.next_ms) continue;
    check.in_flight = true;
    check.next_ms = now_ms + check.interval_ms;
    due.push_back({pool, check.head, check.timeout_ms});
  }
  return due;
}

void ActiveChecks::Done(size_t pool) {
  if (auto check = checks_.find(pool); check != checks_.end()) check->second.in_flight = false;
}

}  // namespace upmesh::worker
