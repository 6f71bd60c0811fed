// QuietWarning: first warning after the first delay, then one per repeat
// interval while the wait lasts; the schedule restarts after the wait ends.
#include <catch2/catch.hpp>

#include "shared/quiet_warning.h"

using upmesh::QuietWarning;

TEST_CASE("a wait is warned about after the first delay, then at every repeat interval", "[quiet-warning]") {
  QuietWarning warning(5000, 30000);
  CHECK_FALSE(warning.Due(true, 1000));  // the wait starts at 1000
  CHECK_FALSE(warning.Due(true, 5999));
  CHECK(warning.Due(true, 6000));
  CHECK(warning.waited_ms(6000) == 5000);
  CHECK_FALSE(warning.Due(true, 6020));
  CHECK_FALSE(warning.Due(true, 35999));
  CHECK(warning.Due(true, 36000));
  CHECK_FALSE(warning.Due(true, 36001));
}

TEST_CASE("nothing is said without a wait, and a new wait starts the schedule again", "[quiet-warning]") {
  QuietWarning warning(5000, 30000);
  CHECK_FALSE(warning.Due(false, 0));
  CHECK_FALSE(warning.Due(false, 100000));
  CHECK(warning.waited_ms(100000) == 0);
  CHECK_FALSE(warning.Due(true, 200000));
  CHECK(warning.Due(true, 205000));
  CHECK_FALSE(warning.Due(false, 206000));  // the thing arrived
  CHECK_FALSE(warning.Due(true, 300000));   // missing again: a fresh first delay
  CHECK_FALSE(warning.Due(true, 304999));
  CHECK(warning.Due(true, 305000));
}
