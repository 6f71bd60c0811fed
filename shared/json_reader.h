// JsonObjectReader: reads one JSON object field by field for config files and
// API bodies, so that every error names the field's full path
// ("cluster.servers[0].port: must be an integer in 1..65535, got 70000") and
// keys nobody read can be reported as unknown (a typo must not silently fall
// back to a default).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/json_parse.h"
#include "shared/status.h"
#include "shared/suggest.h"

namespace upmesh {

class JsonObjectReader {
 public:
  JsonObjectReader(const nlohmann::json& object, std::string path)
      : object_(object), path_(std::move(path)) {}

  std::string PathOf(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  // The value under `key` (marked as read), or nullptr if absent.
  const nlohmann::json* Find(const std::string& key) {
    seen_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

  // Absent keys leave *out unchanged.
  template <typename Int>
  Status ReadInt(const std::string& key, int64_t min, int64_t max, Int* out) {
    const nlohmann::json* value = Find(key);
    if (!value) return Status::Ok();
    if (!value->is_number_integer() || value->get<int64_t>() < min || value->get<int64_t>() > max) {
      return Status::InvalidArgument(PathOf(key) + ": must be an integer in " + std::to_string(min) + ".." +
                                     std::to_string(max) + ", got " + JsonForMessage(*value));
    }
    *out = static_cast<Int>(value->get<int64_t>());
    return Status::Ok();
  }

  // A number (integer or not) in [min, max]; absent keys leave *out unchanged.
  Status ReadNumber(const std::string& key, double min, double max, double* out) {
    const nlohmann::json* value = Find(key);
    if (!value) return Status::Ok();
    if (!value->is_number() || !(value->get<double>() >= min) || !(value->get<double>() <= max)) {
      return Status::InvalidArgument(PathOf(key) + ": must be a number in " + FormatNumber(min) + ".." +
                                     FormatNumber(max) + ", got " + JsonForMessage(*value));
    }
    *out = value->get<double>();
    return Status::Ok();
  }

  Status ReadBool(const std::string& key, bool* out) {
    const nlohmann::json* value = Find(key);
    if (!value) return Status::Ok();
    if (!value->is_boolean()) return Status::InvalidArgument(PathOf(key) + ": must be true or false, got " + JsonForMessage(*value));
    *out = value->get<bool>();
    return Status::Ok();
  }

  Status ReadString(const std::string& key, std::string* out) {
    const nlohmann::json* value = Find(key);
    if (!value) return Status::Ok();
    if (!value->is_string() || value->get<std::string>().empty()) {
      return Status::InvalidArgument(PathOf(key) + ": must be a non-empty string, got " + JsonForMessage(*value));
    }
    *out = value->get<std::string>();
    return Status::Ok();
  }

  // Every key this object may have was looked up (Find) before this call, so
  // the keys seen are the ones to suggest from: "proxy.prot: unknown key; did
  // you mean proxy.port?".
  Status CheckNoUnknownKeys() const {
    for (auto it = object_.begin(); it != object_.end(); ++it) {
      if (seen_.count(it.key())) continue;
      std::string meant = ClosestName(it.key(), std::vector<std::string>(seen_.begin(), seen_.end()));
      return Status::InvalidArgument(PathOf(NameForMessage(it.key())) + ": unknown key" +
                                     (meant.empty() ? "" : "; did you mean " + PathOf(meant) + "?"));
    }
    return Status::Ok();
  }

 private:
  static std::string FormatNumber(double value) { return nlohmann::json(value).dump(); }

  const nlohmann::json& object_;
  std::string path_;
  std::set<std::string> seen_;
};

#define UPMESH_RETURN_IF_ERROR(expr)     \
  do {                                   \
    ::upmesh::Status _status = (expr);   \
    if (!_status.ok()) return _status;   \
  } while (0)

}  // namespace upmesh
