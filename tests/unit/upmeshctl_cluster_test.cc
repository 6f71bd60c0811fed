// upmeshctl's cluster input (file text and flags -> PUT body) and its
// readable output of the API's JSON.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "ctl/cluster_input.h"
#include "ctl/cluster_view.h"
#include "ctl/config_api.h"

namespace upmesh::ctl {
namespace {

using nlohmann::json;

TEST_CASE("upmeshctl add --file accepts the wrapped and the bare cluster", "[upmeshctl]") {
  json request;
  REQUIRE(ClusterRequestFromText(R"({"cluster": {"version": 2}})", "--file a.json", &request).ok());
  CHECK(request == json::parse(R"({"cluster": {"version": 2}})"));
  REQUIRE(ClusterRequestFromText(R"({"version": 2, "servers": []})", "--file a.json", &request).ok());
  CHECK(request == json::parse(R"({"cluster": {"version": 2, "servers": []}})"));

  Status not_json = ClusterRequestFromText("{version: 2", "--file a.json", &request);
  CHECK(not_json.message() == "--file a.json: not valid JSON: line 1, column 2: invalid literal; last read: \"{v\"; expected string literal");
  CHECK_THAT(ClusterRequestFromText("[1]", "--file a.json", &request).message(), Catch::Contains("JSON object"));
}

TEST_CASE("upmeshctl add flags build the API's cluster", "[upmeshctl]") {
  ClusterFlags flags;
  flags.version = "2";
  flags.servers = {"127.0.0.1:8002", "[::1]:8003", "backend-v2:80"};
  flags.mode = "gradual";
  flags.percentage = 0.5;
  json request;
  REQUIRE(ClusterRequestFromFlags(flags, &request).ok());
  CHECK(request == json::parse(R"({"cluster": {"version": 2,
      "servers": [{"ip": "127.0.0.1", "port": 8002}, {"ip": "::1", "port": 8003},
                  {"hostname": "backend-v2", "port": 80}],
      "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.5}}})"));

  flags = ClusterFlags();
  flags.version = "1.10";
  flags.servers = {"127.0.0.1:8002"};
  flags.uuid = "release-1.10";
  REQUIRE(ClusterRequestFromFlags(flags, &request).ok());
  CHECK(request["cluster"]["version"] == "1.10");
  CHECK(request["cluster"]["uuid"] == "release-1.10");
  CHECK_FALSE(request["cluster"].contains("upgradeTransition"));

  flags.mode = "CONCURRENT";
  flags.delay_tolerance_ms = 500;
  flags.unsafe_methods = "both";
  REQUIRE(ClusterRequestFromFlags(flags, &request).ok());
  CHECK(request["cluster"]["upgradeTransition"] ==
        json::parse(R"({"mode": "CONCURRENT", "delayToleranceMs": 500, "unsafeMethods": "both"})"));
}

TEST_CASE("upmeshctl add flags that do not fit are refused naming the flag", "[upmeshctl]") {
  auto error = [](ClusterFlags flags) {
    json request;
    return ClusterRequestFromFlags(flags, &request).message();
  };
  ClusterFlags valid;
  valid.version = "2";
  valid.servers = {"127.0.0.1:8002"};

  ClusterFlags flags = valid;
  flags.version.clear();
  CHECK_THAT(error(flags), Catch::StartsWith("--version:"));
  flags = valid;
  flags.servers.clear();
  CHECK_THAT(error(flags), Catch::StartsWith("--server:"));
  flags = valid;
  flags.servers = {"127.0.0.1"};
  CHECK_THAT(error(flags), Catch::StartsWith("--server:"));
  flags = valid;
  flags.mode = "FAST";
  CHECK_THAT(error(flags), Catch::StartsWith("--mode:"));
  flags = valid;
  flags.percentage = 1;
  CHECK(error(flags) == "--percentage: only for --mode GRADUAL (no --mode given)");
  flags.mode = "SESSION";
  CHECK(error(flags) == "--percentage: only for --mode GRADUAL, not SESSION");
  flags = valid;
  flags.mode = "INSTANT";
  flags.session_timeout_s = 60;
  CHECK(error(flags) == "--session-timeout: only for --mode SESSION or GRADUAL, not INSTANT");
}

TEST_CASE("upmeshctl list is a table in the API's order", "[upmeshctl]") {
  json clusters = json::parse(R"([
    {"cluster": {"uuid": "b", "version": 2, "servers": [{"ip": "127.0.0.1", "port": 8002}, {"hostname": "h", "port": 80}],
                 "upgradeTransition": {"mode": "GRADUAL", "percentageTransitionPerRequest": 0.5}},
     "state": {"requestsServed": 75, "newest": true, "gradualShare": 37.5, "rampRequests": 75,
               "health": "watching"}},
    {"cluster": {"uuid": "a", "version": 1, "servers": [{"ip": "::1", "port": 8001}]},
     "state": {"requestsServed": 1520, "newest": false}}])");
  // "a" as an older router reports it: no health.
  CHECK(FormatClusterList(clusters) ==
        "UUID  VERSION  MODE     SERVERS              SERVED  HEALTH    STATE\n"
        "b     2        GRADUAL  127.0.0.1:8002,h:80  75      watching  newest, share 37.5 %\n"
        "a     1        INSTANT  [::1]:8001           1520    -         -\n");
  CHECK(FormatClusterList(json::array()) == "no cluster versions configured\n");
}

TEST_CASE("upmeshctl show describes a cluster and tolerates unexpected JSON", "[upmeshctl]") {
  json entry = json::parse(R"({
    "cluster": {"uuid": "c", "version": "1.10", "servers": [{"ip": "127.0.0.1", "port": 8003}],
                "upgradeTransition": {"mode": "CONCURRENT", "delayToleranceMs": 500, "unsafeMethods": "old"}},
    "state": {"requestsServed": 3, "newest": true, "mismatches": 1,
              "recentMismatches": [{"cluster": "c", "worker": "w1", "atMs": 0, "status": [200, 500]}]}})");
  std::string text = FormatClusterDetails(entry);
  CHECK_THAT(text, Catch::Contains("version:            1.10 (newest)\n"));
  CHECK_THAT(text, Catch::Contains(
                       "upgrade transition: CONCURRENT (delay tolerance 500 ms, unsafe methods to the old version only)\n"));
  CHECK_THAT(text, Catch::Contains("mismatches:         1\n"));
  CHECK_THAT(text, Catch::Contains(" worker w1: status=[200,500]\n"));

  // Whatever the router sends, the output is text, never a crash.
  for (const char* odd : {"null", "[]", "42", R"({"cluster": 1, "state": "x"})",
                          R"({"cluster": {"servers": [1, {"port": "x"}], "upgradeTransition": {"mode": 7}}})"}) {
    CHECK_NOTHROW(FormatClusterDetails(json::parse(odd)));
    CHECK_NOTHROW(FormatClusterList(json::array({json::parse(odd)})));
  }
}

TEST_CASE("upmeshctl addresses and request targets", "[upmeshctl]") {
  ApiAddress address;
  REQUIRE(ParseApiAddress("[::1]:9091", &address).ok());
  CHECK(address.host == "::1");
  CHECK(address.port == 9091);
  CHECK(address.ToString() == "[::1]:9091");
  CHECK_FALSE(address.https);
  CHECK_FALSE(ParseApiAddress("localhost", &address).ok());
  REQUIRE(ParseApiAddress("https://localhost:9443/", &address).ok());
  CHECK(address.host == "localhost");
  CHECK(address.port == 9443);
  CHECK(address.https);
  CHECK(address.ToString() == "https://localhost:9443");
  REQUIRE(ParseApiAddress("http://127.0.0.1:9090", &address).ok());
  CHECK_FALSE(address.https);
  CHECK_FALSE(ParseApiAddress("https://", &address).ok());
  CHECK_FALSE(ParseApiAddress("ftp://127.0.0.1:9090", &address).ok());
  CHECK(ClusterTarget("6f1c-2d.x_y~") == "/configuration/cluster/6f1c-2d.x_y~");
  CHECK(ClusterTarget("a/b c") == "/configuration/cluster/a%2Fb%20c");
}

}  // namespace
}  // namespace upmesh::ctl
