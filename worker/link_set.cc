#include "worker/link_set.h"

#include <algorithm>

namespace upmesh::worker {

LinkPlan ReconcileLinks(const std::set<std::string>& static_list, const std::set<std::string>& advertised,
                        const std::map<std::string, bool>& links) {
  LinkPlan plan;
  for (const std::set<std::string>* wanted : {&static_list, &advertised}) {
    for (const std::string& endpoint : *wanted) {
      if (!links.count(endpoint) && (wanted == &static_list || !static_list.count(endpoint))) {
        plan.open.push_back(endpoint);
      }
    }
  }
  for (const auto& [endpoint, silent] : links) {
    if (silent && !static_list.count(endpoint) && !advertised.count(endpoint)) plan.close.push_back(endpoint);
  }
  std::sort(plan.open.begin(), plan.open.end());
  return plan;
}

}  // namespace upmesh::worker
