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

// Takes the next "name=value" pair off the front of *query; false when none
// is left. Empty pairs ("a=1&&b=2") are skipped, a pair without '=' has an
// empty value.
bool NextPair(std::string_view* query, std::string_view* name, std::string_view* value) {
  while (!query->empty()) {
    size_t amp = query->find('&');
    std::string_view pair = query->substr(0, amp);
    *query = amp == std::string_view::npos ? std::string_view() : query->substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    *name = pair.substr(0, eq);
    *value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    return true;
  }
  return false;
}

// The index of `name` in names[0..count), or count.
int KeyIndex(std::string_view name, const char* const* names, int count) {
  int key = 0;
  while (key < count && name != names[key]) ++key;
  return key;
}

Status GivenTwice(std::string_view key) {
  return Status::InvalidArgument(std::string(key) + ": given more than once");
}

// The value checks shared by the request options and /__control; each error
// names `key` as the caller spelled it.

Status ParseSize(std::string_view key, std::string_view value, uint64_t* size) {
  if (!ParseBoundedUint(value, kMaxBodySize, size))
    return BadValue(key, "must be an integer in 0.." + std::to_string(kMaxBodySize), value);
  return Status::Ok();
}

Status ParseDelay(std::string_view key, std::string_view value, int* delay_ms) {
  uint64_t number = 0;
  if (!ParseBoundedUint(value, kMaxDelayMs, &number))
    return BadValue(key, "must be milliseconds in 0.." + std::to_string(kMaxDelayMs), value);
  *delay_ms = static_cast<int>(number);
  return Status::Ok();
}

Status ParseStatus(std::string_view key, std::string_view value, int* status) {
  uint64_t number = 0;
  if (!ParseBoundedUint(value, 599, &number) || number < 100)
    return BadValue(key, "must be an integer in 100..599", value);
  *status = static_cast<int>(number);
  return Status::Ok();
}

Status ParsePercent(std::string_view key, std::string_view value, int* percent) {
  uint64_t number = 0;
  if (!ParseBoundedUint(value, 100, &number)) return BadValue(key, "must be an integer in 0..100", value);
  *percent = static_cast<int>(number);
  return Status::Ok();
}

Status ParseFlag(std::string_view key, std::string_view value, bool* on) {
  if (value != "0" && value != "1") return BadValue(key, "must be 0 or 1", value);
  *on = value == "1";
  return Status::Ok();
}

}  // namespace

Status ParseResponseOptions(std::string_view query, const ResponseOptions& defaults,
                            ResponseOptions* options) {
  *options = defaults;
  enum Key { kSize, kChunked, kDelay, kStatus, kDrop, kEcho, kClose, kKeyCount };
  static const char* const kNames[kKeyCount] = {
      "size", "chunked", "delay", "status", "drop", "echo", "close"};
  bool seen[kKeyCount] = {};

  std::string_view name, value;
  while (NextPair(&query, &name, &value)) {
    int key = KeyIndex(name, kNames, kKeyCount);
    if (key == kKeyCount) continue;  // not ours: ignored on purpose
    if (seen[key]) return GivenTwice(name);
    seen[key] = true;

    Status checked;
    switch (key) {
      case kSize:
        checked = ParseSize(name, value, &options->size);
        options->has_size = true;
        break;
      case kDelay:
        checked = ParseDelay(name, value, &options->delay_ms);
        break;
      case kStatus:
        checked = ParseStatus(name, value, &options->status);
        break;
      case kChunked:
        checked = ParseFlag(name, value, &options->chunked);
        break;
      case kDrop:
        checked = ParseFlag(name, value, &options->drop);
        break;
      case kEcho:
        checked = ParseFlag(name, value, &options->echo);
        break;
      case kClose:
        checked = ParseFlag(name, value, &options->close);
        break;
    }
    if (!checked.ok()) return checked;
  }
  if (options->echo) {
    if (seen[kSize]) return Status::InvalidArgument("echo=1 and size=N both choose the body; use one");
    options->has_size = false;  // a --size default does not apply to echoes
  }
  return Status::Ok();
}

Status ApplyControl(std::string_view query, const Defaults& startup, Defaults* defaults) {
  enum Key { kReset, kStatus, kDelay, kSize, kErrorPercent, kKeyCount };
  static const char* const kNames[kKeyCount] = {"reset", "status", "delay", "size", "errorPercent"};
  bool seen[kKeyCount] = {};
  bool reset = false;
  Defaults given;  // the values of the keys in `seen`

  std::string_view name, value;
  while (NextPair(&query, &name, &value)) {
    int key = KeyIndex(name, kNames, kKeyCount);
    if (key == kKeyCount) {
      return Status::InvalidArgument(std::string(name) +
                                     ": not a /__control key (status, delay, size, errorPercent, reset)");
    }
    if (seen[key]) return GivenTwice(name);
    seen[key] = true;

    Status checked;
    switch (key) {
      case kReset:
        checked = ParseFlag(name, value, &reset);
        break;
      case kStatus:
        checked = ParseStatus(name, value, &given.response.status);
        break;
      case kDelay:
        checked = ParseDelay(name, value, &given.response.delay_ms);
        break;
      case kSize:
        checked = ParseSize(name, value, &given.response.size);
        break;
      case kErrorPercent:
        checked = ParsePercent(name, value, &given.error_percent);
        break;
    }
    if (!checked.ok()) return checked;
  }

  // reset=1 applies first wherever it stands, so "status=503&reset=1" keeps the 503.
  Defaults result = reset ? startup : *defaults;
  if (seen[kStatus]) result.response.status = given.response.status;
  if (seen[kDelay]) result.response.delay_ms = given.response.delay_ms;
  if (seen[kSize]) {
    result.response.has_size = true;
    result.response.size = given.response.size;
  }
  if (seen[kErrorPercent]) result.error_percent = given.error_percent;
  *defaults = result;
  return Status::Ok();
}

}  // namespace upmesh::backend
