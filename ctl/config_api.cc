#include "ctl/config_api.h"

#include <cctype>
#include <cstdio>
#include <cstring>

#include "ctl/http_client.h"
#include "shared/cluster_limits.h"
#include "shared/config.h"
#include "shared/json_parse.h"
#include "shared/json_reader.h"

namespace upmesh::ctl {
namespace {

using nlohmann::json;

constexpr char kClusters[] = "/configuration/cluster";
// A GET of the whole table at the largest configService.maxTableBytes, with
// the state of each version next to it.
constexpr JsonLimits kAnswerLimits{4 * kMaxTableBytesCeiling};

// The API's error text, trimmed to one paragraph: the router answers
// text/plain ("cluster.servers: must be a non-empty array ..."); a JSON body
// with "error" or "message" is shown by that field.
std::string ErrorText(const std::string& body) {
  json parsed;
  if (ParseJson(body, kAnswerLimits, &parsed).ok() && parsed.is_object()) {
    for (const char* key : {"error", "message"}) {
      if (parsed.contains(key) && parsed[key].is_string()) return parsed[key].get<std::string>();
    }
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  constexpr size_t kMaxShown = 2000;
  if (text.size() > kMaxShown) text = text.substr(0, kMaxShown) + "...";
  return text;
}

}  // namespace

std::string ApiAddress::ToString() const {
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return (https ? "https://" : "") + shown_host + ":" + std::to_string(port);
}

Status ParseApiAddress(const std::string& text, ApiAddress* address) {
  std::string rest = text;
  bool https = false;
  for (const char* scheme : {"http://", "https://"}) {
    if (rest.rfind(scheme, 0) == 0) {
      https = std::string(scheme) == "https://";
      rest = rest.substr(std::strlen(scheme));
    }
  }
  if (rest.find("://") != std::string::npos) {
    return Status::InvalidArgument("\"" + text + "\": the scheme must be http:// or https://");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  ServerAddress parsed;
  Status status = ParseServerAddress(rest, &parsed);
  if (!status.ok()) return status;
  address->host = parsed.host;
  address->port = parsed.port;
  address->https = https;
  return Status::Ok();
}

std::string ClusterTarget(const std::string& id) {
  std::string target = std::string(kClusters) + "/";
  for (unsigned char c : id) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      target.push_back(static_cast<char>(c));
    } else {
      char escaped[4];
      std::snprintf(escaped, sizeof escaped, "%%%02X", c);
      target += escaped;
    }
  }
  return target;
}

Status ConfigApiClient::Call(const std::string& method, const std::string& target, const std::string& body,
                             std::string* response_body) const {
  HttpRequest request{method, target, body, body.empty() ? "" : "application/json", token_.token};
  HttpResponse response;
  const TlsClientContext* tls = address_.https ? tls_.get() : nullptr;
  if (address_.https && !tls) return Status::InvalidArgument(address_.ToString() + ": no TLS settings");
  Status exchanged = HttpExchange(address_.host, address_.port, request, timeout_ms_, tls, &response);
  if (!exchanged.ok()) return Status::Unavailable("cannot reach the config API at " + exchanged.message());
  if (response.status / 100 == 2) {
    *response_body = std::move(response.body);
    return Status::Ok();
  }
  std::string message = "the API at " + address_.ToString() + " answered " + method + " " + target + " with " +
                        std::to_string(response.status) + " " + response.reason;
  std::string text = ErrorText(response.body);
  if (!text.empty()) message += ": " + text;
  if (response.status == 401) {
    message += token_.configured()
                   ? " (the token from " + token_.origin + " is not the router's: give the router's token "
                     "(its --token-file, UPMESH_API_TOKEN or configService.tokenFile))"
                   : std::string(" (it needs a token: pass --token-file FILE (a file only you can read) or "
                                 "set UPMESH_API_TOKEN, with the router's token)");
  }
  if (response.status == 404) return Status::NotFound(message);
  return Status::InvalidArgument(message);
}

Status ConfigApiClient::CallForJson(const std::string& target, json* out) const {
  std::string body;
  UPMESH_RETURN_IF_ERROR(Call("GET", target, "", &body));
  if (Status parsed = ParseJson(body, kAnswerLimits, out); !parsed.ok()) {
    return Status::InvalidArgument("the API at " + address_.ToString() + " answered GET " + target +
                                   " with something that is not JSON (" + parsed.message() + "): " + ErrorText(body));
  }
  return Status::Ok();
}

Status ConfigApiClient::List(json* clusters) const {
  UPMESH_RETURN_IF_ERROR(CallForJson(kClusters, clusters));
  if (!clusters->is_array()) {
    return Status::InvalidArgument("the API at " + address_.ToString() + " answered GET " + kClusters +
                                   " with JSON that is not an array");
  }
  return Status::Ok();
}

Status ConfigApiClient::MeshStatus(json* status) const {
  UPMESH_RETURN_IF_ERROR(CallForJson("/status", status));
  if (!status->is_object()) {
    return Status::InvalidArgument("the API at " + address_.ToString() + " answered GET /status with JSON that is not an object");
  }
  return Status::Ok();
}

Status ConfigApiClient::Show(const std::string& id, json* entry) const {
  UPMESH_RETURN_IF_ERROR(CallForJson(ClusterTarget(id), entry));
  if (!entry->is_object()) {
    return Status::InvalidArgument("the API at " + address_.ToString() + " answered GET " + ClusterTarget(id) +
                                   " with JSON that is not an object");
  }
  return Status::Ok();
}

Status ConfigApiClient::Add(const json& request, std::string* uuid) const {
  std::string body;
  UPMESH_RETURN_IF_ERROR(Call("PUT", kClusters, request.dump(), &body));
  // The body is the uuid as text/plain; tolerate a trailing newline.
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == ' ')) body.pop_back();
  if (body.empty()) {
    return Status::InvalidArgument("the API at " + address_.ToString() + " accepted the cluster but sent no uuid");
  }
  *uuid = body;
  return Status::Ok();
}

Status ConfigApiClient::Delete(const std::string& id) const {
  std::string body;
  return Call("DELETE", ClusterTarget(id), "", &body);
}

Status ConfigApiClient::RollBack(const std::string& id) const {
  std::string body;
  return Call("POST", ClusterTarget(id) + "/rollback", "", &body);
}

}  // namespace upmesh::ctl
