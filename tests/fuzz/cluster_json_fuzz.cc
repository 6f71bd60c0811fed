// libFuzzer target: arbitrary bytes through the bounded JSON parse and
// ParseCluster.
//
// Checked: no crash; every error message is short (ParseJson and the
// validation quote at most a few dozen bytes of the input); a cluster that
// parses round-trips through its stored form (what the state file and the
// broadcast carry) to the same cluster, and its API form parses again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "shared/cluster.h"
#include "shared/json_parse.h"

namespace {

using nlohmann::json;

constexpr size_t kMaxMessage = 512;

void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.substr(0, 1000).c_str());
  std::abort();
}

std::string Dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  json value;
  upmesh::Status parsed = upmesh::ParseJson(text, {1024 * 1024}, &value);
  if (!parsed.ok()) {
    if (parsed.message().size() > kMaxMessage) Fail("long parse error", parsed.message());
    return 0;
  }
  upmesh::Cluster cluster;
  upmesh::Status valid = upmesh::ParseCluster(value, "cluster", &cluster);
  if (!valid.ok()) {
    if (valid.message().size() > kMaxMessage) Fail("long validation error", valid.message());
    return 0;
  }
  if (cluster.uuid.empty()) cluster.uuid = "fuzz";
  cluster.added_order = 7;
  cluster.added_at_ms = 1234;

  std::string stored = Dump(upmesh::ClusterToStoredJson(cluster));
  json stored_again;
  if (!upmesh::ParseJson(stored, {4 * 1024 * 1024}, &stored_again).ok()) Fail("stored form is not JSON", stored);
  upmesh::Cluster restored;
  upmesh::Status status = upmesh::ClusterFromStoredJson(stored_again, &restored);
  if (!status.ok()) Fail("stored form refused", status.message() + " in " + stored);
  if (Dump(upmesh::ClusterToStoredJson(restored)) != stored) Fail("stored form changed", stored);

  upmesh::Cluster shown;
  status = upmesh::ParseCluster(upmesh::ClusterToJson(cluster), "cluster", &shown);
  if (!status.ok()) Fail("API form refused", status.message());
  return 0;
}
