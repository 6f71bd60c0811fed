// Raising the open-files limit: the soft limit ends at the hard one.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <cstdint>

#include "shared/open_files.h"

TEST_CASE("RaiseOpenFilesLimit raises the soft limit to the hard one and returns it") {
  rlimit before;
  REQUIRE(getrlimit(RLIMIT_NOFILE, &before) == 0);
  if (before.rlim_max != RLIM_INFINITY && before.rlim_cur > 64) {
    rlimit lowered = before;
    lowered.rlim_cur = 64;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  uint64_t returned = upmesh::RaiseOpenFilesLimit();
  rlimit after;
  REQUIRE(getrlimit(RLIMIT_NOFILE, &after) == 0);
  CHECK(after.rlim_cur == before.rlim_max);
  CHECK(returned == (after.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<uint64_t>(after.rlim_cur)));
  REQUIRE(setrlimit(RLIMIT_NOFILE, &before) == 0);
}
