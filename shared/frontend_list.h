// The frontends' worker endpoints, as the router tells workers about them
// (discovery: docs/protocol.md, "Discovery").
//
// A frontend announces where workers reach it (frontend.workerAdvertise,
// default its frontend.workerBind) in every ACK. An endpoint whose host is a
// wildcard (*, 0.0.0.0, ::) is no address a worker can connect to: the
// router puts in the address the frontend's control connection comes from
// (AdvertisedEndpoint). The router sends the list of live frontends to every
// worker as FRONTENDS [json]: a JSON array of endpoint strings, sorted, no
// duplicates (EncodeFrontendList / DecodeFrontendList).
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "shared/status.h"

namespace upmesh {

// The most endpoints a FRONTENDS frame may name, and the longest endpoint.
constexpr size_t kMaxFrontends = 4096;
constexpr size_t kMaxEndpointBytes = 512;

std::string EncodeFrontendList(const std::set<std::string>& endpoints);
// Errors name what is wrong; *endpoints is only set on success. Every entry
// must be a valid endpoint (ValidateEndpoint).
Status DecodeFrontendList(std::string_view json, std::set<std::string>* endpoints);

// `announced` (tcp://HOST:PORT) with a wildcard HOST replaced by `peer_address`
// (the control connection's ZeroMQ "Peer-Address"; IPv6 gets brackets).
// Another endpoint, or an empty peer address, is returned as it is.
std::string AdvertisedEndpoint(const std::string& announced, const std::string& peer_address);

}  // namespace upmesh
