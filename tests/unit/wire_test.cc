// shared/wire.h: the small fields every peer decodes.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "shared/wire.h"

using namespace upmesh;

TEST_CASE("wire: a capacity is plain decimal from 1 to 1,000,000", "[wire]") {
  CHECK(wire::ParseCapacity("1") == 1);
  CHECK(wire::ParseCapacity("256") == 256);
  CHECK(wire::ParseCapacity("1000000") == 1000000);
  for (const char* bad : {"", "0", "1000001", "-5", "+5", " 5", "5 ", "12a", "99999999999999999999"}) {
    INFO(bad);
    CHECK(wire::ParseCapacity(bad) == -1);
  }
}

TEST_CASE("wire: incarnations are hex of the documented size and differ", "[wire]") {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string incarnation = wire::MakeIncarnation();
    REQUIRE(incarnation.size() == wire::kIncarnationSize);
    CHECK(incarnation.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(incarnation);
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("wire: a route stamp survives its codec and refuses other sizes", "[wire]") {
  wire::RouteStamp stamp;
  stamp.config_seq = 0x0102030405060708ULL;
  stamp.gradual_share_micros = 42500000;
  wire::RouteStamp decoded;
  REQUIRE(wire::RouteStamp::Decode(stamp.Encode(), &decoded));
  CHECK(decoded.config_seq == stamp.config_seq);
  CHECK(decoded.gradual_share_micros == stamp.gradual_share_micros);
  CHECK_FALSE(wire::RouteStamp::Decode(stamp.Encode().substr(1), &decoded));
}
