// ConfigApiClient: the config REST API of upmesh-router, as upmeshctl uses it
// (docs/rest-api.md describes the API itself).
//
// Every call is one HTTP exchange on a fresh connection (https when the
// address says so). Errors:
//   * Status::Unavailable: the API could not be reached or did not answer
//     with HTTP in time, or its TLS certificate did not verify; the message
//     names the address.
//   * Status::NotFound: the API answered 404 (no cluster with that id).
//   * Status::InvalidArgument: the API answered any other error status (a 401
//     says which token to give, or that the one given is wrong), or a
//     success whose body is not what the API promises; the message carries
//     the status and the API's own text (which names the offending field).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ctl/tls_client.h"
#include "shared/api_token.h"
#include "shared/status.h"

namespace upmesh::ctl {

struct ApiAddress {
  std::string host = "127.0.0.1";
  uint16_t port = 9090;
  bool https = false;
  std::string ToString() const;  // "127.0.0.1:9090", "[::1]:9090", "https://localhost:9090"
};

// Parses "HOST:PORT" ("127.0.0.1:9090", "localhost:9090", "[::1]:9090"),
// optionally after "http://" or "https://" and before a final "/".
Status ParseApiAddress(const std::string& text, ApiAddress* address);

class ConfigApiClient {
 public:
  // `token`: sent with every request when configured (shared/api_token.h).
  // `tls`: how an https address's certificate is checked (needed for one).
  ConfigApiClient(ApiAddress address, int timeout_ms, ApiToken token = {},
                  std::shared_ptr<const TlsClientContext> tls = nullptr)
      : address_(std::move(address)), timeout_ms_(timeout_ms), token_(std::move(token)), tls_(std::move(tls)) {}

  const ApiAddress& address() const { return address_; }

  // GET /configuration/cluster: a JSON array, newest first, of
  // {"cluster": {...}, "state": {...}}.
  Status List(nlohmann::json* clusters) const;
  // GET /status: the mesh at a glance (versions with mode, health and
  // share; the live workers and frontends), a JSON object.
  Status MeshStatus(nlohmann::json* status) const;
  // GET /configuration/cluster/{id}: {"cluster": {...}, "state": {...}}.
  Status Show(const std::string& id, nlohmann::json* entry) const;
  // PUT /configuration/cluster with `request` ({"cluster": {...}}): the new
  // cluster's uuid.
  Status Add(const nlohmann::json& request, std::string* uuid) const;
  // DELETE /configuration/cluster/{id}.
  Status Delete(const std::string& id) const;
  // POST /configuration/cluster/{id}/rollback: the version gets no traffic
  // any more and stays listed with its evidence. The API refuses (409) a
  // version already rolled back or the last one that can serve.
  Status RollBack(const std::string& id) const;

 private:
  // One exchange; a non-2xx answer becomes NotFound / InvalidArgument.
  Status Call(const std::string& method, const std::string& target, const std::string& body,
              std::string* response_body) const;
  Status CallForJson(const std::string& target, nlohmann::json* out) const;

  ApiAddress address_;
  int timeout_ms_;
  ApiToken token_;
  std::shared_ptr<const TlsClientContext> tls_;
};

// The request target of one cluster: /configuration/cluster/<id, percent-encoded>.
std::string ClusterTarget(const std::string& id);

}  // namespace upmesh::ctl
