// Choosing the cluster version for one request: the upgrade modes.
//
// The decision is a pure function of the cluster table, the request's
// cookies, whether its method is safe, and the GRADUAL share the router
// stamped on it, so every worker gives the same answer for the same request
// (workers can be added or removed freely). The only randomness is a new
// GRADUAL client's position, which is then fixed by its cookie.
//
//   INSTANT     every request goes to the newest version.
//   SESSION     a valid dynsoftup=<uuid> cookie keeps a client on its
//               version; anyone else goes to the newest. The cookie is
//               renewed on every response (sessionTimeout of silence ends it).
//   GRADUAL     transition=<position> (0..99) fixes a client's place; it is on
//               the newest version once the share passes its position.
//   CONCURRENT  safe requests go to the two newest versions and are compared;
//               unsafe ones follow the cluster's unsafeMethods policy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/cluster.h"

namespace upmesh::worker {

constexpr std::string_view kSessionCookie = "dynsoftup";
constexpr std::string_view kTransitionCookie = "transition";

struct VersionRequest {
  std::optional<std::string> session_uuid;  // dynsoftup cookie
  std::optional<int> position;              // transition cookie, if valid (0..99)
  bool safe = true;                         // GET, HEAD, OPTIONS, TRACE
  double gradual_share = 0;                 // percent, from the router's stamp
  int64_t now_wall_ms = 0;                  // for Expires
};

struct VersionChoice {
  int primary = -1;    // index into the table (newest first); -1: no cluster at all
  int compared = -1;   // CONCURRENT: the old version whose answer is compared with primary's
  std::string set_cookie;  // whole "Set-Cookie: ...\r\n" lines for the response
};

// `clusters`: newest first. `new_position` gives a fresh client's GRADUAL
// position in 0..99.
VersionChoice ChooseVersion(const std::vector<Cluster>& clusters, const VersionRequest& request,
                            const std::function<int()>& new_position);

// The request as ChooseVersion sees it: from `head`, only the cookie that
// `mode` (the newest version's) reads; a transition position outside 0..99
// is no position.
VersionRequest ReadVersionRequest(std::string_view head, UpgradeMode mode, bool safe, double gradual_share,
                                  int64_t now_wall_ms);

// The value of cookie `name` in a request head's Cookie fields, if any.
std::optional<std::string> FindCookie(std::string_view head, std::string_view name);

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") for `wall_ms`.
std::string HttpDate(int64_t wall_ms);

}  // namespace upmesh::worker
