// Watchdog: samples the run counter; a counter that stayed put inside a
// task for the budget means the task has not yielded since.
#include "silly/core/watchdog.h"

#include <algorithm>
#include <chrono>

namespace silly {

Watchdog::Watchdog(int64_t budget_ms, std::function<void(uint64_t)> on_overdue)
    : budget_ms_(budget_ms), on_overdue_(std::move(on_overdue)) {
  thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watchdog::watch() {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(std::clamp<int64_t>(budget_ms_ / 4, 10, 1000));
  const auto budget = std::chrono::milliseconds(budget_ms_);
  uint64_t seen = current_run();
  auto since = Clock::now();
  uint64_t fired = 0;
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, period, [this] { return stopping_; })) {
    uint64_t run = current_run();
    auto now = Clock::now();
    if (run != seen) {
      seen = run;
      since = now;
      continue;
    }
    if (depth_.load(std::memory_order_relaxed) > 0 && now - since >= budget && fired != run) {
      fired = run;
      on_overdue_(run);
    }
  }
}

}  // namespace silly
