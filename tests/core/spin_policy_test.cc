#include "silly/core/spin_policy.h"

#include <gtest/gtest.h>

namespace silly {
namespace {

TEST(SpinPolicy, ColdAndIdleNodesNeverSpin) {
  SpinPolicy p;
  EXPECT_EQ(p.budget(), 0);
  for (int i = 0; i < 100; i++) p.record(10000);  // a slow trickle: 100 a second
  EXPECT_EQ(p.budget(), 0);
}

TEST(SpinPolicy, CloseEventsEarnABudgetUnderTheCap) {
  SpinPolicy p;
  int turns = 0;
  while (p.budget() == 0 && turns < 100) {
    p.record(60);  // a chain of calls: the next event 60 µs away
    turns++;
  }
  EXPECT_LE(turns, 20) << "a burst starts spinning within a few waits";
  for (int i = 0; i < 50; i++) p.record(30);
  EXPECT_GE(p.budget(), 30);
  EXPECT_LE(p.budget(), SpinPolicy::kCapUs);
  // The burst ends: one long wait and the node blocks again.
  p.record(1000000);
  EXPECT_EQ(p.budget(), 0);
}

TEST(SpinPolicy, AFixedBudgetOverrides) {
  SpinPolicy p;
  p.set_fixed(50);
  EXPECT_EQ(p.budget(), 50);
  p.set_fixed(0);
  for (int i = 0; i < 50; i++) p.record(10);
  EXPECT_EQ(p.budget(), 0) << "spin_us=0 blocks at once whatever the traffic";
  p.set_fixed(-1);
  EXPECT_GT(p.budget(), 0);
}

TEST(SpinPolicy, APollThatHoldsItsEventBacksOffTwiceAsLongEachTime) {
  SpinPolicy p;
  for (int i = 0; i < 50; i++) p.record(20);
  ASSERT_GT(p.budget(), 0);
  // Once may be chance: an answer that just missed the poll.
  p.starved();
  EXPECT_GT(p.budget(), 0);
  // Twice in a row: the sender shares this core. The next wait blocks.
  p.starved();
  EXPECT_EQ(p.budget(), 0);
  EXPECT_GT(p.budget(), 0);
  // Again before a streak of found events: two waits, then four.
  p.starved();
  EXPECT_EQ(p.budget(), 0);
  EXPECT_EQ(p.budget(), 0);
  EXPECT_GT(p.budget(), 0);
  p.starved();
  for (int i = 0; i < 4; i++) EXPECT_EQ(p.budget(), 0) << i;
  EXPECT_GT(p.budget(), 0);
  for (int i = 0; i < 20; i++) p.starved();
  EXPECT_EQ(p.backoff(), SpinPolicy::kMaxSkip) << "capped";
}

TEST(SpinPolicy, OnlyAStreakOfFoundEventsEndsTheBackoff) {
  SpinPolicy p;
  for (int i = 0; i < 50; i++) p.record(20);
  p.starved();
  p.starved();
  p.starved();
  ASSERT_EQ(p.backoff(), 2);
  // The sender on this core runs during a poll now and then (the
  // scheduler's tick): a few found events between held ones change nothing.
  for (int i = 0; i < SpinPolicy::kFoundStreak - 1; i++) p.found();
  p.starved();
  EXPECT_EQ(p.backoff(), 2) << "one strike after a found event";
  p.starved();
  EXPECT_EQ(p.backoff(), 4);
  for (int i = 0; i < 4; i++) p.budget();
  for (int i = 0; i < SpinPolicy::kFoundStreak; i++) p.found();
  EXPECT_EQ(p.backoff(), 0);
  EXPECT_GT(p.budget(), 0);
}

}  // namespace
}  // namespace silly
