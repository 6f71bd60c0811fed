#include "shared/http_request_target.h"

#include "shared/http_fields.h"

namespace upmesh::http {
namespace {

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAlnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// reg-name = *( unreserved / pct-encoded / sub-delims ), which also covers IPv4address.
bool IsRegName(std::string_view host) {
  static const std::string_view kAllowed = "-._~!$&'()*+,;=";
  for (size_t i = 0; i < host.size(); ++i) {
    char c = host[i];
    if (c == '%') {
      if (i + 2 >= host.size()) return false;
      if (!IsHexDigit(host[i + 1]) || !IsHexDigit(host[i + 2])) return false;
      i += 2;
    } else if (!IsAlnum(c) && kAllowed.find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// IP-literal = "[" ( IPv6address / IPvFuture ) "]", checked for its alphabet only.
bool IsIpLiteral(std::string_view host) {
  if (host.size() < 3 || host.front() != '[' || host.back() != ']') return false;
  for (char c : host.substr(1, host.size() - 2)) {
    if (!IsHexDigit(c) && c != ':' && c != '.') return false;
  }
  return true;
}

bool IsPort(std::string_view port) {
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

bool IsValidHostValue(std::string_view value) {
  std::string_view host = value;
  size_t colon = value.rfind(':');
  if (colon != std::string_view::npos && value.find(']', colon) == std::string_view::npos) {
    host = value.substr(0, colon);
    if (!IsPort(value.substr(colon + 1))) return false;
  }
  if (!host.empty() && host.front() == '[') return IsIpLiteral(host);
  return IsRegName(host);
}

TargetForm ParseRequestTarget(std::string_view method, std::string_view target) {
  TargetForm form;
  if (target.find('#') != std::string_view::npos) {
    form.error = "a request target has no fragment";
    return form;
  }
  if (!target.empty() && target.front() == '/') {
    form.origin_form = std::string(target);
    return form;
  }
  if (target == "*") {
    if (method != "OPTIONS") form.error = "the asterisk target is for OPTIONS only";
    else form.origin_form = "*";
    return form;
  }
  size_t scheme_end = target.find("://");
  std::string_view scheme = target.substr(0, scheme_end);
  if (scheme_end == std::string_view::npos ||
      !(EqualsIgnoreCase(scheme, "http") || EqualsIgnoreCase(scheme, "https"))) {
    form.error = "request target is neither a path nor an http(s) URI";
    return form;
  }
  std::string_view rest = target.substr(scheme_end + 3);
  size_t authority_end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    form.error = "userinfo in the request target";  // RFC 9110 4.2.4
    return form;
  }
  if (authority.empty() || authority.front() == ':' || !IsValidHostValue(authority)) {
    form.error = "invalid host in the request target";
    return form;
  }
  form.authority = std::string(authority);
  form.origin_form = path.empty() || path.front() == '?' ? "/" + std::string(path) : std::string(path);
  return form;
}

}  // namespace upmesh::http
