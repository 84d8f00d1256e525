// core/clock.h: the clocks the loop, the timers and the trace ids read.
#include "silly/core/clock.h"

#include <gtest/gtest.h>

namespace silly {
namespace {

// The cheap clock is the precise one as of a recent tick: never ahead of
// it (what the trace ids made from it rely on: seconds never run ahead).
TEST(ClockTest, TheCoarseClockIsNeverAheadOfThePreciseOne) {
  for (int i = 0; i < 1000; i++) {
    int64_t before = monotonic_us();
    int64_t coarse = monotonic_coarse_us();
    int64_t after = monotonic_us();
    EXPECT_LE(coarse, after);
    EXPECT_GE(coarse, before - 1000000) << "a tick is not a second";
  }
}

TEST(ClockTest, TheMonotonicClockNeverGoesBack) {
  int64_t last = monotonic_us();
  for (int i = 0; i < 100000; i++) {
    int64_t now = monotonic_us();
    ASSERT_GE(now, last);
    last = now;
  }
}

}  // namespace
}  // namespace silly
