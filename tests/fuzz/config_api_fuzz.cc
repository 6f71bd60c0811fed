// libFuzzer target: arbitrary requests through the config API handler.
//
// Input: "METHOD\nTARGET\nBODY" (a missing line is empty). The API runs on
// a registry with a state file in a temporary directory (small limits, so
// the table stays small however many PUTs the fuzzer makes). Checked: no
// crash, every answer has a status the API documents, an error body is
// short (it quotes at most a few dozen bytes of the input) and a 200 body
// is valid JSON.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "router/config_api.h"
#include "shared/log.h"

namespace {

using upmesh::router::ApiResponse;
using upmesh::router::ClusterRegistry;
using upmesh::router::ConfigApi;

struct Api {
  Api() {
    upmesh::SetLogLevel(upmesh::LogLevel::kError);
    // /dev/shm when there is one: the registry fsyncs every change.
    char pattern[] = "/dev/shm/upmesh-fuzz-XXXXXX";
    char fallback[] = "/tmp/upmesh-fuzz-XXXXXX";
    const char* dir = mkdtemp(pattern);
    if (!dir) dir = mkdtemp(fallback);
    if (!dir) std::abort();
    directory = dir;
    upmesh::ClusterLimits limits;
    limits.max_clusters = 16;
    limits.max_servers_per_cluster = 16;
    limits.max_table_bytes = 64 * 1024;
    limits.max_body_bytes = 256 * 1024;
    registry = new ClusterRegistry(directory + "/state.json", limits);
    bool loaded = false;
    if (!registry->Open(nullptr, 1, &loaded).ok()) std::abort();
    api = new ConfigApi(registry, nullptr, nullptr);
  }
  ~Api() { std::system(("rm -rf '" + directory + "'").c_str()); }

  std::string directory;
  ClusterRegistry* registry;
  ConfigApi* api;
};

std::string_view TakeLine(std::string_view* rest) {
  size_t newline = rest->find('\n');
  std::string_view line = rest->substr(0, newline);
  rest->remove_prefix(newline == std::string_view::npos ? rest->size() : newline + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Api fixture;
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::string method(TakeLine(&rest));
  std::string target(TakeLine(&rest));
  ApiResponse response = fixture.api->Handle({method, target, std::string(rest)}, 1000);

  static const std::set<int> kDocumented = {200, 202, 400, 404, 405, 409, 413};
  if (!kDocumented.count(response.status)) {
    std::fprintf(stderr, "undocumented status %d: %s\n", response.status, response.body.c_str());
    std::abort();
  }
  if (response.status >= 400 && response.body.size() > 512) {
    std::fprintf(stderr, "error body of %zu bytes\n", response.body.size());
    std::abort();
  }
  if (response.status == 200 && nlohmann::json::parse(response.body, nullptr, false).is_discarded()) {
    std::fprintf(stderr, "200 with a body that is not JSON\n");
    std::abort();
  }
  // Keep the table from filling up for good: every fourth input empties it.
  if (size % 4 == 0) {
    while (!fixture.registry->table().empty()) {
      nlohmann::json change;
      if (!fixture.registry->Remove(fixture.registry->table().clusters().front().uuid, &change).ok()) std::abort();
    }
  }
  return 0;
}
