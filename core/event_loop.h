// One thread's loop: wait for readiness or the next timer, call the handler
// registered with each ready descriptor and each due timer, and run the
// before-wait hooks (write batching) before every wait.
//
// Shaped after Redis's ae: a descriptor is registered with its handler and
// that handler's data, a timer with its owner and an argument. The loop
// knows nothing of what the descriptors are.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "silly/core/poller.h"
#include "silly/core/spin_policy.h"
#include "silly/core/timer.h"

namespace silly {

// Receives readiness of the descriptors it registered.
class FdHandler {
 public:
  virtual void on_ready(int fd, void *data, const PollEvent &ev) = 0;

 protected:
  ~FdHandler() = default;
};

// Runs before each wait. Returns true when work is left that must not wait
// for the next event (reads cut short for fairness).
class BeforeWait {
 public:
  virtual bool before_wait() = 0;

 protected:
  ~BeforeWait() = default;
};

class SignalOwner {
 public:
  // signo 0 is EventLoop::notify(0) from another thread: a request to stop.
  virtual void on_signal(int signo) = 0;

 protected:
  ~SignalOwner() = default;
};

class EventLoop : private FdHandler {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop &) = delete;
  EventLoop &operator=(const EventLoop &) = delete;

  bool ok() const { return poller_.ok() && signal_pipe_[0] >= 0; }

  // 0 or a negative errno. Events for fd go to handler->on_ready(fd, data)
  // until remove_fd(fd); an event already fetched for a removed descriptor
  // is dropped, also when its number was registered again since, so the
  // handler may free `data` right after remove_fd.
  int add_fd(int fd, FdHandler *handler, void *data);
  void remove_fd(int fd);
  // Puts a registered descriptor in the urgent class: while a turn works
  // through a long batch of events, the loop looks for events of urgent
  // descriptors every kUrgentEvery events, serves them before the rest of
  // the batch and runs the before-wait hooks right after, so what they
  // wrote leaves at once. Without it a descriptor's event waits for every
  // one that became ready before it (the kernel's ready list is first in,
  // first out): a server's call to another node would wait behind each of
  // its busy clients. 0 or a negative errno.
  int set_urgent(int fd);
  static constexpr int kUrgentEvery = 64;
  // Gives back the descriptor table's room above the highest registered
  // descriptor (after a wave of closed connections).
  void trim();
  size_t fd_slots() const { return fds_.size(); }

  // Calls owner->on_timer(id, arg) after delay_ms.
  TimerId add_timer(int64_t delay_ms, TimerOwner *owner, uint64_t arg);
  bool cancel_timer(TimerId id) { return timers_.cancel(id); }
  size_t timer_count() const { return timers_.size(); }

  // What the loop has done, for metrics.
  struct Stats {
    uint64_t iterations = 0;  // turns of run_once
    uint64_t timers_fired = 0;
    int64_t lag_total_us = 0;  // how late timers fired, summed
    int64_t lag_max_us = 0;    // the latest since take_lag_max()
  };
  const Stats &stats() const { return stats_; }
  // The largest lag since the last call, which starts a new period.
  int64_t take_lag_max() {
    int64_t m = stats_.lag_max_us;
    stats_.lag_max_us = 0;
    return m;
  }

  // Hooks run in the order added; each must be removed before it is gone.
  void add_before_wait(BeforeWait *hook) { before_wait_.push_back(hook); }
  void remove_before_wait(BeforeWait *hook);

  // Signals and notify() reach the owner on the loop thread.
  void set_signal_owner(SignalOwner *owner) { signal_owner_ = owner; }
  // Routes signo to the signal owner; 0 or a negative errno.
  int watch_signal(int signo);
  // Delivers `code` to the signal owner as if it were a signal; safe from
  // any thread and from signal handlers (0 is never a real signal).
  void notify(unsigned char code);
  void ignore_signal(int signo);

  // One turn: before-wait hooks, wait (at most max_wait_ms, -1 for the next
  // timer), dispatch, timers. Returns false once stop() was called.
  bool run_once(int max_wait_ms = -1);
  void run();
  // For a host that drives the loop: one turn, then the before-wait hooks
  // again, so that nothing written in the turn waits for the next one.
  // False once stop() was called.
  bool step(int max_wait_ms);
  // The poller's descriptor, and how long the host may sleep before the
  // next step: ms to the next timer, -1 with none, 0 when work is left.
  int backend_fd() const { return poller_.handle(); }
  int next_timeout() const;
  void stop() { stopping_ = true; }
  bool stopping() const { return stopping_; }
  // Before blocking, poll for as long as the spin policy says (learned
  // from recent waits, core/spin_policy.h); set_spin(us) fixes it instead,
  // set_spin(0) blocks at once.
  void set_spin(int us) { spin_.set_fixed(us); }

 private:
  struct FdEntry {
    FdHandler *handler = nullptr;
    void *data = nullptr;
    uint32_t generation = 0;  // of the registration, also in its poller token
    bool urgent = false;      // also registered with urgent_
  };
  static uint64_t token_of(int fd, uint32_t generation) {
    return static_cast<uint64_t>(generation) << 32 | static_cast<uint32_t>(fd);
  }
  void dispatch(const PollEvent *events, int n);
  void serve_urgent();
  void on_ready(int fd, void *data, const PollEvent &ev) override;  // the signal pipe
  bool run_before_wait();

  Poller poller_;
  // The urgent descriptors once more (each is in poller_ too), made on
  // the first set_urgent. Polled only in long batches, so it may hold
  // events poller_ already delivered: handlers take a spurious readiness
  // as they take any (a read or write that finds nothing to do).
  std::unique_ptr<Poller> urgent_;
  TimerQueue timers_;
  std::vector<FdEntry> fds_;  // indexed by descriptor, as in Redis's ae
  uint32_t generation_ = 0;   // counts registrations
  std::vector<BeforeWait *> before_wait_;
  SignalOwner *signal_owner_ = nullptr;
  int signal_pipe_[2] = {-1, -1};
  bool stopping_ = false;
  SpinPolicy spin_;
  Stats stats_;
  bool work_left_ = false;  // the hooks said so after the last step
  static constexpr int kMaxEvents = 512;
  PollEvent events_[kMaxEvents];
  PollEvent urgent_events_[kUrgentEvery];
};

}  // namespace silly
