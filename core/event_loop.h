// One thread's loop: wait for readiness or the next timer, hand each event
// to its owner, then flush every socket written to during the turn.
#pragma once

#include <cstdint>

#include "core/poller.h"
#include "core/socket.h"
#include "core/timer.h"

namespace silly {

class LoopHandler {
 public:
  virtual ~LoopHandler() = default;
  virtual void on_timer(TimerQueue::Id id, uint64_t cookie) = 0;
  virtual void on_signal(int signo) = 0;
};

class EventLoop {
 public:
  explicit EventLoop(SocketOptions options = {});
  ~EventLoop();
  EventLoop(const EventLoop &) = delete;
  EventLoop &operator=(const EventLoop &) = delete;

  bool ok() const { return poller_.ok() && signal_pipe_[0] >= 0; }
  void set_handler(LoopHandler *handler) { handler_ = handler; }
  SocketManager &sockets() { return sockets_; }

  // Fires after delay_ms through LoopHandler::on_timer. The cookie must fit
  // in 56 bits; the top byte is the loop's own.
  TimerQueue::Id add_timer(int64_t delay_ms, uint64_t cookie);
  bool cancel_timer(TimerQueue::Id id) { return timers_.cancel(id); }

  // Routes the signal to LoopHandler::on_signal on the loop thread.
  bool watch_signal(int signo);
  // Delivers `code` to LoopHandler::on_signal as if it were a signal; safe
  // from any thread and from signal handlers (0 is never a real signal).
  void notify(unsigned char code);
  void ignore_signal(int signo);

  // One turn: flush, wait (at most max_wait_ms, -1 for the next timer),
  // dispatch. Returns false once stop() was called.
  bool run_once(int max_wait_ms = -1);
  void run();
  void stop() { stopping_ = true; }
  // Before blocking, poll without waiting for up to `us` microseconds.
  // Waking a sleeping thread costs tens of microseconds on some machines
  // (virtual ones especially); a short spin keeps a busy node awake.
  void set_spin(int us) { spin_us_ = us; }
  bool stopping() const { return stopping_; }

 private:
  void drain_signals();

  Poller poller_;
  TimerQueue timers_;
  SocketManager sockets_;
  LoopHandler *handler_ = nullptr;
  int signal_pipe_[2] = {-1, -1};
  bool stopping_ = false;
  int spin_us_ = 0;
  static constexpr int kMaxEvents = 512;
  PollEvent events_[kMaxEvents];
};

}  // namespace silly
