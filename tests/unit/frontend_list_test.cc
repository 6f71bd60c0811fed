#include <catch2/catch.hpp>

#include "router/frontend_directory.h"
#include "shared/frontend_list.h"

using upmesh::AdvertisedEndpoint;
using upmesh::DecodeFrontendList;
using upmesh::EncodeFrontendList;

TEST_CASE("frontend list: encode and decode round-trip, sorted without duplicates") {
  std::set<std::string> endpoints = {"tcp://10.0.0.2:5553", "tcp://10.0.0.1:5553", "ipc:///tmp/f"};
  std::string json = EncodeFrontendList(endpoints);
  CHECK(json == R"(["ipc:///tmp/f","tcp://10.0.0.1:5553","tcp://10.0.0.2:5553"])");
  std::set<std::string> decoded;
  REQUIRE(DecodeFrontendList(json, &decoded).ok());
  CHECK(decoded == endpoints);
  REQUIRE(DecodeFrontendList("[]", &decoded).ok());
  CHECK(decoded.empty());
}

TEST_CASE("frontend list: malformed lists are refused and leave the output alone") {
  std::set<std::string> decoded = {"tcp://keep:1"};
  for (const char* bad : {"{}", "[1]", R"(["http://x:1"])", R"(["tcp://a:1",)", "", R"("tcp://a:1")"}) {
    INFO(bad);
    upmesh::Status status = DecodeFrontendList(bad, &decoded);
    CHECK_FALSE(status.ok());
    CHECK(decoded == std::set<std::string>{"tcp://keep:1"});
  }
  std::string long_entry = "[\"tcp://" + std::string(600, 'a') + ":1\"]";
  CHECK_FALSE(DecodeFrontendList(long_entry, &decoded).ok());
}

TEST_CASE("advertised endpoint: a wildcard host becomes the peer address") {
  CHECK(AdvertisedEndpoint("tcp://0.0.0.0:5553", "10.1.2.3") == "tcp://10.1.2.3:5553");
  CHECK(AdvertisedEndpoint("tcp://*:5553", "10.1.2.3") == "tcp://10.1.2.3:5553");
  CHECK(AdvertisedEndpoint("tcp://[::]:5553", "fd00::7") == "tcp://[fd00::7]:5553");
  CHECK(AdvertisedEndpoint("tcp://:::5553", "fd00::7") == "tcp://[fd00::7]:5553");
  // A real host, an ipc endpoint, or no peer address: unchanged.
  CHECK(AdvertisedEndpoint("tcp://frontend-1:5553", "10.1.2.3") == "tcp://frontend-1:5553");
  CHECK(AdvertisedEndpoint("ipc:///tmp/f", "10.1.2.3") == "ipc:///tmp/f");
  CHECK(AdvertisedEndpoint("tcp://0.0.0.0:5553", "") == "tcp://0.0.0.0:5553");
}

TEST_CASE("frontend directory: changes are reported, silent frontends expire") {
  upmesh::router::FrontendDirectory directory(1000);
  CHECK(directory.Heard("f1", "tcp://a:1", 0));
  CHECK_FALSE(directory.Heard("f1", "tcp://a:1", 500));  // a heartbeat: no change
  CHECK(directory.Heard("f2", "tcp://b:1", 600));
  CHECK_FALSE(directory.Heard("f3", "tcp://b:1", 600));  // same endpoint, another id: the set is the same
  CHECK(directory.Endpoints() == std::set<std::string>{"tcp://a:1", "tcp://b:1"});
  CHECK_FALSE(directory.Expire(1400));
  CHECK(directory.Expire(1500));  // f1 silent for 1000 ms
  CHECK(directory.Endpoints() == std::set<std::string>{"tcp://b:1"});
  CHECK(directory.Heard("f2", "tcp://c:1", 1600));  // a new endpoint under a known id; f3 still has b
  CHECK(directory.Endpoints() == std::set<std::string>{"tcp://b:1", "tcp://c:1"});
}
