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

TEST(SpinPolicy, ContentionSkipsPollsTwiceAsLongEachTime) {
  SpinPolicy p;
  for (int i = 0; i < 50; i++) p.record(20);
  ASSERT_GT(p.budget(), 0);
  // A yield lost the core for a slice: the next wait blocks at once.
  p.contended();
  EXPECT_EQ(p.budget(), 0);
  EXPECT_GT(p.budget(), 0);
  // Again before a clean streak: two waits, then four.
  p.contended();
  EXPECT_EQ(p.budget(), 0);
  EXPECT_EQ(p.budget(), 0);
  EXPECT_GT(p.budget(), 0);
  p.contended();
  for (int i = 0; i < 4; i++) EXPECT_EQ(p.budget(), 0) << i;
  EXPECT_GT(p.budget(), 0);
  for (int i = 0; i < 20; i++) p.contended();
  EXPECT_EQ(p.backoff(), SpinPolicy::kMaxSkip) << "capped";
}

TEST(SpinPolicy, OnlyAStreakOfQuickYieldsEndsTheBackoff) {
  SpinPolicy p;
  for (int i = 0; i < 50; i++) p.record(20);
  p.contended();
  p.contended();
  ASSERT_EQ(p.backoff(), 2);
  // A busy process on the core lets the scheduler pick this one again now
  // and then: a few quick yields between slow ones change nothing.
  for (int i = 0; i < SpinPolicy::kCleanStreak - 1; i++) p.uncontended();
  p.contended();
  EXPECT_EQ(p.backoff(), 4);
  for (int i = 0; i < SpinPolicy::kCleanStreak; i++) p.uncontended();
  EXPECT_EQ(p.backoff(), 0);
  EXPECT_GT(p.budget(), 0);
}

}  // namespace
}  // namespace silly
