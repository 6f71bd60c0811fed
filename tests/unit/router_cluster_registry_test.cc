// ClusterRegistry: changes persisted before they apply, the state file's
// round trip, corrupt files, the GRADUAL ramp (share math, hi/lo
// persistence, monotonic across a restart), worker stats and mismatches.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "router/cluster_registry.h"

using nlohmann::json;
using upmesh::Cluster;
using upmesh::ParseCluster;
using upmesh::Status;
using upmesh::router::ClusterRegistry;

namespace {

// A fresh directory for one test's state file, removed afterwards.
struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/upmesh-registry-test-XXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string File(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

Cluster Make(const std::string& text) {
  Cluster cluster;
  Status status = ParseCluster(json::parse(text), "cluster", &cluster);
  REQUIRE(status.ok());
  return cluster;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

bool Exists(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0;
}

const char* kV1 = R"({"version": 1, "servers": [{"ip": "127.0.0.1", "port": 8001}]})";
const char* kGradual10 = R"({"version": 2, "servers": [{"ip": "127.0.0.1", "port": 8002}],
                             "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": 10}})";
const char* kGradualSmall = R"({"version": 2, "servers": [{"ip": "127.0.0.1", "port": 8002}],
                                "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.01}})";

}  // namespace

TEST_CASE("a new state file is seeded with the initial cluster", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  Cluster initial = Make(kV1);
  bool loaded = true;
  REQUIRE(registry.Open(&initial, 5000, &loaded).ok());
  CHECK_FALSE(loaded);
  REQUIRE(registry.table().clusters().size() == 1);
  const Cluster& seeded = registry.table().clusters()[0];
  CHECK(seeded.uuid.size() == 36);  // a generated UUID
  CHECK(seeded.added_at_ms == 5000);
  CHECK(registry.seq() == 5000);  // a fresh table's seq starts at the wall clock: never backwards
  json stored = json::parse(ReadFile(dir.File("state.json")));
  CHECK(stored["seq"] == 5000);
  CHECK(stored["clusters"][0]["uuid"] == seeded.uuid);
}

TEST_CASE("no initial cluster at all is allowed", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded = true;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  CHECK(registry.table().empty());
  CHECK(registry.GradualShare(0) == 0);
  CHECK(registry.Stamp(0).config_seq == 0);
}

TEST_CASE("put and delete bump seq, persist, and describe the change", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  json change;
  Cluster named = Make(kV1);
  named.uuid = "v1";
  REQUIRE(registry.Put(named, 10, &change).ok());
  CHECK(registry.seq() == 1);
  CHECK(change["op"] == "put");
  CHECK(change["cluster"]["uuid"] == "v1");
  CHECK(change["cluster"]["addedAtMs"] == 10);
  Status duplicate = registry.Put(named, 11, &change);
  CHECK(duplicate.code() == Status::Code::kInvalidArgument);
  CHECK(duplicate.message() == "cluster.uuid: a cluster with uuid v1 already exists");
  CHECK(registry.seq() == 1);

  REQUIRE(registry.Remove("v1", &change).ok());
  CHECK(change == json{{"op", "delete"}, {"uuid", "v1"}});
  CHECK(registry.seq() == 2);
  CHECK(registry.Remove("v1", &change).code() == Status::Code::kNotFound);
  CHECK(json::parse(ReadFile(dir.File("state.json")))["seq"] == 2);
}

TEST_CASE("reloading gives the same table, seq and ramp reservation", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  std::vector<std::string> uuids;
  {
    ClusterRegistry registry(path);
    bool loaded;
    Cluster initial = Make(kV1);
    REQUIRE(registry.Open(&initial, 0, &loaded).ok());
    json change;
    REQUIRE(registry.Put(Make(R"({"version": "1.10", "servers": [{"hostname": "localhost", "port": 9}]})"), 1, &change).ok());
    REQUIRE(registry.Put(Make(kGradual10), 2, &change).ok());
    for (int i = 0; i < 3; ++i) registry.StampNewRequest(3);
    for (const Cluster& c : registry.table().clusters()) uuids.push_back(c.uuid);
  }
  ClusterRegistry reloaded(path);
  bool loaded = false;
  Cluster ignored = Make(kV1);
  REQUIRE(reloaded.Open(&ignored, 99, &loaded).ok());
  CHECK(loaded);
  CHECK(reloaded.seq() == 2);
  std::vector<std::string> order;
  for (const Cluster& c : reloaded.table().clusters()) order.push_back(c.uuid);
  CHECK(order == uuids);  // the initial cluster given now is ignored: the file wins
  CHECK(reloaded.table().clusters()[1].version == json("1.10"));
  json stored = json::parse(ReadFile(path));
  CHECK(stored["gradual"][uuids[0]] == 1 + ClusterRegistry::kRampBlock);
  // hi/lo: the count continues from the reservation, never from less.
  CHECK(reloaded.GradualShare(0) == 100.0);
}

TEST_CASE("a corrupt state file is an error naming the file, and is left alone", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  for (const char* text : {"", "{not json", "[]", R"({"clusters": []})", R"({"seq": -1, "clusters": []})",
                           R"({"seq": 1, "clusters": [{"uuid": "x"}]})", R"({"seq": 1, "clusters": [], "extra": 1})",
                           R"({"seq": 1, "clusters": [], "gradual": {"x": "a"}})"}) {
    INFO(text);
    WriteFile(path, text);
    ClusterRegistry registry(path);
    bool loaded;
    Status status = registry.Open(nullptr, 0, &loaded);
    REQUIRE_FALSE(status.ok());
    CHECK(status.message().rfind(path + ": corrupt state file", 0) == 0);
    CHECK(ReadFile(path) == text);
  }
}

TEST_CASE("writes are atomic: a temporary file renamed over the state file", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  json change;
  REQUIRE(registry.Put(Make(kV1), 1, &change).ok());
  CHECK(Exists(path));
  CHECK_FALSE(Exists(path + ".tmp"));  // renamed, not left behind

  // When the temporary file cannot be created, nothing changes: not the
  // file, not the table, not seq.
  std::string before = ReadFile(path);
  REQUIRE(::mkdir((path + ".tmp").c_str(), 0755) == 0);  // a directory blocks the temporary file
  Status failed = registry.Put(Make(kGradual10), 2, &change);
  CHECK(failed.code() == Status::Code::kIoError);
  CHECK(failed.message().find(path + ".tmp") != std::string::npos);
  CHECK(registry.table().clusters().size() == 1);
  CHECK(registry.seq() == 1);
  CHECK(ReadFile(path) == before);
  std::string uuid = registry.table().clusters()[0].uuid;
  CHECK(registry.Remove(uuid, &change).code() == Status::Code::kIoError);
  CHECK(registry.table().Find(uuid) != nullptr);
  ::rmdir((path + ".tmp").c_str());
}

TEST_CASE("the request ramp grows by the percentage per dispatched request", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  Cluster initial = Make(kV1);
  REQUIRE(registry.Open(&initial, 0, &loaded).ok());
  CHECK(registry.StampNewRequest(0).gradual_share_micros == 0);  // INSTANT newest: no ramp
  json change;
  REQUIRE(registry.Put(Make(kGradual10), 0, &change).ok());
  CHECK(registry.GradualShare(0) == 0);
  upmesh::wire::RouteStamp first = registry.StampNewRequest(0);
  CHECK(first.gradual_share_micros == 10000000);  // this request counts: 10 %
  CHECK(first.config_seq == 1);
  CHECK(registry.Stamp(0).gradual_share_micros == 10000000);  // a resend does not count
  uint32_t previous = first.gradual_share_micros;
  for (int i = 0; i < 20; ++i) {
    uint32_t share = registry.StampNewRequest(0).gradual_share_micros;
    CHECK(share >= previous);
    previous = share;
  }
  CHECK(previous == 100000000);
  json state = registry.StateOf(registry.table().clusters()[0], 0);
  CHECK(state["gradualShare"] == 100.0);
  CHECK(state["rampRequests"] == 10);  // counting stops at 100 %
  CHECK(state["newest"] == true);
  CHECK_FALSE(registry.StateOf(registry.table().clusters()[1], 0).contains("gradualShare"));
}

TEST_CASE("the ramp is persisted hi/lo and never goes back across a restart", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  double share_before_restart = 0;
  {
    ClusterRegistry registry(path);
    bool loaded;
    REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
    json change;
    REQUIRE(registry.Put(Make(kGradualSmall), 0, &change).ok());
    std::string uuid = registry.table().clusters()[0].uuid;
    registry.StampNewRequest(0);
    CHECK(json::parse(ReadFile(path))["gradual"][uuid] == 1 + ClusterRegistry::kRampBlock);
    for (int i = 1; i < 1500; ++i) registry.StampNewRequest(0);  // crosses one reservation
    CHECK(json::parse(ReadFile(path))["gradual"][uuid] == 1002 + ClusterRegistry::kRampBlock);
    share_before_restart = registry.GradualShare(0);
    CHECK(share_before_restart == Approx(15.0));
  }  // "crash": the in-memory count (1500) is lost
  ClusterRegistry restarted(path);
  bool loaded;
  REQUIRE(restarted.Open(nullptr, 0, &loaded).ok());
  double after = restarted.GradualShare(0);
  CHECK(after >= share_before_restart);
  CHECK(after == Approx(20.02));  // continues from the reservation 2002
  uint32_t previous = restarted.Stamp(0).gradual_share_micros;
  for (int i = 0; i < 100; ++i) {
    uint32_t share = restarted.StampNewRequest(0).gradual_share_micros;
    CHECK(share > previous);
    previous = share;
  }
}

TEST_CASE("a ramp whose reservation cannot be written pauses instead of going back", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  json change;
  REQUIRE(registry.Put(Make(kGradual10), 0, &change).ok());
  REQUIRE(::mkdir((path + ".tmp").c_str(), 0755) == 0);
  CHECK(registry.StampNewRequest(0).gradual_share_micros == 0);
  CHECK(registry.StampNewRequest(10).gradual_share_micros == 0);  // within the retry pause: no write tried
  ::rmdir((path + ".tmp").c_str());
  CHECK(registry.StampNewRequest(5000).gradual_share_micros == 10000000);
}

TEST_CASE("the time ramp grows linearly from when the cluster was added", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  json change;
  REQUIRE(registry.Put(Make(R"({"servers": [{"ip": "a", "port": 1}],
                               "upgradeTransition": {"mode": "GRADUAL", "durationSeconds": 100}})"),
                       1000000, &change).ok());
  CHECK(registry.GradualShare(1000000) == 0);
  CHECK(registry.GradualShare(1000000 + 25000) == Approx(25.0));
  CHECK(registry.StampNewRequest(1000000 + 50000).gradual_share_micros == 50000000);
  CHECK(registry.GradualShare(1000000 + 500000) == 100.0);
  CHECK(registry.GradualShare(0) == 0);  // a clock that went back gives no negative share
  CHECK_FALSE(registry.StateOf(registry.table().clusters()[0], 0).contains("rampRequests"));
}

TEST_CASE("worker stats add up across workers, and a worker that left still counts", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  Cluster initial = Make(kV1);
  initial.uuid = "v1";
  REQUIRE(registry.Open(&initial, 0, &loaded).ok());
  const Cluster& v1 = registry.table().clusters()[0];
  REQUIRE(registry.RecordWorkerStats("w1", json::parse(R"({"served": {"v1": 5}})")).ok());
  REQUIRE(registry.RecordWorkerStats("w2", json::parse(R"({"served": {"v1": 3, "gone": 7}})")).ok());
  REQUIRE(registry.RecordWorkerStats("w1", json::parse(R"({"served": {"v1": 8}})")).ok());  // cumulative
  CHECK(registry.StateOf(v1, 0)["requestsServed"] == 11);
  // w1 restarted under the same name: its count starts again from zero.
  REQUIRE(registry.RecordWorkerStats("w1", json::parse(R"({"served": {"v1": 2}})")).ok());
  CHECK(registry.StateOf(v1, 0)["requestsServed"] == 13);
  for (const char* bad : {"[]", "{}", R"({"served": []})", R"({"served": {"v1": -1}})", R"({"served": {"v1": "x"}})"}) {
    INFO(bad);
    CHECK_FALSE(registry.RecordWorkerStats("w3", json::parse(bad)).ok());
  }
  CHECK(registry.StateOf(v1, 0)["requestsServed"] == 13);
}

TEST_CASE("mismatch reports: counted per cluster, the last ten kept newest first", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  json change;
  Cluster concurrent = Make(R"({"uuid": "c2", "version": 2, "servers": [{"ip": "a", "port": 1}],
                                "upgradeTransition": {"mode": "CONCURRENT"}})");
  REQUIRE(registry.Put(concurrent, 0, &change).ok());
  for (int i = 0; i < 12; ++i) {
    REQUIRE(registry.RecordMismatch("w1", {{"cluster", "c2"}, {"n", i}}, 100 + i).ok());
  }
  REQUIRE(registry.RecordMismatch("w2", {{"status", {200, 500}}}, 200).ok());  // no cluster: the newest
  json state = registry.StateOf(registry.table().clusters()[0], 0);
  CHECK(state["mismatches"] == 13);
  REQUIRE(state["recentMismatches"].size() == ClusterRegistry::kRecentMismatches);
  CHECK(state["recentMismatches"][0]["worker"] == "w2");
  CHECK(state["recentMismatches"][0]["atMs"] == 200);
  CHECK(state["recentMismatches"][1]["n"] == 11);
  CHECK(state["recentMismatches"][9]["n"] == 3);
  CHECK_FALSE(registry.RecordMismatch("w1", {{"cluster", "nope"}}, 0).ok());
  CHECK_FALSE(registry.RecordMismatch("w1", json::array(), 0).ok());
  CHECK_FALSE(registry.RecordMismatch("w1", {{"cluster", 5}}, 0).ok());
  CHECK_FALSE(registry.RecordMismatch("w1", {{"big", std::string(10000, 'x')}}, 0).ok());
  CHECK(registry.StateOf(registry.table().clusters()[0], 0)["mismatches"] == 13);
}
