// The upgrade modes as a pure decision: which version a request goes to.
#include <catch2/catch.hpp>

#include "worker/version_choice.h"

using namespace upmesh;
using namespace upmesh::worker;

namespace {

Cluster MakeCluster(const std::string& uuid, UpgradeMode mode) {
  Cluster cluster;
  cluster.uuid = uuid;
  cluster.servers.push_back({"127.0.0.1", 8000, false});
  cluster.has_transition = mode != UpgradeMode::kInstant;
  cluster.transition.mode = mode;
  cluster.transition.session_timeout_s = 600;
  cluster.transition.percentage_per_request = 1;
  return cluster;
}

// Newest first: v2 (with `mode`), then v1.
std::vector<Cluster> TwoVersions(UpgradeMode mode) {
  return {MakeCluster("v2-uuid", mode), MakeCluster("v1-uuid", UpgradeMode::kInstant)};
}

const auto kNoRandom = [] { return 42; };

}  // namespace

TEST_CASE("no cluster: no choice", "[version]") {
  CHECK(ChooseVersion({}, VersionRequest(), kNoRandom).primary == -1);
}

TEST_CASE("INSTANT: everything goes to the newest version, no cookie", "[version]") {
  VersionRequest request;
  request.session_uuid = "v1-uuid";
  request.position = 3;
  VersionChoice choice = ChooseVersion(TwoVersions(UpgradeMode::kInstant), request, kNoRandom);
  CHECK(choice.primary == 0);
  CHECK(choice.compared == -1);
  CHECK(choice.set_cookie.empty());
}

TEST_CASE("SESSION: a valid cookie pins, anything else goes to the newest", "[version]") {
  auto clusters = TwoVersions(UpgradeMode::kSession);
  VersionRequest pinned;
  pinned.session_uuid = "v1-uuid";
  pinned.now_wall_ms = 784111777000;  // Sun, 06 Nov 1994 08:49:37 GMT
  VersionChoice choice = ChooseVersion(clusters, pinned, kNoRandom);
  CHECK(choice.primary == 1);
  CHECK(choice.set_cookie ==
        "Set-Cookie: dynsoftup=v1-uuid; Max-Age=600; Expires=Sun, 06 Nov 1994 08:59:37 GMT; Path=/; HttpOnly\r\n");

  VersionRequest fresh;
  CHECK(ChooseVersion(clusters, fresh, kNoRandom).primary == 0);
  CHECK(ChooseVersion(clusters, fresh, kNoRandom).set_cookie.find("dynsoftup=v2-uuid;") != std::string::npos);

  VersionRequest deleted;
  deleted.session_uuid = "gone-uuid";  // its cluster was deleted: the newest takes over
  CHECK(ChooseVersion(clusters, deleted, kNoRandom).primary == 0);
}

TEST_CASE("GRADUAL: a client moves once the share passes its position, and never back", "[version]") {
  auto clusters = TwoVersions(UpgradeMode::kGradual);
  VersionRequest request;
  request.position = 30;
  int last = 1;
  for (double share = 0; share <= 100; share += 0.5) {
    request.gradual_share = share;
    VersionChoice choice = ChooseVersion(clusters, request, kNoRandom);
    CHECK(choice.primary == (share > 30 ? 0 : 1));
    CHECK(choice.primary <= last);  // monotone: once on the new version, stays
    last = choice.primary;
    CHECK(choice.set_cookie == "Set-Cookie: transition=30; Max-Age=31536000; Path=/; HttpOnly\r\n");
  }
  VersionRequest fresh;  // no cookie: a position is drawn and handed out
  fresh.gradual_share = 50;
  VersionChoice drawn = ChooseVersion(clusters, fresh, [] { return 7; });
  CHECK(drawn.primary == 0);
  CHECK(drawn.set_cookie.find("transition=7;") != std::string::npos);
  // At 100 % every position is on the new version.
  fresh.position = 99;
  fresh.gradual_share = 100;
  CHECK(ChooseVersion(clusters, fresh, kNoRandom).primary == 0);
}

TEST_CASE("CONCURRENT: safe requests are compared; unsafe ones follow the policy", "[version]") {
  auto clusters = TwoVersions(UpgradeMode::kConcurrent);
  VersionRequest get;
  VersionChoice both = ChooseVersion(clusters, get, kNoRandom);
  CHECK(both.primary == 0);
  CHECK(both.compared == 1);

  VersionRequest post;
  post.safe = false;
  VersionChoice old_only = ChooseVersion(clusters, post, kNoRandom);  // default policy: old
  CHECK(old_only.primary == 1);
  CHECK(old_only.compared == -1);
  clusters[0].transition.unsafe_methods = UnsafeMethodPolicy::kNewOnly;
  CHECK(ChooseVersion(clusters, post, kNoRandom).primary == 0);
  CHECK(ChooseVersion(clusters, post, kNoRandom).compared == -1);
  clusters[0].transition.unsafe_methods = UnsafeMethodPolicy::kBoth;
  CHECK(ChooseVersion(clusters, post, kNoRandom).compared == 1);

  std::vector<Cluster> alone = {clusters[0]};  // nothing to compare with
  CHECK(ChooseVersion(alone, get, kNoRandom).compared == -1);
}

TEST_CASE("cookies are found among several fields and pairs", "[version]") {
  std::string head =
      "GET / HTTP/1.1\r\nHost: a\r\nCookie: theme=dark; dynsoftup=abc-123\r\nCookie: transition=\"17\"\r\n";
  CHECK(FindCookie(head, "dynsoftup") == std::optional<std::string>("abc-123"));
  CHECK(FindCookie(head, "transition") == std::optional<std::string>("17"));
  CHECK_FALSE(FindCookie(head, "missing").has_value());
  CHECK_FALSE(FindCookie("GET /?dynsoftup=x HTTP/1.1\r\nHost: a\r\n", "dynsoftup").has_value());
  CHECK(FindCookie("GET / HTTP/1.1\r\ncookie:dynsoftup=z\r\n", "dynsoftup") == std::optional<std::string>("z"));
}

TEST_CASE("ReadVersionRequest: only the cookie the newest version's mode reads", "[version]") {
  std::string head = "GET / HTTP/1.1\r\nCookie: dynsoftup=v1; transition=42\r\nHost: x";
  VersionRequest session = ReadVersionRequest(head, UpgradeMode::kSession, true, 0, 1000);
  CHECK(session.session_uuid == std::optional<std::string>("v1"));
  CHECK_FALSE(session.position);
  VersionRequest gradual = ReadVersionRequest(head, UpgradeMode::kGradual, false, 12.5, 1000);
  CHECK(gradual.position == std::optional<int>(42));
  CHECK_FALSE(gradual.session_uuid);
  CHECK_FALSE(gradual.safe);
  CHECK(gradual.gradual_share == 12.5);
  CHECK(gradual.now_wall_ms == 1000);
  VersionRequest instant = ReadVersionRequest(head, UpgradeMode::kInstant, true, 0, 0);
  CHECK_FALSE(instant.session_uuid);
  CHECK_FALSE(instant.position);
}

TEST_CASE("ReadVersionRequest: a transition position outside 0..99 is none", "[version]") {
  for (const char* value : {"100", "-1", "5x", "", " "}) {
    std::string head = std::string("GET / HTTP/1.1\r\nCookie: transition=") + value + "\r\n";
    CHECK_FALSE(ReadVersionRequest(head, UpgradeMode::kGradual, true, 0, 0).position);
  }
  CHECK(ReadVersionRequest("GET / HTTP/1.1\r\nCookie: transition=0\r\n", UpgradeMode::kGradual, true, 0, 0).position ==
        std::optional<int>(0));
}
