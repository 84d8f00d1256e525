// Watchdog: a run left open past the budget is reported once, from the
// watchdog's thread; runs that end in time, and time spent outside any
// run, never are. Bounds are loose (ten times and more): this is about
// what is reported, not how fast.
#include "silly/core/watchdog.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace silly {
namespace {

using std::chrono::milliseconds;

TEST(WatchdogTest, ReportsARunPastItsBudgetOnce) {
  std::atomic<int> calls{0};
  std::atomic<uint64_t> reported{0};
  Watchdog dog(40, [&](uint64_t run) {
    reported = run;
    calls++;
  });
  dog.enter();
  uint64_t run = dog.current_run();
  for (int i = 0; i < 400 && calls == 0; i++) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(reported, run);
  std::this_thread::sleep_for(milliseconds(200));  // still the same run
  EXPECT_EQ(calls, 1) << "once a run";
  dog.leave();
}

TEST(WatchdogTest, RunsThatEndInTimeAndIdleTimeAreNotReported) {
  std::atomic<int> calls{0};
  Watchdog dog(200, [&](uint64_t) { calls++; });
  for (int i = 0; i < 40; i++) {  // 400 ms of short runs
    dog.enter();
    std::this_thread::sleep_for(milliseconds(5));
    dog.leave();
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::this_thread::sleep_for(milliseconds(500));  // idle, past the budget
  EXPECT_EQ(calls, 0);
}

TEST(WatchdogTest, ANestedRunIsARunOfItsOwn) {
  std::atomic<int> calls{0};
  Watchdog dog(40, [&](uint64_t) { calls++; });
  dog.enter();
  dog.enter();  // a task resumes a coroutine of its own
  uint64_t inner = dog.current_run();
  for (int i = 0; i < 400 && calls == 0; i++) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(calls, 1);
  dog.leave();
  EXPECT_NE(dog.current_run(), inner) << "leaving starts a new run for the outer task";
  for (int i = 0; i < 400 && calls == 1; i++) std::this_thread::sleep_for(milliseconds(10));
  EXPECT_EQ(calls, 2) << "the outer task, still running, has a budget of its own";
  dog.leave();
}

TEST(WatchdogTest, StopsPromptly) {
  auto t0 = std::chrono::steady_clock::now();
  {
    Watchdog dog(60000, [](uint64_t) {});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << "joined without waiting a period";
}

}  // namespace
}  // namespace silly
