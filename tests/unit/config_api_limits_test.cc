// What the config API refuses so that no request can crash or wedge the
// router: deep or large bodies, too many servers or versions, a table over
// its byte limit, ids and versions that could split paths or log lines, and
// backend addresses the network policy denies. Plus the state file of an
// older build that breaks today's limits.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/config_api.h"

using nlohmann::json;
using upmesh::ClusterLimits;
using upmesh::router::ApiResponse;
using upmesh::router::ClusterRegistry;
using upmesh::router::ConfigApi;

namespace {

std::string TempDir() {
  char pattern[] = "/tmp/upmesh-limits-test-XXXXXX";
  return mkdtemp(pattern);
}

ClusterLimits SmallLimits() {
  ClusterLimits limits;
  limits.max_body_bytes = 64 * 1024;
  limits.max_servers_per_cluster = 4;
  limits.max_clusters = 3;
  limits.max_table_bytes = 1000;
  return limits;
}

struct Fixture {
  explicit Fixture(ClusterLimits limits = SmallLimits())
      : dir(TempDir()), registry(dir + "/state.json", limits), api(&registry, nullptr, nullptr) {
    bool loaded;
    REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }

  ApiResponse Put(const std::string& cluster_json) {
    return api.Handle({"PUT", "/configuration/cluster", "{\"cluster\": " + cluster_json + "}"}, 1000);
  }

  std::string dir;
  ClusterRegistry registry;
  ConfigApi api;
};

std::string Servers(int count, const std::string& ip = "127.0.0.1") {
  std::string list;
  for (int i = 0; i < count; ++i) {
    list += std::string(i ? ", " : "") + "{\"ip\": \"" + ip + "\", \"port\": " + std::to_string(8000 + i) + "}";
  }
  return "\"servers\": [" + list + "]";
}

}  // namespace

TEST_CASE("a body of 100,000 nested arrays is a short 400, not a crash", "[config-api][limits]") {
  Fixture f{ClusterLimits()};
  std::string deep(100000, '[');
  for (const std::string& body : std::vector<std::string>{deep, "{\"cluster\": " + deep, "{\"cluster\": {\"servers\": " + deep + "}}"}) {
    ApiResponse response = f.api.Handle({"PUT", "/configuration/cluster", body}, 1000);
    CHECK(response.status == 400);
    CHECK(response.body.find("nesting deeper than 64 levels") != std::string::npos);
    CHECK(response.body.size() < 200);
  }
  CHECK(f.registry.table().empty());
}

TEST_CASE("a body over configService.maxBodyBytes is a 413", "[config-api][limits]") {
  Fixture f;
  ApiResponse response = f.api.Handle({"PUT", "/configuration/cluster", std::string(64 * 1024 + 1, ' ')}, 1000);
  CHECK(response.status == 413);
  CHECK(response.body == "body: larger than the limit of 65536 bytes (configService.maxBodyBytes)\n");
}

TEST_CASE("more servers than configService.maxServersPerCluster is a 400", "[config-api][limits]") {
  Fixture f;
  CHECK(f.Put("{" + Servers(4) + "}").status == 202);
  ApiResponse response = f.Put("{" + Servers(5) + "}");
  CHECK(response.status == 400);
  CHECK(response.body == "cluster.servers: 5 servers, more than the limit of 4 (configService.maxServersPerCluster)\n");
}

TEST_CASE("a full table (versions or bytes) is a 409 and nothing changes", "[config-api][limits]") {
  ClusterLimits limits = SmallLimits();
  limits.max_table_bytes = 1024 * 1024;
  Fixture f(limits);
  for (int i = 0; i < 3; ++i) REQUIRE(f.Put("{" + Servers(1) + "}").status == 202);
  ApiResponse full = f.Put("{" + Servers(1) + "}");
  CHECK(full.status == 409);
  CHECK(full.body.find("configService.maxClusters") != std::string::npos);
  CHECK(f.registry.table().clusters().size() == 3);

  Fixture small;  // 1000 stored bytes: each version below takes about 600
  int accepted = 0;
  ApiResponse last;
  for (int i = 0; i < 3; ++i) {
    last = small.Put("{" + Servers(4) + ", \"healthCheck\": {\"path\": \"/" + std::string(400, 'h') + "\"}}");
    if (last.status == 202) ++accepted;
  }
  CHECK(accepted >= 1);
  CHECK(last.status == 409);
  CHECK(last.body.find("configService.maxTableBytes") != std::string::npos);
  CHECK(small.registry.table().clusters().size() == static_cast<size_t>(accepted));
}

TEST_CASE("ids: only [A-Za-z0-9._-], 1..64, not . or ..; in bodies and paths", "[config-api][limits]") {
  Fixture f;
  for (const std::string& id : std::vector<std::string>{".", "..", "a/b", "a b", "a\\r\\nb", "a\\u0000b", std::string(65, 'x'), "é"}) {
    INFO(id);
    ApiResponse response = f.Put("{\"uuid\": \"" + id + "\", " + Servers(1) + "}");
    CHECK(response.status == 400);
    CHECK(response.body.rfind("cluster.uuid: must be 1..64 of A-Z a-z 0-9 . _ -", 0) == 0);
  }
  CHECK(f.Put("{\"uuid\": \"v1.2_blue-3\", " + Servers(1) + "}").status == 202);
  for (const std::string& path : std::vector<std::string>{"/configuration/cluster/..", "/configuration/cluster/.",
                                  "/configuration/cluster/a%2Fb", "/configuration/cluster/" + std::string(65, 'x')}) {
    INFO(path);
    ApiResponse get = f.api.Handle({"GET", path, ""}, 1000);
    CHECK(get.status == 400);
    CHECK(get.body.rfind("path: the cluster id must be", 0) == 0);
    CHECK(f.api.Handle({"DELETE", path, ""}, 1000).status == 400);
    CHECK(f.api.Handle({"POST", path + "/rollback", ""}, 1000).status == 400);
  }
  CHECK(f.api.Handle({"GET", "/configuration/cluster/v1.2_blue-3", ""}, 1000).status == 200);
}

TEST_CASE("version strings with control characters are a 400 naming the field", "[config-api][limits]") {
  Fixture f;
  for (const std::string& version : std::vector<std::string>{"1\\u0000", "1\\r\\nX-Evil: 1", "1\\t2", "", std::string(65, '1')}) {
    INFO(version);
    ApiResponse response = f.Put("{\"version\": \"" + version + "\", " + Servers(1) + "}");
    CHECK(response.status == 400);
    CHECK(response.body.rfind("cluster.version: must be a non-negative number or a string of 1..64 printable", 0) == 0);
    CHECK(response.body.find('\r') == std::string::npos);
  }
  CHECK(f.Put("{\"version\": \"2024-06 rc1\", " + Servers(1) + "}").status == 202);
}

TEST_CASE("servers: ip must be an address, hostname a DNS name", "[config-api][limits]") {
  Fixture f;
  auto put_server = [&](const std::string& server) { return f.Put("{\"servers\": [" + server + "]}"); };
  CHECK(put_server(R"({"ip": "backend", "port": 80})").body.rfind("cluster.servers[0].ip: must be an IPv4 or IPv6", 0) == 0);
  for (const char* name : {"a..b", "-a", "a-", "a b", "a/b", "10.0.0.1", "2852039166", "a\\r\\n", "."}) {
    INFO(name);
    ApiResponse response = put_server(std::string(R"({"hostname": ")") + name + R"(", "port": 80})");
    CHECK(response.status == 400);
    CHECK(response.body.rfind("cluster.servers[0].hostname: must be a DNS name", 0) == 0);
  }
  CHECK(put_server(R"({"hostname": ")" + std::string(64, 'a') + R"(", "port": 80})").status == 400);
  CHECK(put_server(R"({"hostname": "backend_v1.internal.example.", "port": 80})").status == 202);
  CHECK(put_server(R"({"hostname": "localhost", "port": 80})").status == 202);
}

TEST_CASE("an ip the backend network policy denies is a 400 naming the rule", "[config-api][limits]") {
  Fixture f;
  ApiResponse metadata = f.Put("{" + Servers(1, "169.254.169.254") + "}");
  CHECK(metadata.status == 400);
  CHECK(metadata.body ==
        "cluster.servers[0].ip: 169.254.169.254 is in denied network 169.254.0.0/16 (backendNetworks.deny)\n");
  CHECK(f.Put("{" + Servers(1, "::ffff:169.254.169.254") + "}").status == 400);
  CHECK(f.Put("{" + Servers(1, "fe80::1") + "}").status == 400);
  CHECK(f.Put("{" + Servers(1, "::1") + "}").status == 202);
}

TEST_CASE("error messages quote at most a few dozen bytes of the input", "[config-api][limits]") {
  Fixture f;
  std::string huge(50000, 'x');
  for (const std::string& body : std::vector<std::string>{
        "{\"cluster\": {\"version\": \"" + huge + "\", " + Servers(1) + "}}",
        "{\"cluster\": {\"uuid\": \"" + huge + "\", " + Servers(1) + "}}",
        "{\"cluster\": {\"servers\": [{\"hostname\": \"" + huge + "\", \"port\": 1}]}}",
        "{\"cluster\": {\"servers\": [{\"ip\": \"1\", \"port\": \"" + huge + "\"}]}}",
        "{\"cluster\": {\"" + huge + "\": 1, " + Servers(1) + "}}",
        "{\"cluster\": [\"" + huge + "\"]}",
        "{\"cluster\": \"" + huge}) {
    ApiResponse response = f.api.Handle({"PUT", "/configuration/cluster", body}, 1000);
    INFO(response.body.substr(0, 300));
    CHECK(response.status == 400);
    CHECK(response.body.size() < 300);
  }
  CHECK(f.api.Handle({"GET", "/" + huge, ""}, 1000).body.size() < 300);
}

TEST_CASE("a snapshot is encoded once per seq", "[config-api][limits]") {
  Fixture f;
  const std::string* first = &f.registry.SnapshotJson();
  CHECK(*first == "[]");
  REQUIRE(f.Put("{" + Servers(1) + "}").status == 202);
  std::string after_put = f.registry.SnapshotJson();
  CHECK(json::parse(after_put).size() == 1);
  CHECK(f.registry.SnapshotJson().data() == f.registry.SnapshotJson().data());  // no re-encoding
}

namespace {

// A stored cluster as an older build could have written it.
json StoredCluster(const std::string& uuid, int servers, int order) {
  json list = json::array();
  for (int i = 0; i < servers; ++i) list.push_back({{"ip", "10.0.0.1"}, {"port", 1 + i}});
  return {{"uuid", uuid}, {"version", order}, {"servers", list}, {"addedOrder", order}, {"addedAtMs", 5}};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("a state file over today's limits: the versions that fit load, the file is kept aside",
          "[cluster-registry][limits]") {
  std::string dir = TempDir();
  std::string path = dir + "/state.json";
  json clusters = json::array({StoredCluster("old", 1, 1), StoredCluster("huge", 27000, 2),
                               StoredCluster("bad..", 1, 3), StoredCluster("mid", 2, 4), StoredCluster("new", 1, 5)});
  clusters[2]["uuid"] = "..";
  json state = {{"seq", 42}, {"clusters", clusters}};
  std::string original = state.dump();
  { std::ofstream(path) << original; }

  ClusterLimits limits = SmallLimits();
  limits.max_clusters = 2;
  limits.max_table_bytes = 1024 * 1024;
  ClusterRegistry registry(path, limits);
  bool loaded = false;
  upmesh::Status status = registry.Open(nullptr, 777, &loaded);
  INFO(status.message());
  REQUIRE(status.ok());
  CHECK(loaded);
  CHECK(registry.seq() == 43);  // a new seq, so that workers holding the old table fetch this one
  // Newest first: "new" and "mid" fit; "huge" has too many servers, ".." is invalid, "old" is one too many.
  REQUIRE(registry.table().clusters().size() == 2);
  CHECK(registry.table().clusters()[0].uuid == "new");
  CHECK(registry.table().clusters()[1].uuid == "mid");
  CHECK(ReadFile(path + ".refused-777") == original);
  json rewritten = json::parse(ReadFile(path));
  CHECK(rewritten["clusters"].size() == 2);

  ClusterRegistry again(path, limits);  // the rewritten file loads cleanly
  REQUIRE(again.Open(nullptr, 888, &loaded).ok());
  CHECK(again.table().clusters().size() == 2);
  struct stat info;
  CHECK(::stat((path + ".refused-888").c_str(), &info) != 0);
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("a state file nested too deep is refused naming the file", "[cluster-registry][limits]") {
  std::string dir = TempDir();
  std::string path = dir + "/state.json";
  { std::ofstream(path) << "{\"seq\": 1, \"clusters\": " << std::string(100000, '['); }
  ClusterRegistry registry(path);
  bool loaded = false;
  upmesh::Status status = registry.Open(nullptr, 1, &loaded);
  CHECK_FALSE(status.ok());
  CHECK(status.message() == path + ": corrupt state file (fix or remove it): line 1, column 87: nesting deeper than 64 levels");
  std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_CASE("Remove and RollBack take a cluster's own uuid safely", "[cluster-registry][limits]") {
  // Found by tests/fuzz/config_api_fuzz.cc: Remove(table().clusters().front().uuid)
  // read the uuid after the removal had destroyed it.
  Fixture f{ClusterLimits()};
  REQUIRE(f.Put("{\"uuid\": \"first\", " + Servers(1) + "}").status == 202);
  REQUIRE(f.Put("{\"uuid\": \"second\", " + Servers(1) + "}").status == 202);
  json change;
  REQUIRE(f.registry.RollBack(f.registry.table().clusters().front().uuid, json::object(), &change).ok());
  CHECK(change["uuid"] == "second");
  REQUIRE(f.registry.Remove(f.registry.table().clusters().front().uuid, &change).ok());
  CHECK(change["uuid"] == "second");
  CHECK(f.registry.table().clusters().size() == 1);
}

TEST_CASE("a long or odd method is quoted short in the 405", "[config-api][limits]") {
  // Found by tests/fuzz/config_api_fuzz.cc: the 405 echoed the whole method.
  Fixture f;
  ApiResponse response = f.api.Handle({std::string(5000, 'P') + "\r\n", "/configuration/cluster", ""}, 1000);
  CHECK(response.status == 405);
  CHECK(response.body.size() < 200);
  CHECK(response.body.find('\r') == std::string::npos);
  CHECK(f.api.Handle({"PATCH", "/configuration/cluster", ""}, 1000).body ==
        "method PATCH not allowed here; allowed: GET, HEAD, PUT\n");
}
