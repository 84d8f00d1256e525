#include "silly/core/event_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <csignal>

#include "silly/core/clock.h"

namespace silly {

namespace {

// Signal handlers can only reach globals; the loop owning the pipe is the
// last one created, which is the one thread that runs Lua.
int g_signal_write_fd = -1;

void on_os_signal(int signo) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(signo);
  if (g_signal_write_fd >= 0) {
    ssize_t r = write(g_signal_write_fd, &b, 1);
    (void)r;  // a full pipe already holds a wake-up
  }
  errno = saved;
}

}  // namespace

EventLoop::EventLoop() {
  if (pipe(signal_pipe_) != 0) {
    signal_pipe_[0] = signal_pipe_[1] = -1;
    return;
  }
  for (int fd : signal_pipe_) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  add_fd(signal_pipe_[0], this, nullptr);
  g_signal_write_fd = signal_pipe_[1];
}

EventLoop::~EventLoop() {
  if (g_signal_write_fd == signal_pipe_[1]) g_signal_write_fd = -1;
  for (int fd : signal_pipe_) {
    if (fd >= 0) close(fd);
  }
}

int EventLoop::add_fd(int fd, FdHandler *handler, void *data) {
  if (fd < 0) return -EBADF;
  assert(handler != nullptr);
  if (static_cast<size_t>(fd) >= fds_.size()) fds_.resize(static_cast<size_t>(fd) + 1);
  // The token carries the registration's generation next to the number, so
  // an event fetched for a descriptor that was closed and whose number was
  // taken again within the same batch does not reach the new one.
  uint32_t generation = ++generation_;
  if (!poller_.add(fd, token_of(fd, generation))) return -errno;
  fds_[static_cast<size_t>(fd)] = FdEntry{handler, data, generation, false};
  return 0;
}

int EventLoop::set_urgent(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size() || fds_[fd].handler == nullptr) return -EBADF;
  FdEntry &e = fds_[static_cast<size_t>(fd)];
  if (e.urgent) return 0;
  if (urgent_ == nullptr) {
    auto made = std::make_unique<Poller>();
    if (!made->ok()) return -errno;
    urgent_ = std::move(made);
  }
  if (!urgent_->add(fd, token_of(fd, e.generation))) return -errno;
  e.urgent = true;
  return 0;
}

void EventLoop::remove_fd(int fd) {
  if (fd < 0 || static_cast<size_t>(fd) >= fds_.size()) return;
  poller_.remove(fd);
  if (fds_[static_cast<size_t>(fd)].urgent) urgent_->remove(fd);
  fds_[static_cast<size_t>(fd)] = FdEntry{};
}

void EventLoop::trim() {
  size_t n = fds_.size();
  while (n > 0 && fds_[n - 1].handler == nullptr) n--;
  fds_.resize(n);
  fds_.shrink_to_fit();
}

TimerId EventLoop::add_timer(int64_t delay_ms, TimerOwner *owner, uint64_t arg) {
  if (delay_ms < 0) delay_ms = 0;
  assert(owner != nullptr);
  return timers_.add(monotonic_us() + delay_ms * 1000, owner, arg);
}

void EventLoop::remove_before_wait(BeforeWait *hook) {
  before_wait_.erase(std::remove(before_wait_.begin(), before_wait_.end(), hook), before_wait_.end());
}

int EventLoop::watch_signal(int signo) {
  struct sigaction sa {};
  sa.sa_handler = on_os_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(signo, &sa, nullptr) == 0 ? 0 : -errno;
}

void EventLoop::notify(unsigned char code) {
  if (signal_pipe_[1] >= 0) {
    ssize_t r = write(signal_pipe_[1], &code, 1);
    (void)r;
  }
}

void EventLoop::ignore_signal(int signo) {
  std::signal(signo, SIG_IGN);
}

// The signal pipe is the loop's own descriptor.
void EventLoop::on_ready(int fd, void *, const PollEvent &) {
  unsigned char buf[64];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) return;
    for (ssize_t i = 0; i < n && signal_owner_ != nullptr; i++) signal_owner_->on_signal(buf[i]);
  }
}

bool EventLoop::run_before_wait() {
  bool busy = false;
  for (BeforeWait *hook : before_wait_) busy = hook->before_wait() || busy;
  return busy;
}

void EventLoop::dispatch(const PollEvent *events, int n) {
  for (int i = 0; i < n && !stopping_; i++) {
    auto fd = static_cast<size_t>(events[i].token & 0xffffffffu);
    auto generation = static_cast<uint32_t>(events[i].token >> 32);
    // Looked up per event: an earlier handler may have removed this one, or
    // removed it and registered another under the same number.
    if (fd >= fds_.size() || fds_[fd].handler == nullptr || fds_[fd].generation != generation) continue;
    FdEntry e = fds_[fd];
    e.handler->on_ready(static_cast<int>(fd), e.data, events[i]);
  }
}

// Within a long batch: the urgent descriptors' events first, and what
// their handlers wrote out at once (see set_urgent).
void EventLoop::serve_urgent() {
  int n = urgent_->wait(urgent_events_, kUrgentEvery, 0);
  if (n == 0) return;
  dispatch(urgent_events_, n);
  run_before_wait();
}

bool EventLoop::run_once(int max_wait_ms) {
  if (stopping_) return false;
  stats_.iterations++;
  bool busy = run_before_wait();
  // Until the next timer, at most max_wait_ms; not at all with work left.
  auto wait_ms = [&] {
    if (busy) return 0;
    int wait = timers_.wait_ms(monotonic_us());
    return max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms) ? max_wait_ms : wait;
  };
  int wait = wait_ms();
  int n = 0;
  if (wait == 0) {
    n = poller_.wait(events_, kMaxEvents, 0);
  } else {
    int64_t start = monotonic_us();
    int64_t budget = spin_.budget();
    int64_t gave_up = -1;  // when a fruitless poll gave up
    if (budget > 0) {
      int64_t until = start + budget, now = start;
      do {
        n = poller_.wait(events_, kMaxEvents, 0);
      } while (n == 0 && (now = monotonic_us()) < until);
      if (n > 0) {
        spin_.found();
      } else {
        gave_up = now;
        wait = wait_ms();  // the poll used part of it
      }
    }
    if (n == 0) n = poller_.wait(events_, kMaxEvents, wait);
    int64_t end = monotonic_us();
    // The event came right after the poll gave up: the poll kept its sender
    // (on this core) from running. See core/spin_policy.h.
    if (gave_up >= 0 && n > 0 && end - gave_up <= SpinPolicy::kStarvedUs) spin_.starved();
    spin_.record(end - start);
  }
  if (urgent_ == nullptr || n <= kUrgentEvery) {
    dispatch(events_, n);
  } else {
    for (int i = 0; i < n && !stopping_; i += kUrgentEvery) {
      serve_urgent();
      dispatch(events_ + i, std::min(kUrgentEvery, n - i));
    }
  }
  int64_t now = monotonic_us();
  TimerQueue::Fired t;
  while (!stopping_ && timers_.pop_due(now, &t)) {
    int64_t lag = now - t.deadline_us;
    stats_.timers_fired++;
    stats_.lag_total_us += lag;
    if (lag > stats_.lag_max_us) stats_.lag_max_us = lag;
    t.owner->on_timer(t.id, t.arg);
  }
  return !stopping_;
}

bool EventLoop::step(int max_wait_ms) {
  if (!run_once(max_wait_ms)) return false;
  work_left_ = run_before_wait();
  return !stopping_;
}

int EventLoop::next_timeout() const {
  if (work_left_ || stopping_) return 0;
  return timers_.wait_ms(monotonic_us());
}

void EventLoop::run() {
  while (run_once()) {
  }
  // Whatever the script queued before it stopped gets one attempt to leave.
  run_before_wait();
}

}  // namespace silly
