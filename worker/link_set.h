// LinkSet reconciliation: which frontend links a worker opens and closes.
//
// A worker keeps one FrontendLink per frontend it knows of: those in its
// static list (worker.frontends / --frontend) and those in the router's
// latest FRONTENDS list. A link goes only when its frontend is silent past
// liveness AND absent from the router's latest list: a silent router (or
// one restarted with an empty list) never takes the data plane down, and a
// frontend the router still lists gets reconnected, not dropped. Static
// links never go. Pure policy: the worker does the sockets.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace upmesh::worker {

struct LinkPlan {
  std::vector<std::string> open;   // endpoints with no link yet, sorted
  std::vector<std::string> close;  // links to drop, sorted
};

// `links`: the current links by endpoint, true when its frontend is silent.
LinkPlan ReconcileLinks(const std::set<std::string>& static_list, const std::set<std::string>& advertised,
                        const std::map<std::string, bool>& links);

}  // namespace upmesh::worker
