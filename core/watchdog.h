// A thread that watches the loop thread's tasks: the loop thread marks each
// task's start and end (enter/leave, two relaxed stores), and the watchdog,
// waking every budget/4 (10 ms to 1 s), calls on_overdue from its own thread
// when one task has run past the budget without leaving. Once per task run.
// Knows nothing of Lua; the Lua side interrupts the task (lsilly_budget.cc).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace silly {

class Watchdog {
 public:
  // on_overdue(run) runs on the watchdog's thread; `run` is the value
  // current_run() had during the overdue task.
  Watchdog(int64_t budget_ms, std::function<void(uint64_t run)> on_overdue);
  ~Watchdog();  // stops and joins the thread
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

  // Loop thread. Nested runs (a task resuming a coroutine) count as new
  // runs each way: the budget is of uninterrupted work by one coroutine.
  void enter() {
    run_.store(run_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    depth_.store(depth_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  void leave() {
    run_.store(run_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    depth_.store(depth_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }
  uint64_t current_run() const { return run_.load(std::memory_order_relaxed); }
  int64_t budget_ms() const { return budget_ms_; }

 private:
  void watch();

  const int64_t budget_ms_;
  std::function<void(uint64_t)> on_overdue_;
  std::atomic<uint64_t> run_{0};
  std::atomic<int> depth_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace silly
