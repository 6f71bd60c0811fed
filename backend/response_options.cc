#include "backend/response_options.h"

#include <string>

namespace upmesh::backend {
namespace {

// Decimal digits only (no sign, no spaces), at most `max`.
bool ParseBoundedUint(std::string_view text, uint64_t max, uint64_t* value) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (result > (max - digit) / 10) return false;
    result = result * 10 + digit;
  }
  *value = result;
  return true;
}

Status BadValue(std::string_view key, std::string_view expected, std::string_view value) {
  return Status::InvalidArgument(std::string(key) + ": " + std::string(expected) + ", got \"" +
                                 std::string(value) + "\"");
}

}  // namespace

Status ParseResponseOptions(std::string_view query, const ResponseOptions& defaults,
                            ResponseOptions* options) {
  *options = defaults;
  enum Key { kSize, kChunked, kDelay, kStatus, kDrop, kEcho, kClose, kKeyCount };
  static const char* kNames[kKeyCount] = {"size", "chunked", "delay", "status", "drop", "echo", "close"};
  bool seen[kKeyCount] = {};

  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;

    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    int key = 0;
    while (key < kKeyCount && name != kNames[key]) ++key;
    if (key == kKeyCount) continue;  // not ours: ignored on purpose
    if (seen[key]) return Status::InvalidArgument(std::string(name) + ": given more than once");
    seen[key] = true;

    uint64_t number = 0;
    switch (key) {
      case kSize:
        if (!ParseBoundedUint(value, kMaxBodySize, &number))
          return BadValue(name, "must be an integer in 0.." + std::to_string(kMaxBodySize), value);
        options->has_size = true;
        options->size = number;
        break;
      case kDelay:
        if (!ParseBoundedUint(value, kMaxDelayMs, &number))
          return BadValue(name, "must be milliseconds in 0.." + std::to_string(kMaxDelayMs), value);
        options->delay_ms = static_cast<int>(number);
        break;
      case kStatus:
        if (!ParseBoundedUint(value, 599, &number) || number < 100)
          return BadValue(name, "must be an integer in 100..599", value);
        options->status = static_cast<int>(number);
        break;
      default: {  // the 0/1 flags
        if (value != "0" && value != "1") return BadValue(name, "must be 0 or 1", value);
        bool on = value == "1";
        if (key == kChunked) options->chunked = on;
        if (key == kDrop) options->drop = on;
        if (key == kEcho) options->echo = on;
        if (key == kClose) options->close = on;
      }
    }
  }
  if (options->echo && options->has_size) {
    return Status::InvalidArgument("echo=1 and size=N both choose the body; use one");
  }
  return Status::Ok();
}

}  // namespace upmesh::backend
