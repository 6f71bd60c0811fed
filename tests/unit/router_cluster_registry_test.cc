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

namespace {
// Holds or releases the newest version's ramp; the broadcast change is not needed here.
void Hold(ClusterRegistry* registry, bool hold, int64_t now_wall_ms) {
  json change;
  REQUIRE(registry->SetRampHold(hold, now_wall_ms, &change).ok());
}
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
  CHECK(registry.LeaseRamp("none", 1, 0).count == 0);
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
    for (int i = 0; i < 3; ++i) registry.LeaseRamp(registry.table().clusters()[0].uuid, 1, 3);
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
  CHECK(stored["gradual"][uuids[0]] == 1 + ClusterRegistry::kRampBlock);  // reserved at the first lease
  // hi/lo: the count continues from the reservation, never from less.
  CHECK(reloaded.GradualShare(0) == 100.0);
}

TEST_CASE("a corrupt state file is an error naming the file, and is left alone", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  for (const char* text : {"", "{not json", "[]", R"({"clusters": []})", R"({"seq": -1, "clusters": []})",
                           R"({"seq": 1, "clusters": {}})", R"({"seq": 1, "clusters": [], "extra": 1})",
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

TEST_CASE("the request ramp grows by the percentage per leased position", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  Cluster initial = Make(kV1);
  REQUIRE(registry.Open(&initial, 0, &loaded).ok());
  CHECK(registry.LeaseRamp(initial.uuid, 100, 0).count == 0);  // INSTANT newest: no ramp
  json change;
  REQUIRE(registry.Put(Make(kGradual10), 0, &change).ok());
  std::string uuid = registry.table().clusters()[0].uuid;
  CHECK(registry.GradualShare(0) == 0);
  // 10 % per request: the ramp is 10 positions long, a lease at most 1 % of it (1).
  ClusterRegistry::Lease first = registry.LeaseRamp(uuid, 100, 0);
  CHECK(first.first == 0);
  CHECK(first.count == 1);
  CHECK(registry.GradualShare(0) == 10.0);
  CHECK(registry.LeaseRamp("other", 1, 0).count == 0);  // not the newest: nothing
  uint64_t previous = 1;
  for (int i = 0; i < 20; ++i) {
    ClusterRegistry::Lease lease = registry.LeaseRamp(uuid, 100, 0);
    CHECK(lease.first == previous);  // leases never overlap
    previous = lease.first + lease.count;
  }
  CHECK(previous == 10);  // leasing stops at 100 %
  json state = registry.StateOf(registry.table().clusters()[0], 0);
  CHECK(state["gradualShare"] == 100.0);
  CHECK(state["rampRequests"] == 10);
  CHECK(state["newest"] == true);
  CHECK_FALSE(registry.StateOf(registry.table().clusters()[1], 0).contains("gradualShare"));
}

TEST_CASE("a lease grants at most 1 % of the ramp and at most 100 positions", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  json change;
  REQUIRE(registry.Put(Make(kGradualSmall), 0, &change).ok());  // 0.01 %: 10000 positions
  std::string uuid = registry.table().clusters()[0].uuid;
  CHECK(registry.LeaseRamp(uuid, 1000, 0).count == 100);
  CHECK(registry.LeaseRamp(uuid, 7, 0).count == 7);
  CHECK(registry.LeaseRamp(uuid, 0, 0).count == 0);
  CHECK(registry.RampPosition(uuid) == 107);
}

TEST_CASE("the ramp is persisted hi/lo and never goes back across a restart", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  double share_before_restart = 0;
  std::string uuid;
  {
    ClusterRegistry registry(path);
    bool loaded;
    REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
    json change;
    REQUIRE(registry.Put(Make(kGradualSmall), 0, &change).ok());
    uuid = registry.table().clusters()[0].uuid;
    registry.LeaseRamp(uuid, 1, 0);
    CHECK(json::parse(ReadFile(path))["gradual"][uuid] == 1 + ClusterRegistry::kRampBlock);
    for (int i = 1; i < 1500; ++i) registry.LeaseRamp(uuid, 1, 0);  // crosses one reservation
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
  uint64_t previous = restarted.RampPosition(uuid);
  for (int i = 0; i < 100; ++i) {
    ClusterRegistry::Lease lease = restarted.LeaseRamp(uuid, 50, 0);
    CHECK(lease.first == previous);  // no position is handed out twice
    previous += lease.count;
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
  std::string uuid = registry.table().clusters()[0].uuid;
  REQUIRE(::mkdir((path + ".tmp").c_str(), 0755) == 0);
  CHECK(registry.LeaseRamp(uuid, 1, 0).count == 0);
  CHECK(registry.LeaseRamp(uuid, 1, 10).count == 0);  // within the retry pause: no write tried
  ::rmdir((path + ".tmp").c_str());
  CHECK(registry.LeaseRamp(uuid, 1, 5000).count == 1);
  CHECK(registry.GradualShare(5000) == 10.0);
}

TEST_CASE("the time ramp grows linearly from when the cluster was added", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  json change;
  REQUIRE(registry.Put(Make(R"({"servers": [{"ip": "10.0.0.1", "port": 1}],
                               "upgradeTransition": {"mode": "GRADUAL", "durationSeconds": 100}})"),
                       1000000, &change).ok());
  CHECK(registry.GradualShare(1000000) == 0);
  CHECK(registry.GradualShare(1000000 + 25000) == Approx(25.0));
  CHECK(registry.GradualShare(1000000 + 50000) == Approx(50.0));
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
  Cluster concurrent = Make(R"({"uuid": "c2", "version": 2, "servers": [{"ip": "10.0.0.1", "port": 1}],
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

// --- rollbacks and the GRADUAL ramp's hold ---

namespace {

// A registry on `path` holding v1 (INSTANT) and v2 (from `v2_json`, uuid "v2").
void OpenWithTwo(ClusterRegistry* registry, const char* v2_json = kGradual10, int64_t now = 1000000) {
  bool loaded;
  Cluster v1 = Make(kV1);
  v1.uuid = "v1";
  REQUIRE(registry->Open(&v1, now, &loaded).ok());
  Cluster v2 = Make(v2_json);
  v2.uuid = "v2";
  json change;
  REQUIRE(registry->Put(v2, now, &change).ok());
}

const char* kGradualTime = R"({"version": 2, "servers": [{"ip": "127.0.0.1", "port": 8002}],
                               "upgradeTransition": {"mode": "GRADUAL", "durationSeconds": 100}})";

}  // namespace

TEST_CASE("rollback: persisted, then applied, with its record", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  OpenWithTwo(&registry);
  uint64_t seq = registry.seq();
  CHECK(registry.RollbackRecord("v2") == nullptr);
  json record = {{"uuid", "v2"}, {"reason", "errorRate"}, {"detail", "10 % vs 0 %"}};
  json change;
  REQUIRE(registry.RollBack("v2", record, &change).ok());
  CHECK(change == json{{"op", "rollback"}, {"uuid", "v2"}});
  CHECK(registry.seq() == seq + 1);
  CHECK(registry.table().Find("v2")->rolled_back);
  CHECK(registry.table().clusters().size() == 2);  // kept for the record
  CHECK(registry.table().NewestLive()->uuid == "v1");
  REQUIRE(registry.RollbackRecord("v2") != nullptr);
  CHECK(*registry.RollbackRecord("v2") == record);

  json stored = json::parse(ReadFile(path));
  CHECK(stored["seq"] == seq + 1);
  CHECK(stored["rollbacks"]["v2"] == record);
  CHECK(stored["clusters"][0]["uuid"] == "v2");
  CHECK(stored["clusters"][0]["rolledBack"] == true);
  CHECK_FALSE(stored["clusters"][1].contains("rolledBack"));

  json state = registry.StateOf(*registry.table().Find("v2"), 1000000);
  CHECK(state["rollback"] == record);
  CHECK(state["newest"] == false);
  CHECK_FALSE(state.contains("gradualShare"));  // a rolled-back ramp is no ramp
  CHECK(registry.StateOf(*registry.table().Find("v1"), 1000000)["newest"] == true);
  CHECK_FALSE(registry.StateOf(*registry.table().Find("v1"), 1000000).contains("rollback"));
}

TEST_CASE("rollback: the rolled-back GRADUAL version no longer ramps", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  OpenWithTwo(&registry);
  registry.LeaseRamp("v2", 1, 1000000);
  CHECK(registry.GradualShare(1000000) == 10.0);
  json change;
  REQUIRE(registry.RollBack("v2", json::object(), &change).ok());
  CHECK(registry.GradualShare(1000000) == 0);  // v1 (INSTANT) is the newest live version now
  CHECK(registry.LeaseRamp("v2", 1, 1000000).count == 0);
}

TEST_CASE("rollback: errors change nothing", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  json change;
  {
    bool loaded;
    Cluster only = Make(kV1);
    only.uuid = "v1";
    REQUIRE(registry.Open(&only, 1000, &loaded).ok());
  }
  // The only version: nothing to roll back to.
  Status last = registry.RollBack("v1", json::object(), &change);
  CHECK(last.code() == Status::Code::kInvalidArgument);
  CHECK(last.message() == "cluster v1 is the only version that can serve: nothing to roll back to");
  CHECK_FALSE(registry.table().Find("v1")->rolled_back);
  CHECK(registry.RollbackRecord("v1") == nullptr);

  Cluster v2 = Make(kGradual10);
  v2.uuid = "v2";
  REQUIRE(registry.Put(v2, 2000, &change).ok());
  uint64_t seq = registry.seq();

  Status missing = registry.RollBack("nope", json::object(), &change);
  CHECK(missing.code() == Status::Code::kNotFound);
  CHECK(missing.message() == "no cluster with uuid nope");

  REQUIRE(registry.RollBack("v2", {{"n", 1}}, &change).ok());
  Status again = registry.RollBack("v2", {{"n", 2}}, &change);
  CHECK(again.code() == Status::Code::kInvalidArgument);
  CHECK(again.message() == "cluster v2 is already rolled back");
  CHECK(*registry.RollbackRecord("v2") == json{{"n", 1}});  // the first record stays

  // v1 is the last live version now, although the table holds two.
  Status last_live = registry.RollBack("v1", json::object(), &change);
  CHECK(last_live.code() == Status::Code::kInvalidArgument);
  CHECK(last_live.message() == "cluster v1 is the only version that can serve: nothing to roll back to");
  CHECK(registry.seq() == seq + 1);
  CHECK_FALSE(registry.table().Find("v1")->rolled_back);
  CHECK(registry.RollbackRecord("v1") == nullptr);
  CHECK(json::parse(ReadFile(path))["seq"] == seq + 1);
}

TEST_CASE("rollback: a state file that cannot be written leaves everything unchanged", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  OpenWithTwo(&registry);
  uint64_t seq = registry.seq();
  std::string before = ReadFile(path);
  REQUIRE(::mkdir((path + ".tmp").c_str(), 0755) == 0);
  json change = "untouched";
  Status failed = registry.RollBack("v2", {{"reason", "errorRate"}}, &change);
  CHECK(failed.code() == Status::Code::kIoError);
  CHECK(change == "untouched");
  CHECK_FALSE(registry.table().Find("v2")->rolled_back);
  CHECK(registry.table().NewestLive()->uuid == "v2");
  CHECK(registry.RollbackRecord("v2") == nullptr);
  CHECK(registry.seq() == seq);
  CHECK(ReadFile(path) == before);
  CHECK_FALSE(registry.StateOf(*registry.table().Find("v2"), 1000000).contains("rollback"));
  ::rmdir((path + ".tmp").c_str());
  // Once the file can be written, the same rollback goes through.
  REQUIRE(registry.RollBack("v2", {{"reason", "errorRate"}}, &change).ok());
  CHECK(registry.seq() == seq + 1);
}

TEST_CASE("rollback: the record grows without a new seq", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  OpenWithTwo(&registry);
  CHECK(registry.UpdateRollbackRecord("v2", json::object()).code() == Status::Code::kNotFound);
  CHECK(registry.UpdateRollbackRecord("nope", json::object()).code() == Status::Code::kNotFound);
  CHECK(registry.RollbackRecord("v2") == nullptr);
  json change;
  REQUIRE(registry.RollBack("v2", {{"timeline", {{"decidedAtMs", 5}}}}, &change).ok());
  uint64_t seq = registry.seq();
  json grown = {{"timeline", {{"decidedAtMs", 5}, {"allWorkersAppliedAtMs", 9}}}};
  REQUIRE(registry.UpdateRollbackRecord("v2", grown).ok());
  CHECK(*registry.RollbackRecord("v2") == grown);
  CHECK(registry.seq() == seq);
  json stored = json::parse(ReadFile(path));
  CHECK(stored["rollbacks"]["v2"] == grown);
  CHECK(stored["seq"] == seq);
}

TEST_CASE("rollback: rolled-back versions and their records survive a restart", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  json record = {{"reason", "latencyP50"}, {"samples", json::array()}};
  uint64_t seq = 0;
  {
    ClusterRegistry registry(path);
    OpenWithTwo(&registry);
    json change;
    REQUIRE(registry.RollBack("v2", record, &change).ok());
    seq = registry.seq();
  }
  ClusterRegistry reloaded(path);
  bool loaded = false;
  REQUIRE(reloaded.Open(nullptr, 0, &loaded).ok());
  CHECK(loaded);
  CHECK(reloaded.seq() == seq);
  CHECK(reloaded.table().Find("v2")->rolled_back);
  CHECK(reloaded.table().NewestLive()->uuid == "v1");
  REQUIRE(reloaded.RollbackRecord("v2") != nullptr);
  CHECK(*reloaded.RollbackRecord("v2") == record);
  json change;
  CHECK(reloaded.RollBack("v2", record, &change).code() == Status::Code::kInvalidArgument);
}

TEST_CASE("rollback: Remove drops the record and the hold", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  OpenWithTwo(&registry, kGradual10);
  Hold(&registry, true, 1000500);
  REQUIRE(registry.ramp_held());
  json change;
  REQUIRE(registry.RollBack("v2", {{"reason", "operator"}}, &change).ok());
  REQUIRE(registry.Remove("v2", &change).ok());
  CHECK(registry.RollbackRecord("v2") == nullptr);
  json stored = json::parse(ReadFile(path));
  CHECK(stored["rollbacks"] == json::object());
  CHECK_FALSE(stored.contains("holds"));
  // The same uuid put again starts clean: no record, no hold, a ramp from zero.
  Cluster again = Make(kGradual10);
  again.uuid = "v2";
  REQUIRE(registry.Put(again, 2000000, &change).ok());
  CHECK(registry.RollbackRecord("v2") == nullptr);
  CHECK_FALSE(registry.ramp_held());
  CHECK_FALSE(registry.table().Find("v2")->rolled_back);
  CHECK(registry.LeaseRamp("v2", 1, 2000000).count == 1);
  CHECK(registry.GradualShare(2000000) == 10.0);
}

TEST_CASE("hold: a held request ramp grants no lease; a hold is a broadcast change", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  ClusterRegistry registry(path);
  OpenWithTwo(&registry, kGradual10);
  CHECK_FALSE(registry.ramp_held());
  registry.LeaseRamp("v2", 1, 1000001);
  registry.LeaseRamp("v2", 1, 1000002);
  CHECK(registry.GradualShare(1000002) == 20.0);
  uint64_t seq = registry.seq();

  json change;
  REQUIRE(registry.SetRampHold(true, 1000003, &change).ok());
  CHECK(registry.ramp_held());
  CHECK(registry.seq() == seq + 1);  // replicas learn it like any change
  CHECK(change == json{{"op", "hold"}, {"uuid", "v2"}, {"heldMs", 0}, {"sinceMs", 1000003}});
  REQUIRE(registry.SetRampHold(true, 1000004, &change).ok());
  CHECK(change.is_null());  // nothing changed: no new seq
  CHECK(registry.seq() == seq + 1);
  for (int i = 0; i < 5; ++i) {
    ClusterRegistry::Lease lease = registry.LeaseRamp("v2", 1, 1000004 + i);
    CHECK(lease.count == 0);
    CHECK(lease.first == 2);  // still tells where the ramp stands
  }
  json state = registry.StateOf(*registry.table().Find("v2"), 1000010);
  CHECK(state["rampHeld"] == true);
  CHECK(state["rampRequests"] == 2);
  json stored = json::parse(ReadFile(path));
  CHECK(stored["clusters"][0]["uuid"] == "v2");
  CHECK(stored["clusters"][0]["rampHold"] == json{{"heldMs", 0}, {"sinceMs", 1000003}});
  CHECK(json::parse(registry.SnapshotJson())[0]["rampHold"]["sinceMs"] == 1000003);

  Hold(&registry, false, 1000020);
  CHECK_FALSE(registry.ramp_held());
  CHECK(registry.LeaseRamp("v2", 1, 1000021).count == 1);
  CHECK(registry.GradualShare(1000021) == 30.0);
  CHECK(registry.StateOf(*registry.table().Find("v2"), 1000021)["rampHeld"] == false);
  CHECK(json::parse(ReadFile(path))["clusters"][0]["rampHold"]["sinceMs"] == 0);
}

TEST_CASE("hold: a held time ramp's clock stops", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  const int64_t t0 = 1000000;  // v2 added
  OpenWithTwo(&registry, kGradualTime, t0);
  CHECK(registry.GradualShare(t0 + 10000) == Approx(10.0));
  Hold(&registry, true, t0 + 10000);
  CHECK(registry.GradualShare(t0 + 50000) == Approx(10.0));
  Hold(&registry, true, t0 + 30000);  // already held: the hold still counts from t0 + 10 s
  CHECK(registry.GradualShare(t0 + 50000) == Approx(10.0));
  Hold(&registry, false, t0 + 50000);
  CHECK(registry.GradualShare(t0 + 60000) == Approx(20.0));
  Hold(&registry, false, t0 + 70000);  // not held: nothing changes
  CHECK(registry.GradualShare(t0 + 80000) == Approx(40.0));
  // A second hold adds to the first.
  Hold(&registry, true, t0 + 80000);
  Hold(&registry, false, t0 + 90000);
  CHECK(registry.GradualShare(t0 + 100000) == Approx(50.0));
  CHECK(registry.GradualShare(t0 + 200000) == Approx(100.0));
  CHECK(registry.GradualShare(t0 + 1000000) == 100.0);
}

TEST_CASE("hold: persisted and reloaded, still held across a restart", "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  const int64_t t0 = 1000000;
  {
    ClusterRegistry registry(path);
    OpenWithTwo(&registry, kGradualTime, t0);
    Hold(&registry, true, t0 + 5000);
    Hold(&registry, false, t0 + 10000);  // 5 s held before
    Hold(&registry, true, t0 + 20000);   // held since t0 + 20 s
    CHECK(registry.GradualShare(t0 + 20000) == Approx(15.0));
  }
  json stored = json::parse(ReadFile(path));
  CHECK(stored["clusters"][0]["rampHold"] == json{{"heldMs", 5000}, {"sinceMs", t0 + 20000}});
  ClusterRegistry reloaded(path);
  bool loaded;
  REQUIRE(reloaded.Open(nullptr, 0, &loaded).ok());
  CHECK(reloaded.ramp_held());
  CHECK(reloaded.GradualShare(t0 + 60000) == Approx(15.0));  // the router was down, the hold went on
  Hold(&reloaded, false, t0 + 60000);
  CHECK(reloaded.GradualShare(t0 + 70000) == Approx(25.0));
  CHECK(reloaded.StateOf(*reloaded.table().Find("v2"), t0 + 70000)["rampHeld"] == false);
}

TEST_CASE("hold: applies to the newest live version only", "[registry-clusters]") {
  TempDir dir;
  ClusterRegistry registry(dir.File("state.json"));
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  Hold(&registry, true, 1000);  // no version at all: nothing to hold
  CHECK_FALSE(registry.ramp_held());
  json change;
  Cluster v1 = Make(kV1);
  v1.uuid = "v1";
  REQUIRE(registry.Put(v1, 1000, &change).ok());
  Cluster v2 = Make(kGradual10);
  v2.uuid = "v2";
  REQUIRE(registry.Put(v2, 1000, &change).ok());
  Hold(&registry, true, 1000);
  CHECK(registry.ramp_held());
  REQUIRE(registry.RollBack("v2", json::object(), &change).ok());
  CHECK_FALSE(registry.ramp_held());  // v1 is the newest live version now, and not held
  CHECK_FALSE(registry.StateOf(*registry.table().Find("v2"), 1000).contains("rampHeld"));
}

TEST_CASE("state file: malformed rollbacks or holds are corrupt; those of unknown clusters are dropped",
          "[registry-clusters]") {
  TempDir dir;
  std::string path = dir.File("state.json");
  for (const char* text : {R"({"seq": 1, "clusters": [], "rollbacks": []})",
                           R"({"seq": 1, "clusters": [], "holds": []})",
                           R"({"seq": 1, "clusters": [], "holds": {"x": 5}})",
                           R"({"seq": 1, "clusters": [], "holds": {"x": {"heldMs": "a", "sinceMs": 0}}})",
                           R"({"seq": 1, "clusters": [], "holds": {"x": {"heldMs": 0}}})"}) {
    INFO(text);
    WriteFile(path, text);
    ClusterRegistry registry(path);
    bool loaded;
    Status status = registry.Open(nullptr, 0, &loaded);
    REQUIRE_FALSE(status.ok());
    CHECK(status.message().rfind(path + ": corrupt state file", 0) == 0);
    CHECK(ReadFile(path) == text);
  }
  WriteFile(path, R"({"seq": 7, "clusters": [], "rollbacks": {"gone": {"reason": "x"}},
                      "holds": {"gone": {"heldMs": 1, "sinceMs": 2}}})");
  ClusterRegistry registry(path);
  bool loaded;
  REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  CHECK(registry.RollbackRecord("gone") == nullptr);
  json change;
  REQUIRE(registry.Put(Make(kV1), 10, &change).ok());  // the next write leaves them out
  json stored = json::parse(ReadFile(path));
  CHECK(stored["rollbacks"] == json::object());
  CHECK_FALSE(stored.contains("holds"));
}
