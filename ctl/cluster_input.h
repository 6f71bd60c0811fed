// The body of `upmeshctl add`: a {"cluster": {...}} request for
// PUT /configuration/cluster, built from a file or from flags.
//
// Only the shape is checked here (JSON, an object, flags that fit together);
// the API validates the cluster itself and names any bad field, so the
// rules live in one place (shared/cluster.h ParseCluster, run by the router).
// Errors are Status::InvalidArgument with a message naming the file or flag.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/status.h"

namespace upmesh::ctl {

// `text` is either {"cluster": {...}} (sent as it is) or the bare cluster
// object (wrapped). `origin` names the input in errors ("--file cluster.json").
Status ClusterRequestFromText(const std::string& text, const std::string& origin, nlohmann::json* request);

// The flags of `upmeshctl add` that describe a cluster.
struct ClusterFlags {
  std::string version;               // --version: digits only -> a JSON number, else a string
  std::vector<std::string> servers;  // --server HOST:PORT, repeatable
  std::string uuid;                  // --uuid, optional
  std::string mode;                  // --mode, any case; "" -> no upgradeTransition (INSTANT)
  std::optional<int64_t> session_timeout_s;   // --session-timeout (SESSION, GRADUAL)
  std::optional<double> percentage;           // --percentage (GRADUAL by requests)
  std::optional<int64_t> duration_s;          // --duration-seconds (GRADUAL by time)
  std::optional<int64_t> delay_tolerance_ms;  // --delay-tolerance-ms (CONCURRENT)
  std::optional<std::string> unsafe_methods;  // --unsafe-methods old|new|both (CONCURRENT)
};

// Builds the request from flags. Errors: no --version or --server, a
// --server that is not HOST:PORT, an unknown --mode, or a transition flag
// that the mode does not use (it would be silently dropped otherwise).
Status ClusterRequestFromFlags(const ClusterFlags& flags, nlohmann::json* request);

}  // namespace upmesh::ctl
