#include "router/frontend_directory.h"

namespace upmesh::router {

bool FrontendDirectory::Heard(const std::string& frontend_id, const std::string& endpoint, int64_t now) {
  std::set<std::string> before = Endpoints();
  Entry& entry = frontends_[frontend_id];
  entry.endpoint = endpoint;
  entry.heard_ms = now;
  return Endpoints() != before;
}

bool FrontendDirectory::Expire(int64_t now) {
  std::set<std::string> before = Endpoints();
  for (auto it = frontends_.begin(); it != frontends_.end();) {
    it = now - it->second.heard_ms >= expiry_ms_ ? frontends_.erase(it) : std::next(it);
  }
  return Endpoints() != before;
}

std::set<std::string> FrontendDirectory::Endpoints() const {
  std::set<std::string> endpoints;
  for (const auto& [id, entry] : frontends_) endpoints.insert(entry.endpoint);
  return endpoints;
}

std::string FrontendDirectory::EndpointOf(const std::string& frontend_id) const {
  auto found = frontends_.find(frontend_id);
  return found == frontends_.end() ? "" : found->second.endpoint;
}

}  // namespace upmesh::router
