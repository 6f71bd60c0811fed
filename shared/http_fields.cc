#include "shared/http_fields.h"

#include <algorithm>
#include <cctype>

namespace upmesh::http {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool IsToken(std::string_view text) {
  static const std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && kSpecials.find(c) == std::string_view::npos) return false;
  }
  return true;
}

const std::string* FindField(const FieldList& fields, std::string_view name) {
  for (const Field& field : fields) {
    if (EqualsIgnoreCase(field.name, name)) return &field.value;
  }
  return nullptr;
}

int CountFields(const FieldList& fields, std::string_view name) {
  return static_cast<int>(std::count_if(fields.begin(), fields.end(), [&](const Field& f) {
    return EqualsIgnoreCase(f.name, name);
  }));
}

std::vector<std::string> SplitTokens(std::string_view list) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view token = list.substr(start, comma - start);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty()) {
      std::string lower(token);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      tokens.push_back(std::move(lower));
    }
    start = comma + 1;
  }
  return tokens;
}

HopByHop::HopByHop(const FieldList& fields) {
  for (const Field& field : fields) {
    if (EqualsIgnoreCase(field.name, "connection")) {
      for (std::string& token : SplitTokens(field.value)) connection_tokens_.push_back(std::move(token));
    }
  }
}

bool HopByHop::Contains(std::string_view name) const {
  static const char* kAlways[] = {"connection", "keep-alive", "proxy-connection", "te",
                                  "transfer-encoding", "upgrade", "trailer"};
  for (const char* fixed : kAlways) {
    if (EqualsIgnoreCase(name, fixed)) return true;
  }
  for (const std::string& token : connection_tokens_) {
    if (EqualsIgnoreCase(name, token)) return true;
  }
  return false;
}

bool HopByHop::ConnectionHas(std::string_view token) const {
  for (const std::string& t : connection_tokens_) {
    if (EqualsIgnoreCase(t, token)) return true;
  }
  return false;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void AppendField(std::string* out, std::string_view name, std::string_view value) {
  out->append(name);
  out->append(": ");
  out->append(value);
  out->append("\r\n");
}

void AppendListField(std::string* out, const FieldList& fields, std::string_view name, std::string_view entry) {
  out->append(name);
  out->append(": ");
  for (const Field& field : fields) {
    if (!EqualsIgnoreCase(field.name, name) || field.value.empty()) continue;
    out->append(field.value);
    out->append(", ");
  }
  out->append(entry);
  out->append("\r\n");
}

SimpleResponse MakeSimpleResponse(int status, std::string_view detail) {
  SimpleResponse response;
  response.body = std::to_string(status) + " " + ReasonPhrase(status);
  if (!detail.empty()) {
    response.body += ": ";
    response.body += detail;
  }
  response.body += "\n";
  response.head = "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
  AppendField(&response.head, "Content-Type", "text/plain; charset=utf-8");
  AppendField(&response.head, "Content-Length", std::to_string(response.body.size()));
  return response;
}

}  // namespace upmesh::http
