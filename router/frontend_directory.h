// FrontendDirectory: the live frontends and where workers reach them, for
// discovery (shared/frontend_list.h).
//
// Each frontend's ACK names its worker endpoint (already resolved against
// the connection's peer address). A frontend not heard from for `expiry_ms`
// leaves the directory, like a silent worker. Heard and Expire say whether
// the set of endpoints changed, so the router tells workers at once.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

namespace upmesh::router {

class FrontendDirectory {
 public:
  explicit FrontendDirectory(int64_t expiry_ms) : expiry_ms_(expiry_ms) {}

  // True if the endpoint set changed (a new frontend, or a new endpoint).
  bool Heard(const std::string& frontend_id, const std::string& endpoint, int64_t now);
  // Drops the frontends silent since now - expiry; true if the set changed.
  bool Expire(int64_t now);
  // Every live frontend's endpoint, sorted, without duplicates.
  std::set<std::string> Endpoints() const;
  // Where workers reach the frontend ("" if it named none).
  std::string EndpointOf(const std::string& frontend_id) const;

 private:
  struct Entry {
    std::string endpoint;
    int64_t heard_ms = 0;
  };
  int64_t expiry_ms_;
  std::map<std::string, Entry> frontends_;  // by routing id
};

}  // namespace upmesh::router
