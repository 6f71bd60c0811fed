#include "shared/frontend_list.h"

#include <nlohmann/json.hpp>

#include "shared/config.h"
#include "shared/json_parse.h"
#include "shared/json_reader.h"

namespace upmesh {

std::string EncodeFrontendList(const std::set<std::string>& endpoints) {
  return nlohmann::json(endpoints).dump();
}

Status DecodeFrontendList(std::string_view json, std::set<std::string>* endpoints) {
  nlohmann::json parsed;
  UPMESH_RETURN_IF_ERROR(ParseJson(json, JsonLimits{kMaxFrontends * (kMaxEndpointBytes + 4)}, &parsed));
  if (!parsed.is_array()) return Status::InvalidArgument("FRONTENDS: expected a JSON array of endpoints");
  if (parsed.size() > kMaxFrontends) return Status::InvalidArgument("FRONTENDS: more than 4096 endpoints");
  std::set<std::string> decoded;
  for (const nlohmann::json& entry : parsed) {
    if (!entry.is_string() || entry.get_ref<const std::string&>().size() > kMaxEndpointBytes) {
      return Status::InvalidArgument("FRONTENDS: every entry must be an endpoint string");
    }
    UPMESH_RETURN_IF_ERROR(ValidateEndpoint("FRONTENDS entry", entry.get<std::string>()));
    decoded.insert(entry.get<std::string>());
  }
  *endpoints = std::move(decoded);
  return Status::Ok();
}

std::string AdvertisedEndpoint(const std::string& announced, const std::string& peer_address) {
  constexpr std::string_view kTcp = "tcp://";
  if (peer_address.empty() || announced.compare(0, kTcp.size(), kTcp) != 0) return announced;
  size_t colon = announced.rfind(':');
  if (colon == std::string::npos || colon < kTcp.size()) return announced;
  std::string host = announced.substr(kTcp.size(), colon - kTcp.size());
  if (host != "*" && host != "0.0.0.0" && host != "::" && host != "[::]") return announced;
  bool ipv6 = peer_address.find(':') != std::string::npos;
  std::string peer = ipv6 ? "[" + peer_address + "]" : peer_address;
  return std::string(kTcp) + peer + announced.substr(colon);
}

}  // namespace upmesh
