// Suggestions for misspelt keys and flags: edit distance and the closest
// plausible candidate.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "shared/suggest.h"

using upmesh::ClosestName;
using upmesh::EditDistance;

TEST_CASE("edit distance counts insertions, deletions, substitutions and swaps", "[suggest]") {
  CHECK(EditDistance("", "") == 0);
  CHECK(EditDistance("port", "port") == 0);
  CHECK(EditDistance("prot", "port") == 1);  // neighbours swapped: one edit
  CHECK(EditDistance("nmae", "name") == 1);
  CHECK(EditDistance("ab", "ba") == 1);
  CHECK(EditDistance("prt", "port") == 1);
  CHECK(EditDistance("ports", "port") == 1);
  CHECK(EditDistance("", "abc") == 3);
  CHECK(EditDistance("kitten", "sitting") == 3);
}

TEST_CASE("the closest candidate is suggested only when it is a plausible typo", "[suggest]") {
  std::vector<std::string> keys = {"address", "port"};
  CHECK(ClosestName("prot", keys) == "port");
  CHECK(ClosestName("prto", keys).empty());  // two edits in four letters: not a plausible typo
  CHECK(ClosestName("adress", keys) == "address");
  CHECK(ClosestName("port", keys) == "port");
  CHECK(ClosestName("workers", {"proxy", "configService", "cluster", "frontend", "router", "worker"}) ==
        "worker");
  CHECK(ClosestName("zzzz", keys).empty());
  CHECK(ClosestName("help", {"port", "router", "help", "version"}) == "help");
  CHECK(ClosestName("x", {}).empty());
  // Long names allow at most 3 edits.
  CHECK(ClosestName("headerTimeoutMillis", {"headerTimeoutMs"}).empty());
  CHECK(ClosestName("headerTimoutMs", {"headerTimeoutMs", "bodyTimeoutMs"}) == "headerTimeoutMs");
}
