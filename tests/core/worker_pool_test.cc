#include "silly/core/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "silly/core/clock.h"

namespace silly {
namespace {

// Turns the loop until `done` or 10 s (ten times what any case needs on
// a loaded machine): a hang fails instead of blocking the run.
template <typename Pred>
bool run_until(EventLoop &loop, Pred done) {
  int64_t deadline = monotonic_us() + 10'000'000;
  while (!done()) {
    if (monotonic_us() > deadline) return false;
    loop.run_once(10);
  }
  return true;
}

// A latch the test opens to let blocked jobs finish.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return open; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(WorkerPool, WorkRunsOffTheLoopAndDoneOnIt) {
  EventLoop loop;
  WorkerPool pool(loop);
  std::thread::id loop_thread = std::this_thread::get_id();
  std::thread::id work_thread, done_thread;
  bool done = false;
  ASSERT_EQ(pool.submit([&] { work_thread = std::this_thread::get_id(); },
                        [&] {
                          done_thread = std::this_thread::get_id();
                          done = true;
                        }),
            0);
  ASSERT_TRUE(run_until(loop, [&] { return done; }));
  EXPECT_NE(work_thread, loop_thread);
  EXPECT_EQ(done_thread, loop_thread);
  EXPECT_EQ(pool.threads(), 1);
}

TEST(WorkerPool, ThreadsStartOnDemandUpToTheMaximum) {
  EventLoop loop;
  WorkerPool pool(loop);
  ASSERT_EQ(pool.set_limits(1, 3), 0);
  EXPECT_EQ(pool.threads(), 0) << "no thread before the first job";
  Gate gate;
  std::atomic<int> ran{0};
  int finished = 0;
  for (int i = 0; i < 8; i++) {
    ASSERT_EQ(pool.submit(
                  [&] {
                    gate.wait();
                    ran++;
                  },
                  [&] { finished++; }),
              0);
  }
  EXPECT_EQ(pool.threads(), 3);
  EXPECT_EQ(pool.queued() + static_cast<size_t>(pool.busy()), 8u);
  gate.release();
  ASSERT_TRUE(run_until(loop, [&] { return finished == 8; }));
  EXPECT_EQ(ran.load(), 8);
  EXPECT_EQ(pool.threads(), 3);
}

TEST(WorkerPool, SequentialJobsReuseOneThread) {
  EventLoop loop;
  WorkerPool pool(loop);
  std::set<std::thread::id> seen;
  for (int i = 0; i < 20; i++) {
    bool done = false;
    ASSERT_EQ(pool.submit([&] { seen.insert(std::this_thread::get_id()); }, [&] { done = true; }), 0);
    ASSERT_TRUE(run_until(loop, [&] { return done; }));
  }
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(pool.threads(), 1);
}

TEST(WorkerPool, PruneStopsIdleThreadsDownToTheMinimum) {
  EventLoop loop;
  WorkerPool pool(loop);
  ASSERT_EQ(pool.set_limits(2, 4), 0);
  Gate gate;
  int finished = 0;
  for (int i = 0; i < 4; i++) ASSERT_EQ(pool.submit([&] { gate.wait(); }, [&] { finished++; }), 0);
  EXPECT_EQ(pool.threads(), 4);
  EXPECT_EQ(pool.prune(0), 0) << "busy threads are never stopped";
  gate.release();
  ASSERT_TRUE(run_until(loop, [&] { return finished == 4; }));
  EXPECT_EQ(pool.prune(60'000), 0) << "not idle long enough";
  EXPECT_EQ(pool.threads(), 4);
  EXPECT_EQ(pool.prune(0), 2);
  EXPECT_EQ(pool.threads(), 2);
  EXPECT_EQ(pool.prune(0), 0) << "never below the minimum";
  // The pool still works after pruning.
  bool done = false;
  ASSERT_EQ(pool.submit([] {}, [&] { done = true; }), 0);
  ASSERT_TRUE(run_until(loop, [&] { return done; }));
}

TEST(WorkerPool, ALowerMaximumStopsIdleThreadsAtOnce) {
  EventLoop loop;
  WorkerPool pool(loop);
  ASSERT_EQ(pool.set_limits(0, 3), 0);
  Gate gate;
  int finished = 0;
  for (int i = 0; i < 3; i++) ASSERT_EQ(pool.submit([&] { gate.wait(); }, [&] { finished++; }), 0);
  gate.release();
  ASSERT_TRUE(run_until(loop, [&] { return finished == 3; }));
  ASSERT_EQ(pool.set_limits(0, 1), 0);
  EXPECT_EQ(pool.prune(60'000), 2) << "over the maximum: stopped however recently idle";
  EXPECT_EQ(pool.threads(), 1);
}

TEST(WorkerPool, LimitsAreChecked) {
  EventLoop loop;
  WorkerPool pool(loop);
  EXPECT_EQ(pool.set_limits(3, 2), -EINVAL);
  EXPECT_EQ(pool.set_limits(-1, 2), -EINVAL);
  EXPECT_EQ(pool.set_limits(0, 0), -EINVAL);
  EXPECT_EQ(pool.set_queue_limit(0), -EINVAL);
  EXPECT_EQ(pool.queue_limit(), WorkerPool::kDefaultQueueLimit);
  EXPECT_EQ(pool.set_queue_limit(3), 0);
  EXPECT_EQ(pool.queue_limit(), 3u);
  EXPECT_EQ(pool.min(), 0);
  EXPECT_EQ(pool.max(), WorkerPool::kDefaultMax);
}

TEST(WorkerPool, AFullQueueRefusesWithEagainAndLosesNothing) {
  EventLoop loop;
  WorkerPool pool(loop, 4);
  ASSERT_EQ(pool.set_limits(0, 1), 0);
  Gate gate;
  int finished = 0;
  ASSERT_EQ(pool.submit([&] { gate.wait(); }, [&] { finished++; }), 0);
  // The first job may still sit in the queue until the thread takes it:
  // fill up to the limit whatever the timing, then one more is refused.
  int accepted = 1;
  while (pool.submit([] {}, [&] { finished++; }) == 0) accepted++;
  EXPECT_EQ(pool.submit([] {}, nullptr), -EAGAIN);
  EXPECT_GE(accepted, 4);
  EXPECT_LE(accepted, 5);
  gate.release();
  ASSERT_TRUE(run_until(loop, [&] { return finished == accepted; }));
  EXPECT_EQ(pool.submit([] {}, [&] { finished++; }), 0) << "room again once the queue drained";
}

TEST(WorkerPool, ADoneMaySubmitAgain) {
  EventLoop loop;
  WorkerPool pool(loop);
  int rounds = 0;
  std::function<void()> again = [&] {
    if (++rounds < 50) {
      EXPECT_EQ(pool.submit([] {}, again), 0);
    }
  };
  ASSERT_EQ(pool.submit([] {}, again), 0);
  ASSERT_TRUE(run_until(loop, [&] { return rounds == 50; }));
}

TEST(WorkerPool, DestroyingWaitsForRunningJobsAndDropsQueuedOnes) {
  std::atomic<int> ran{0};
  bool done_ran = false;
  {
    EventLoop loop;
    WorkerPool pool(loop);
    ASSERT_EQ(pool.set_limits(0, 1), 0);
    ASSERT_EQ(pool.submit(
                  [&] {
                    std::this_thread::sleep_for(std::chrono::milliseconds(50));
                    ran++;
                  },
                  [&] { done_ran = true; }),
              0);
    for (int i = 0; i < 10; i++) ASSERT_EQ(pool.submit([&] { ran++; }, [&] { done_ran = true; }), 0);
    // Let the thread take the first job.
    int64_t deadline = monotonic_us() + 10'000'000;
    while (pool.busy() == 0 && monotonic_us() < deadline) std::this_thread::yield();
  }
  EXPECT_EQ(ran.load(), 1) << "the running job finished; the queued ones were dropped";
  EXPECT_FALSE(done_ran) << "no Done runs without a loop";
}

}  // namespace
}  // namespace silly
