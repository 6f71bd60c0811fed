#include "worker/request_head.h"

namespace upmesh::worker {

std::string_view RequestLineOf(std::string_view head) { return head.substr(0, head.find("\r\n")); }

RequestLine ParseRequestLine(std::string_view head) {
  std::string_view line = RequestLineOf(head);
  size_t method_end = line.find(' ');
  if (method_end == std::string_view::npos) return {};
  size_t target_end = line.find(' ', method_end + 1);
  if (target_end == std::string_view::npos) return {};
  return {line.substr(0, method_end), line.substr(method_end + 1, target_end - method_end - 1)};
}

std::string_view ClientAddressOf(std::string_view head) {
  constexpr std::string_view kField = "\r\nX-Forwarded-For: ";
  size_t start = head.find(kField);
  if (start == std::string_view::npos) return {};
  start += kField.size();
  std::string_view value = head.substr(start, head.find("\r\n", start) - start);
  size_t last = value.rfind(',');
  if (last != std::string_view::npos) value.remove_prefix(last + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return value;
}

}  // namespace upmesh::worker
