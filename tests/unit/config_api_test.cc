// The REST config API without sockets: every endpoint, status code and
// validation message, and that a change reaches the publisher exactly when
// it was applied.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/config_api.h"

using nlohmann::json;
using upmesh::router::ApiResponse;
using upmesh::router::ClusterRegistry;
using upmesh::router::ConfigApi;

namespace {

struct Published {
  uint64_t seq;
  json change;
};

// A registry on a fresh state file, the API on top, and a record of every
// change handed to the publisher.
struct Fixture {
  Fixture() : registry(Dir() + "/state.json"), api(&registry, &monitor, [this](uint64_t seq, const json& change) {
    published.push_back({seq, change});
  }) {
    bool loaded;
    REQUIRE(registry.Open(nullptr, 0, &loaded).ok());
  }
  ~Fixture() { std::system(("rm -rf '" + dir + "'").c_str()); }

  std::string Dir() {
    char pattern[] = "/tmp/upmesh-api-test-XXXXXX";
    dir = mkdtemp(pattern);
    return dir;
  }
  ApiResponse Call(const std::string& method, const std::string& target, const std::string& body = "") {
    return api.Handle({method, target, body}, 1000);
  }
  // PUTs {"cluster": cluster_json}; requires 202 and returns the uuid.
  std::string Put(const std::string& cluster_json) {
    ApiResponse response = Call("PUT", "/configuration/cluster", "{\"cluster\": " + cluster_json + "}");
    INFO(response.body);
    REQUIRE(response.status == 202);
    return response.body;
  }

  std::string dir;
  ClusterRegistry registry;
  std::vector<Published> published;
  upmesh::router::VersionMonitor monitor;
  ConfigApi api;
};

std::string Servers(int port) { return R"("servers": [{"ip": "127.0.0.1", "port": )" + std::to_string(port) + "}]"; }

}  // namespace

TEST_CASE("PUT answers 202 with the new uuid and publishes the change", "[config-api]") {
  Fixture f;
  ApiResponse response = f.Call("PUT", "/configuration/cluster", "{\"cluster\": {\"version\": 2, " + Servers(8001) + "}}");
  CHECK(response.status == 202);
  CHECK(response.content_type.rfind("text/plain", 0) == 0);
  CHECK(response.body.size() == 36);
  REQUIRE(f.published.size() == 1);
  CHECK(f.published[0].seq == 1);
  CHECK(f.published[0].change["op"] == "put");
  CHECK(f.published[0].change["cluster"]["uuid"] == response.body);
  CHECK(f.registry.table().Find(response.body));
}

TEST_CASE("PUT keeps the client's uuid; an existing one is a 409", "[config-api]") {
  Fixture f;
  CHECK(f.Put("{\"uuid\": \"blue-2\", " + Servers(8001) + "}") == "blue-2");
  ApiResponse again = f.Call("PUT", "/configuration/cluster/", "{\"cluster\": {\"uuid\": \"blue-2\", " + Servers(8002) + "}}");
  CHECK(again.status == 409);  // the collection with a trailing slash takes PUT too
  again = f.Call("PUT", "/configuration/cluster", "{\"cluster\": {\"uuid\": \"blue-2\", " + Servers(8002) + "}}");
  CHECK(again.status == 409);
  CHECK(again.body == "cluster.uuid: a cluster with uuid blue-2 already exists\n");
  CHECK(f.published.size() == 1);
}

TEST_CASE("GET lists clusters newest first with their state, with or without a slash", "[config-api]") {
  Fixture f;
  std::string v19 = f.Put("{\"version\": \"1.9\", " + Servers(8001) + "}");
  std::string v110 = f.Put("{\"version\": \"1.10\", " + Servers(8002) + "}");
  std::string v1 = f.Put("{\"version\": 1, " + Servers(8003) + "}");
  std::string v110b = f.Put("{\"version\": \"1.10\", " + Servers(8004) + "}");  // same version, added later
  for (const char* target : {"/configuration/cluster", "/configuration/cluster/", "/configuration/cluster?x=1"}) {
    INFO(target);
    ApiResponse response = f.Call("GET", target);
    REQUIRE(response.status == 200);
    CHECK(response.content_type == "application/json");
    json list = json::parse(response.body);
    REQUIRE(list.size() == 4);
    std::vector<std::string> order;
    for (const json& entry : list) order.push_back(entry["cluster"]["uuid"]);
    CHECK(order == std::vector<std::string>{v110b, v110, v19, v1});
    CHECK(list[0]["state"]["newest"] == true);
    CHECK(list[1]["state"]["newest"] == false);
    CHECK(list[0]["state"]["requestsServed"] == 0);
    CHECK(list[0]["cluster"]["servers"][0]["port"] == 8004);
  }
  CHECK(json::parse(f.Call("HEAD", "/configuration/cluster").body).size() == 4);  // the listener drops the body
}

TEST_CASE("GET of an empty table is an empty array", "[config-api]") {
  Fixture f;
  ApiResponse response = f.Call("GET", "/configuration/cluster");
  CHECK(response.status == 200);
  CHECK(json::parse(response.body) == json::array());
}

TEST_CASE("GET and DELETE by id: 200/202 or 404", "[config-api]") {
  Fixture f;
  std::string uuid = f.Put(R"({"version": 3, "upgradeTransition": {"mode": "SESSION", "sessionTimeout": 60}, )" +
                           Servers(8001) + "}");
  ApiResponse got = f.Call("GET", "/configuration/cluster/" + uuid);
  REQUIRE(got.status == 200);
  json body = json::parse(got.body);
  CHECK(body["cluster"]["uuid"] == uuid);
  CHECK(body["cluster"]["upgradeTransition"] == json{{"mode", "SESSION"}, {"sessionTimeout", 60}});
  CHECK(body["state"]["newest"] == true);
  CHECK_FALSE(body["cluster"].contains("addedOrder"));  // stored-only fields stay internal

  ApiResponse missing = f.Call("GET", "/configuration/cluster/nope");
  CHECK(missing.status == 404);
  CHECK(missing.body == "no cluster with uuid nope\n");

  ApiResponse deleted = f.Call("DELETE", "/configuration/cluster/" + uuid);
  CHECK(deleted.status == 202);
  CHECK(deleted.body.empty());
  REQUIRE(f.published.size() == 2);
  CHECK(f.published[1].seq == 2);
  CHECK(f.published[1].change == json{{"op", "delete"}, {"uuid", uuid}});
  CHECK(f.Call("DELETE", "/configuration/cluster/" + uuid).status == 404);
  CHECK(f.Call("GET", "/configuration/cluster/" + uuid).status == 404);
  CHECK(f.published.size() == 2);
}

TEST_CASE("other paths are 404, other methods 405 with Allow", "[config-api]") {
  Fixture f;
  for (const char* target : {"/", "/configuration", "/configuration/clusters", "/configuration/cluster/a/b",
                             "/configuration/cluster//", "/Configuration/cluster"}) {
    INFO(target);
    CHECK(f.Call("GET", target).status == 404);
  }
  ApiResponse post = f.Call("POST", "/configuration/cluster", "{}");
  CHECK(post.status == 405);
  REQUIRE(post.extra_fields.size() == 1);
  CHECK(post.extra_fields[0].name == "Allow");
  CHECK(post.extra_fields[0].value == "GET, HEAD, PUT");
  CHECK(f.Call("DELETE", "/configuration/cluster").status == 405);
  ApiResponse put_item = f.Call("PUT", "/configuration/cluster/x", "{}");
  CHECK(put_item.status == 405);
  CHECK(put_item.extra_fields[0].value == "GET, HEAD, DELETE");
  CHECK(f.Call("PATCH", "/configuration/cluster/x").status == 405);
}

TEST_CASE("bad PUT bodies: 400 naming the field, nothing applied", "[config-api]") {
  Fixture f;
  struct Case {
    std::string body;
    std::string message;
  };
  std::vector<Case> cases = {
      {"", "body: not valid JSON (line 1, column 1: unexpected end of input; expected '[', '{', or a literal); "
           "expected {\"cluster\": {...}}"},
      {"{\"cluster\": ", "body: not valid JSON (line 1, column 13: unexpected end of input; expected '[', '{', or a "
                        "literal); expected {\"cluster\": {...}}"},
      {"not json at all", "body: not valid JSON (line 1, column 2: invalid literal; last read: \"no\"); "
                          "expected {\"cluster\": {...}}"},
      {"{\"cluster\": {\n  \"version\": 1,\n}}", "body: not valid JSON (line 3, column 1: unexpected '}'; expected "
                                             "string literal); expected {\"cluster\": {...}}"},
      {"[1]", "body: must be a JSON object {\"cluster\": {...}}"},
      {"\"text\"", "body: must be a JSON object {\"cluster\": {...}}"},
      {"{}", "cluster: missing; expected {\"cluster\": {...}}"},
      {"{\"cluster\": {" + Servers(1) + "}, \"extra\": 1}", "extra: unknown key"},
      {"{\"cluster\": 5}", "cluster: must be an object, got 5"},
      {"{\"cluster\": {\"version\": 1}}",
       "cluster.servers: must be a non-empty array of {\"ip\" or \"hostname\", \"port\"}"},
      {"{\"cluster\": {\"servers\": [{\"ip\": \"127.0.0.1\", \"port\": 0}]}}",
       "cluster.servers[0].port: must be an integer in 1..65535, got 0"},
      {"{\"cluster\": {" + Servers(1) + ", \"upgradeTransition\": {\"mode\": \"SLOW\"}}}",
       "cluster.upgradeTransition.mode: must be one of INSTANT, SESSION, GRADUAL, CONCURRENT, got \"SLOW\""},
      {"{\"cluster\": {" + Servers(1) + ", \"upgradeTransition\": {\"mode\": \"SESSION\"}}}",
       "cluster.upgradeTransition.sessionTimeout: required for SESSION (seconds)"},
      {"{\"cluster\": {" + Servers(1) + ", \"upgradeTransition\": {\"mode\": \"GRADUAL\", \"percentageTransitionPerRequest\": 0}}}",
       "cluster.upgradeTransition.percentageTransitionPerRequest: must be a number in (0, 100], got 0"},
      {"{\"cluster\": {" + Servers(1) + ", \"upgradeTransition\": {\"mode\": \"GRADUAL\", \"percentageTransitionPerRequest\": 101}}}",
       "cluster.upgradeTransition.percentageTransitionPerRequest: must be a number in (0, 100], got 101"},
      {"{\"cluster\": {" + Servers(1) + ", \"upgradeTransition\": {\"mode\": \"GRADUAL\"}}}",
       "cluster.upgradeTransition: GRADUAL needs exactly one of percentageTransitionPerRequest (ramp by requests) "
       "or durationSeconds (ramp by time)"},
      {"{\"cluster\": {" + Servers(1) + ", \"upgradeTransition\": {\"mode\": \"GRADUAL\", \"durationSeconds\": 5, "
       "\"percentageTransitionPerRequest\": 5}}}",
       "cluster.upgradeTransition: GRADUAL needs exactly one of percentageTransitionPerRequest (ramp by requests) "
       "or durationSeconds (ramp by time)"},
  };
  for (const Case& c : cases) {
    INFO(c.body);
    ApiResponse response = f.Call("PUT", "/configuration/cluster", c.body);
    CHECK(response.status == 400);
    CHECK(response.body == c.message + "\n");
  }
  ApiResponse too_big = f.Call("PUT", "/configuration/cluster", std::string(f.api.max_body_bytes() + 1, ' '));
  CHECK(too_big.status == 413);
  CHECK(too_big.body == "body: larger than the limit of 1048576 bytes (configService.maxBodyBytes)\n");
  CHECK(f.published.empty());
  CHECK(f.registry.table().empty());
  CHECK(f.registry.seq() == 0);
}

TEST_CASE("fuzz-ish bodies never crash and never half-apply", "[config-api]") {
  Fixture f;
  std::string valid = "{\"cluster\": {\"version\": \"2.0\", " + Servers(8001) +
                      ", \"upgradeTransition\": {\"mode\": \"GRADUAL\", \"percentageTransitionPerRequest\": 5}}}";
  std::mt19937 random(42);
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string body = valid;
    int edits = 1 + static_cast<int>(random() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = random() % body.size();
      switch (random() % 3) {
        case 0: body[at] = static_cast<char>(random() % 256); break;
        case 1: body.erase(at, 1 + random() % 8); break;
        default: body.insert(at, 1, "{}[]\",:0-.e\\"[random() % 12]); break;
      }
      if (body.empty()) body = "x";
    }
    ApiResponse response = f.Call("PUT", "/configuration/cluster", body);
    INFO(body);
    REQUIRE((response.status == 202 || response.status == 400 || response.status == 409));
    if (response.status == 202) ++accepted;
  }
  CHECK(f.registry.table().clusters().size() == static_cast<size_t>(accepted));
  CHECK(f.registry.seq() == static_cast<uint64_t>(accepted));
  CHECK(f.published.size() == static_cast<size_t>(accepted));
  // The GET output is valid JSON whatever was accepted (invalid UTF-8 included).
  CHECK_NOTHROW(json::parse(f.Call("GET", "/configuration/cluster").body));
}

TEST_CASE("a state file that cannot be written: 500 and nothing changed", "[config-api]") {
  Fixture f;
  std::string kept = f.Put("{" + Servers(8001) + "}");
  REQUIRE(::mkdir((f.dir + "/state.json.tmp").c_str(), 0755) == 0);
  ApiResponse put = f.Call("PUT", "/configuration/cluster", "{\"cluster\": {" + Servers(8002) + "}}");
  CHECK(put.status == 500);
  CHECK(put.body.rfind("cannot persist the change, nothing changed: ", 0) == 0);
  CHECK(f.Call("DELETE", "/configuration/cluster/" + kept).status == 500);
  CHECK(f.registry.table().clusters().size() == 1);
  CHECK(f.published.size() == 1);
  ::rmdir((f.dir + "/state.json.tmp").c_str());
}

TEST_CASE("the API shows the GRADUAL share and CONCURRENT mismatches", "[config-api]") {
  Fixture f;
  f.Put("{\"version\": 1, " + Servers(8001) + "}");
  std::string gradual = f.Put("{\"version\": 2, " + Servers(8002) +
                              ", \"upgradeTransition\": {\"mode\": \"GRADUAL\", \"percentageTransitionPerRequest\": 2.5}}");
  for (int i = 0; i < 4; ++i) f.registry.LeaseRamp(gradual, 1, 1000);
  json state = json::parse(f.Call("GET", "/configuration/cluster/" + gradual).body)["state"];
  CHECK(state["gradualShare"] == 10.0);
  CHECK(state["rampRequests"] == 4);

  std::string concurrent = f.Put("{\"version\": 3, " + Servers(8003) + ", \"upgradeTransition\": {\"mode\": \"CONCURRENT\"}}");
  REQUIRE(f.registry.RecordMismatch("w1", {{"cluster", concurrent}, {"status", {200, 500}}}, 5).ok());
  state = json::parse(f.Call("GET", "/configuration/cluster/" + concurrent).body)["state"];
  CHECK(state["mismatches"] == 1);
  CHECK(state["recentMismatches"][0]["status"] == json{200, 500});
  // The GRADUAL cluster is no longer the newest: no share shown.
  CHECK_FALSE(json::parse(f.Call("GET", "/configuration/cluster/" + gradual).body)["state"].contains("gradualShare"));
}

// --- POST .../rollback and the monitor's part of the state ---

namespace {

// A report of `requests` requests to `uuid`, `errors` of them 5xx, with `failure_run`.
upmesh::HealthReport HealthOf(const std::string& uuid, uint64_t requests, uint64_t errors, uint64_t failure_run = 0) {
  upmesh::HealthReport report;
  upmesh::VersionReport& version = report.versions[uuid];
  version.figures.ok = requests - errors;
  version.figures.server_errors = errors;
  version.figures.latency_us.AddToBin(upmesh::LogHistogram::BinOf(10000), requests - errors);
  version.failure_run = failure_run;
  return report;
}

}  // namespace

TEST_CASE("POST rollback: 202, published, and the state shows the record", "[config-api]") {
  Fixture f;
  std::string v1 = f.Put("{\"version\": 1, " + Servers(8001) + "}");
  std::string v2 = f.Put("{\"version\": 2, " + Servers(8002) + "}");
  f.monitor.Record("w1", HealthOf(v1, 300, 0), f.registry.table(), 500);
  f.monitor.Record("w1", HealthOf(v2, 120, 30), f.registry.table(), 500);
  uint64_t seq = f.registry.seq();

  ApiResponse response = f.Call("POST", "/configuration/cluster/" + v2 + "/rollback");
  CHECK(response.status == 202);
  CHECK(response.body == "rolled back: " + v2 + "\n");
  REQUIRE(f.published.size() == 3);
  CHECK(f.published[2].seq == seq + 1);
  CHECK(f.published[2].change == json{{"op", "rollback"}, {"uuid", v2}});
  CHECK(f.registry.table().Find(v2)->rolled_back);

  json state = json::parse(f.Call("GET", "/configuration/cluster/" + v2).body)["state"];
  CHECK(state["health"] == "rolledBack");
  CHECK(state["healthDetail"] == "rolled back: gets no traffic");
  CHECK(state["newest"] == false);
  REQUIRE(state.contains("rollback"));
  const json& record = state["rollback"];
  CHECK(record["uuid"] == v2);
  CHECK(record["reason"] == "operator");
  CHECK(record["detail"] == "rolled back by an operator through the API");
  CHECK(record["atMs"] == 1000);
  CHECK(record["seq"] == seq + 1);
  CHECK(record["version"] == 2);
  CHECK(record["window"]["new"]["requests"] == 120);  // the monitor's evidence at the time
  CHECK(record["window"]["new"]["serverErrors"] == 30);
  CHECK(record["window"]["old"]["uuid"] == v1);
  CHECK(record["window"]["old"]["requests"] == 300);
  CHECK(record["window"]["old"]["from"] == "window");
  CHECK(record["timeline"]["decidedAtMs"] == 1000);
  CHECK(record["thresholds"]["minRequests"] == 50);

  json v1_state = json::parse(f.Call("GET", "/configuration/cluster/" + v1).body)["state"];
  CHECK(v1_state["newest"] == true);
  CHECK_FALSE(v1_state.contains("rollback"));
}

TEST_CASE("POST rollback: 404 for an unknown version, 409 twice or for the last live version", "[config-api]") {
  Fixture f;
  std::string v1 = f.Put("{\"version\": 1, " + Servers(8001) + "}");
  ApiResponse only = f.Call("POST", "/configuration/cluster/" + v1 + "/rollback");
  CHECK(only.status == 409);
  CHECK(only.body == "cluster " + v1 + " is the only version that can serve: nothing to roll back to\n");

  ApiResponse missing = f.Call("POST", "/configuration/cluster/nope/rollback");
  CHECK(missing.status == 404);
  CHECK(missing.body == "no cluster with uuid nope\n");

  std::string v2 = f.Put("{\"version\": 2, " + Servers(8002) + "}");
  CHECK(f.Call("POST", "/configuration/cluster/" + v2 + "/rollback").status == 202);
  ApiResponse twice = f.Call("POST", "/configuration/cluster/" + v2 + "/rollback");
  CHECK(twice.status == 409);
  CHECK(twice.body == "cluster " + v2 + " is already rolled back\n");
  ApiResponse last = f.Call("POST", "/configuration/cluster/" + v1 + "/rollback");
  CHECK(last.status == 409);
  CHECK(last.body == "cluster " + v1 + " is the only version that can serve: nothing to roll back to\n");
  CHECK(f.published.size() == 3);  // two puts and one rollback
  CHECK_FALSE(f.registry.table().Find(v1)->rolled_back);
}

TEST_CASE("the rollback path takes POST only", "[config-api]") {
  Fixture f;
  std::string v1 = f.Put("{\"version\": 1, " + Servers(8001) + "}");
  std::string v2 = f.Put("{\"version\": 2, " + Servers(8002) + "}");
  for (const char* method : {"GET", "HEAD", "PUT", "DELETE", "PATCH"}) {
    INFO(method);
    ApiResponse response = f.Call(method, "/configuration/cluster/" + v2 + "/rollback");
    CHECK(response.status == 405);
    REQUIRE(response.extra_fields.size() == 1);
    CHECK(response.extra_fields[0].name == "Allow");
    CHECK(response.extra_fields[0].value == "POST");
  }
  CHECK_FALSE(f.registry.table().Find(v2)->rolled_back);
  // Neighbouring paths are not the rollback.
  CHECK(f.Call("POST", "/configuration/cluster//rollback").status == 404);
  CHECK(f.Call("POST", "/configuration/cluster/" + v2 + "/rollback/x").status == 404);
  CHECK(f.Call("POST", "/configuration/cluster/" + v2 + "/rollbacks").status == 404);
  CHECK(f.Call("POST", "/configuration/cluster/a/b/rollback").status == 404);
  CHECK(f.Call("GET", "/configuration/cluster/rollback").status == 404);  // a cluster named "rollback"
  // A query string is ignored.
  CHECK(f.Call("POST", "/configuration/cluster/" + v2 + "/rollback?now=1").status == 202);
  CHECK(f.registry.table().Find(v2)->rolled_back);
  CHECK(f.published.size() == 3);
  (void)v1;
}

TEST_CASE("POST rollback: a state file that cannot be written is a 500 and nothing changed", "[config-api]") {
  Fixture f;
  f.Put("{\"version\": 1, " + Servers(8001) + "}");
  std::string v2 = f.Put("{\"version\": 2, " + Servers(8002) + "}");
  REQUIRE(::mkdir((f.dir + "/state.json.tmp").c_str(), 0755) == 0);
  ApiResponse response = f.Call("POST", "/configuration/cluster/" + v2 + "/rollback");
  CHECK(response.status == 500);
  CHECK(response.body.rfind("cannot persist the change, nothing changed: ", 0) == 0);
  CHECK_FALSE(f.registry.table().Find(v2)->rolled_back);
  CHECK(f.registry.RollbackRecord(v2) == nullptr);
  CHECK(f.published.size() == 2);
  ::rmdir((f.dir + "/state.json.tmp").c_str());
}

TEST_CASE("the state joins the monitor's health and window", "[config-api]") {
  Fixture f;
  std::string v1 = f.Put("{\"version\": 1, " + Servers(8001) + "}");
  json alone = json::parse(f.Call("GET", "/configuration/cluster/" + v1).body)["state"];
  CHECK(alone["health"] == "healthy");
  CHECK(alone["healthDetail"] == "the only version that can serve: nothing to compare it with");
  CHECK(alone["window"]["seconds"] == 10);
  CHECK(alone["window"]["requests"] == 0);

  std::string v2 = f.Put("{\"version\": 2, " + Servers(8002) +
                         ", \"upgradeTransition\": {\"mode\": \"INSTANT\", \"monitor\": {\"windowSeconds\": 30}}}");
  f.monitor.Record("w1", HealthOf(v1, 100, 0), f.registry.table(), 0);
  f.monitor.Record("w1", HealthOf(v2, 80, 4), f.registry.table(), 0);
  json list = json::parse(f.Call("GET", "/configuration/cluster").body);
  REQUIRE(list.size() == 2);
  CHECK(list[0]["cluster"]["uuid"] == v2);
  CHECK(list[0]["state"]["health"] == "watching");
  CHECK(list[0]["state"]["healthDetail"] == "not judged yet");
  CHECK(list[0]["state"]["window"]["requests"] == 80);
  CHECK(list[0]["state"]["window"]["seconds"] == 30);  // the candidate's window
  CHECK(list[0]["cluster"]["upgradeTransition"]["monitor"]["windowSeconds"] == 30);
  CHECK(list[1]["state"]["health"] == "healthy");
  CHECK(list[1]["state"]["healthDetail"] == "the baseline the newest version is compared with");
  CHECK(list[1]["state"]["window"]["requests"] == 100);
  CHECK(list[1]["state"]["window"]["seconds"] == 30);

  REQUIRE_FALSE(f.monitor.Evaluate(f.registry.table(), 0).has_value());
  json judged = json::parse(f.Call("GET", "/configuration/cluster/" + v2).body)["state"];
  CHECK(judged["health"] == "healthy");
  CHECK(judged["healthDetail"].get<std::string>().rfind("80 requests, error rate 5.0 % vs 0.0 %", 0) == 0);
}

TEST_CASE("ConfigApi::RollBack keeps the judge's reason in the record", "[config-api]") {
  Fixture f;
  f.Put("{\"version\": 1, " + Servers(8001) + "}");
  std::string v2 = f.Put("{\"version\": 2, " + Servers(8002) + "}");
  f.monitor.Record("w1", HealthOf(v2, 12, 12, 12), f.registry.table(), 0);
  std::optional<upmesh::router::VersionMonitor::Decision> decision = f.monitor.Evaluate(f.registry.table(), 0);
  REQUIRE(decision.has_value());
  REQUIRE(f.api.RollBack(decision->uuid, decision->judgement.rule, decision->judgement.detail, 777).ok());
  const json* record = f.registry.RollbackRecord(v2);
  REQUIRE(record != nullptr);
  CHECK((*record)["reason"] == "consecutiveFailures");
  CHECK((*record)["detail"] == "12 failures in a row (threshold 10)");
  CHECK((*record)["failureRun"] == 12);
  CHECK((*record)["atMs"] == 777);
  CHECK((*record)["seq"] == f.registry.seq());
  REQUIRE(f.published.size() == 3);
  CHECK(f.published[2].change["op"] == "rollback");
  CHECK(f.api.RollBack(v2, "operator", "", 778).code() == upmesh::Status::Code::kInvalidArgument);
  CHECK(f.published.size() == 3);
}
