#include "worker/version_choice.h"

#include <cctype>
#include <cstdlib>
#include <ctime>

#include "shared/http_fields.h"

namespace upmesh::worker {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string SessionCookie(const std::string& uuid, int64_t timeout_s, int64_t now_wall_ms) {
  return "Set-Cookie: " + std::string(kSessionCookie) + "=" + uuid + "; Max-Age=" + std::to_string(timeout_s) +
         "; Expires=" + HttpDate(now_wall_ms + timeout_s * 1000) + "; Path=/; HttpOnly\r\n";
}

std::string TransitionCookie(int position) {
  // A position must outlive any ramp: a year.
  return "Set-Cookie: " + std::string(kTransitionCookie) + "=" + std::to_string(position) +
         "; Max-Age=31536000; Path=/; HttpOnly\r\n";
}

}  // namespace

VersionChoice ChooseVersion(const std::vector<Cluster>& clusters, const VersionRequest& request,
                            const std::function<int()>& new_position) {
  VersionChoice choice;
  if (clusters.empty()) return choice;
  choice.primary = 0;
  const UpgradeTransition& transition = clusters[0].transition;
  bool has_previous = clusters.size() > 1;
  switch (transition.mode) {
    case UpgradeMode::kInstant:
      break;
    case UpgradeMode::kSession: {
      if (request.session_uuid) {
        for (size_t i = 0; i < clusters.size(); ++i) {
          if (clusters[i].uuid == *request.session_uuid) choice.primary = static_cast<int>(i);
        }
      }
      choice.set_cookie = SessionCookie(clusters[choice.primary].uuid, transition.session_timeout_s,
                                        request.now_wall_ms);
      break;
    }
    case UpgradeMode::kGradual: {
      int position = request.position ? *request.position : new_position();
      // Monotone by construction: the share only grows, the position never changes.
      if (has_previous && !(position < request.gradual_share)) choice.primary = 1;
      choice.set_cookie = TransitionCookie(position);
      break;
    }
    case UpgradeMode::kConcurrent:
      if (!has_previous) break;
      if (request.safe || transition.unsafe_methods == UnsafeMethodPolicy::kBoth) {
        choice.compared = 1;
      } else if (transition.unsafe_methods == UnsafeMethodPolicy::kOldOnly) {
        choice.primary = 1;  // a write reaches one version only: the proven one
      }
      break;
  }
  return choice;
}

VersionRequest ReadVersionRequest(std::string_view head, UpgradeMode mode, bool safe, double gradual_share,
                                  int64_t now_wall_ms) {
  VersionRequest request;
  if (mode == UpgradeMode::kSession) request.session_uuid = FindCookie(head, kSessionCookie);
  if (mode == UpgradeMode::kGradual) {
    if (std::optional<std::string> position = FindCookie(head, kTransitionCookie)) {
      char* end = nullptr;
      long value = std::strtol(position->c_str(), &end, 10);
      if (!position->empty() && *end == '\0' && value >= 0 && value < 100) request.position = static_cast<int>(value);
    }
  }
  request.safe = safe;
  request.gradual_share = gradual_share;
  request.now_wall_ms = now_wall_ms;
  return request;
}

std::optional<std::string> FindCookie(std::string_view head, std::string_view name) {
  size_t line_start = head.find("\r\n");  // skip the request line
  while (line_start != std::string_view::npos && line_start + 2 < head.size()) {
    line_start += 2;
    size_t line_end = head.find("\r\n", line_start);
    std::string_view line = head.substr(line_start, line_end == std::string_view::npos ? head.npos : line_end - line_start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && http::EqualsIgnoreCase(line.substr(0, colon), "cookie")) {
      std::string_view pairs = line.substr(colon + 1);
      while (!pairs.empty()) {
        size_t semicolon = pairs.find(';');
        std::string_view pair = Trim(pairs.substr(0, semicolon));
        size_t equals = pair.find('=');
        if (equals != std::string_view::npos && Trim(pair.substr(0, equals)) == name) {
          std::string_view value = Trim(pair.substr(equals + 1));
          if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
          return std::string(value);
        }
        if (semicolon == std::string_view::npos) break;
        pairs.remove_prefix(semicolon + 1);
      }
    }
    line_start = line_end;
  }
  return std::nullopt;
}

std::string HttpDate(int64_t wall_ms) {
  time_t seconds = static_cast<time_t>(wall_ms / 1000);
  tm utc;
  gmtime_r(&seconds, &utc);
  char text[64];
  strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return text;
}

}  // namespace upmesh::worker
