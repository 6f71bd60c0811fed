#include "frontend/upstream_head.h"

#include <string_view>

namespace upmesh::frontend {
namespace {

// The list fields BuildUpstreamHead rewrites with this hop's entry appended.
bool IsListWeExtend(std::string_view name) {
  return http::EqualsIgnoreCase(name, "via") || http::EqualsIgnoreCase(name, "x-forwarded-for") ||
         http::EqualsIgnoreCase(name, "forwarded");
}

// RFC 7239 forwarded-element for the client: IPv6 addresses in quotes and brackets.
std::string ForwardedFor(const std::string& client_ip) {
  if (client_ip.find(':') == std::string::npos) return "for=" + client_ip;
  return "for=\"[" + client_ip + "]\"";
}

}  // namespace

std::string BuildUpstreamHead(const http::Request& request, const std::string& client_ip) {
  std::string head;
  head.reserve(256 + request.target.size() + request.fields.size() * 48);
  head.append(request.method).append(" ").append(request.target).append(" HTTP/1.1\r\n");
  http::HopByHop hop_by_hop(request.fields);
  for (const http::Field& field : request.fields) {
    if (hop_by_hop.Contains(field.name) || http::EqualsIgnoreCase(field.name, "content-length")) continue;
    if (http::EqualsIgnoreCase(field.name, "expect")) continue;  // the body is already here
    if (IsListWeExtend(field.name)) continue;
    http::AppendField(&head, field.name, field.value);
  }
  if (request.had_framing || !request.body.empty()) {
    http::AppendField(&head, "Content-Length", std::to_string(request.body.size()));
  }
  http::AppendListField(&head, request.fields, "Via", request.version_minor == 0 ? "1.0 upmesh" : "1.1 upmesh");
  // The client's own entries are passed on as they came: only the last entry
  // of each list is upmesh's word (docs/http-conformance.md).
  http::AppendListField(&head, request.fields, "X-Forwarded-For", client_ip);
  http::AppendListField(&head, request.fields, "Forwarded", ForwardedFor(client_ip));
  return head;
}

}  // namespace upmesh::frontend
