// A descriptor the loop watches so that other threads can wake it: wake()
// from any thread (one write, async-signal-safe); `on_wake` runs on the
// loop thread. Wake-ups merge, as uv_async_send's do: however many come
// before the loop reads, the handler runs once. Callers that post work keep
// their own queue and decide when a write is needed.
#pragma once

#include <functional>

#include "silly/core/event_loop.h"

namespace silly {

class LoopWakeup final : private FdHandler {
 public:
  LoopWakeup(EventLoop &loop, std::function<void()> on_wake);
  ~LoopWakeup();
  LoopWakeup(const LoopWakeup &) = delete;
  LoopWakeup &operator=(const LoopWakeup &) = delete;

  bool ok() const { return fds_[0] >= 0; }
  void wake();

 private:
  void on_ready(int fd, void *data, const PollEvent &ev) override;

  EventLoop &loop_;
  std::function<void()> on_wake_;
  int fds_[2] = {-1, -1};  // an eventfd twice, or a pipe's two ends
};

}  // namespace silly
