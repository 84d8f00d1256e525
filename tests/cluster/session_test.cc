#include "silly/cluster/session.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
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

// A call that stays pending while the counter laps the table many times
// keeps its number and its slot; the numbers around it stay unique.
TEST(SessionTable, ASlowCallKeepsItsSlotWhileOthersComeAndGo) {
  FakeScheduler sched;
  SessionTable t(sched);
  uint32_t slow = t.open(1, 60000);
  for (int i = 0; i < 10000; i++) {
    uint32_t s = t.open(1, 100);
    ASSERT_NE(s, slow);
    ASSERT_TRUE(t.pending(slow));
    ASSERT_TRUE(t.finish(s));
  }
  EXPECT_TRUE(t.finish(slow));
  EXPECT_EQ(t.pending_count(), 0u);
}

// Against a plain map: random opens on three links, finishes, expiries and
// dropped links, through growth to thousands pending and back down.
TEST(SessionTable, BehavesAsAMapOfPendingCallsThroughGrowthAndShrinking) {
  FakeScheduler sched;
  SessionTable t(sched);
  std::map<uint32_t, int64_t> model;  // session -> link
  std::mt19937 rng(7);
  size_t expired_by_hand = 0;
  auto check = [&] {
    ASSERT_EQ(t.pending_count(), model.size());
    for (int64_t link = 1; link <= 3; link++) {
      size_t n = 0;
      for (auto &kv : model) n += kv.second == link;
      ASSERT_EQ(t.pending_on(link), n);
    }
  };
  for (int round = 0; round < 6; round++) {
    size_t target = round % 2 == 0 ? 5000 : 10;  // fill up, then drain
    while (model.size() != target) {
      if (model.size() < target && rng() % 4 != 0) {
        int64_t link = 1 + rng() % 3;
        uint32_t s = t.open(link, 100000);
        ASSERT_EQ(model.count(s), 0u) << "a pending number handed out twice";
        model[s] = link;
      } else if (!model.empty()) {
        auto it = model.begin();
        std::advance(it, rng() % model.size());
        ASSERT_TRUE(t.pending(it->first));
        if (rng() % 2) {
          ASSERT_TRUE(t.finish(it->first));
        } else {
          ASSERT_TRUE(t.expire(it->first));  // as its timer would: that timer stays
          expired_by_hand++;
        }
        ASSERT_FALSE(t.pending(it->first));
        model.erase(it);
      }
    }
    check();
    // Drop one link: exactly its calls come back.
    int64_t link = 1 + round % 3;
    std::set<uint32_t> expect;
    for (auto it = model.begin(); it != model.end();) {
      if (it->second == link) {
        expect.insert(it->first);
        it = model.erase(it);
      } else {
        ++it;
      }
    }
    auto failed = t.fail_link(link);
    EXPECT_EQ(std::set<uint32_t>(failed.begin(), failed.end()), expect);
    check();
  }
  for (auto &kv : model) EXPECT_TRUE(t.finish(kv.first));
  EXPECT_EQ(t.pending_count(), 0u);
  EXPECT_EQ(sched.live(), expired_by_hand) << "every other deadline cancelled";
}

}  // namespace
}  // namespace cluster
}  // namespace silly
