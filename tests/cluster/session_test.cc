#include "silly/cluster/session.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace silly {
namespace cluster {
namespace {

// A scheduler with a hand-driven clock.
class FakeScheduler : public DeadlineScheduler {
 public:
  uint64_t schedule(int timeout_ms, uint32_t session) override {
    uint64_t h = ++next_;
    timers_[h] = {now_ + timeout_ms, session};
    return h;
  }
  void cancel(uint64_t handle) override { timers_.erase(handle); }
  // Advances the clock and expires what is due.
  std::vector<uint32_t> advance(int ms, SessionTable &table) {
    now_ += ms;
    std::vector<uint32_t> expired;
    for (auto it = timers_.begin(); it != timers_.end();) {
      if (it->second.first <= now_) {
        if (table.expire(it->second.second)) expired.push_back(it->second.second);
        it = timers_.erase(it);
      } else {
        ++it;
      }
    }
    return expired;
  }
  size_t live() const { return timers_.size(); }

 private:
  int64_t now_ = 0;
  uint64_t next_ = 0;
  std::map<uint64_t, std::pair<int64_t, uint32_t>> timers_;
};

TEST(SessionTable, NumbersCountUpFromZero) {
  FakeScheduler sched;
  SessionTable t(sched);
  EXPECT_EQ(t.open(1, 100), 0u);
  EXPECT_EQ(t.open(1, 100), 1u);
  EXPECT_EQ(t.next_unregistered(), 2u);
  EXPECT_EQ(t.open(1, 100), 3u);
  EXPECT_EQ(t.pending_count(), 3u);
}

TEST(SessionTable, WrapsBelowBit31AndSkipsPending) {
  FakeScheduler sched;
  SessionTable t(sched);
  EXPECT_EQ(t.open(1, 100), 0u);  // stays pending across the wrap
  EXPECT_EQ(t.open(1, 100), 1u);
  t.set_next(0x7ffffffe);
  EXPECT_EQ(t.open(1, 100), 0x7ffffffeu);
  EXPECT_EQ(t.open(1, 100), 0x7fffffffu);
  // 0 and 1 are still pending: the counter skips them.
  EXPECT_EQ(t.open(1, 100), 2u);
}

TEST(SessionTable, FinishCancelsTheDeadlineAndDropsLateResponses) {
  FakeScheduler sched;
  SessionTable t(sched);
  uint32_t s = t.open(7, 100);
  EXPECT_EQ(sched.live(), 1u);
  EXPECT_TRUE(t.finish(s));
  EXPECT_EQ(sched.live(), 0u);
  EXPECT_FALSE(t.finish(s));  // a duplicate or late response
  EXPECT_FALSE(t.finish(12345));
  EXPECT_EQ(t.dropped_responses(), 2u);
  EXPECT_EQ(t.pending_count(), 0u);
}

TEST(SessionTable, DeadlinesExpireOnlyWhatIsDue) {
  FakeScheduler sched;
  SessionTable t(sched);
  uint32_t a = t.open(1, 50);
  uint32_t b = t.open(1, 100);
  auto expired = sched.advance(60, t);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], a);
  EXPECT_FALSE(t.pending(a));
  EXPECT_TRUE(t.pending(b));
  EXPECT_FALSE(t.finish(a));  // the response after the timeout is dropped
  EXPECT_EQ(t.pending_on(1), 1u);
}

TEST(SessionTable, FailLinkReturnsEveryPendingCallOfThatLinkOnly) {
  FakeScheduler sched;
  SessionTable t(sched);
  std::set<uint32_t> on_a, on_b;
  for (int i = 0; i < 1000; i++) {
    on_a.insert(t.open(10, 5000));
    on_b.insert(t.open(20, 5000));
  }
  // Finish some in the middle of a's list, and its head and tail.
  std::vector<uint32_t> a(on_a.begin(), on_a.end());
  for (size_t i = 0; i < a.size(); i += 7) {
    ASSERT_TRUE(t.finish(a[i]));
    on_a.erase(a[i]);
  }
  ASSERT_TRUE(t.finish(a.back()));
  on_a.erase(a.back());
  EXPECT_EQ(t.pending_on(10), on_a.size());
  auto failed = t.fail_link(10);
  EXPECT_EQ(std::set<uint32_t>(failed.begin(), failed.end()), on_a);
  EXPECT_EQ(t.pending_on(10), 0u);
  EXPECT_EQ(t.pending_on(20), 1000u);
  EXPECT_EQ(t.pending_count(), 1000u);
  EXPECT_EQ(sched.live(), 1000u);  // a's deadlines were cancelled
  EXPECT_TRUE(t.fail_link(10).empty());
  EXPECT_EQ(t.fail_link(20).size(), 1000u);
  EXPECT_EQ(t.pending_count(), 0u);
  EXPECT_EQ(sched.live(), 0u);
}

}  // namespace
}  // namespace cluster
}  // namespace silly
