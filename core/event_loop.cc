#include "core/event_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "core/clock.h"

namespace silly {

namespace {

constexpr uint8_t kTimerForUser = 0;
constexpr uint8_t kTimerForSockets = 1;
constexpr uint64_t kSignalToken = 0;  // socket ids start at 1

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

EventLoop::EventLoop(SocketOptions options) : sockets_(poller_, timers_, kTimerForSockets, options) {
  if (pipe(signal_pipe_) == 0) {
    for (int fd : signal_pipe_) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    poller_.add(signal_pipe_[0], kSignalToken);
    g_signal_write_fd = signal_pipe_[1];
  } else {
    signal_pipe_[0] = signal_pipe_[1] = -1;
  }
}

EventLoop::~EventLoop() {
  if (g_signal_write_fd == signal_pipe_[1]) g_signal_write_fd = -1;
  for (int fd : signal_pipe_) {
    if (fd >= 0) close(fd);
  }
}

TimerQueue::Id EventLoop::add_timer(int64_t delay_ms, uint64_t cookie) {
  if (delay_ms < 0) delay_ms = 0;
  uint64_t tagged = (static_cast<uint64_t>(kTimerForUser) << 56) | (cookie & ((uint64_t{1} << 56) - 1));
  return timers_.add(monotonic_us() + delay_ms * 1000, tagged);
}

bool EventLoop::watch_signal(int signo) {
  struct sigaction sa {};
  sa.sa_handler = on_os_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  return sigaction(signo, &sa, nullptr) == 0;
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

void EventLoop::drain_signals() {
  unsigned char buf[64];
  for (;;) {
    ssize_t n = read(signal_pipe_[0], buf, sizeof(buf));
    if (n <= 0) return;
    for (ssize_t i = 0; i < n && handler_ != nullptr; i++) handler_->on_signal(buf[i]);
  }
}

bool EventLoop::run_once(int max_wait_ms) {
  if (stopping_) return false;
  bool busy = sockets_.flush();
  // Until the next timer, at most max_wait_ms; not at all with work left.
  auto wait_ms = [&] {
    if (busy) return 0;
    int wait = timers_.wait_ms(monotonic_us());
    return max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms) ? max_wait_ms : wait;
  };
  int wait = wait_ms();
  int n = 0;
  if (wait != 0 && spin_us_ > 0) {
    int64_t until = monotonic_us() + spin_us_;
    do {
      n = poller_.wait(events_, kMaxEvents, 0);
    } while (n == 0 && monotonic_us() < until);
    if (n == 0) wait = wait_ms();  // the spin used part of it
  }
  if (n == 0) n = poller_.wait(events_, kMaxEvents, wait);
  for (int i = 0; i < n && !stopping_; i++) {
    if (events_[i].token == kSignalToken) {
      drain_signals();
    } else {
      sockets_.handle(events_[i]);
    }
  }
  int64_t now = monotonic_us();
  TimerQueue::Id id;
  uint64_t cookie;
  while (!stopping_ && timers_.pop_due(now, &id, &cookie)) {
    uint64_t payload = cookie & ((uint64_t{1} << 56) - 1);
    if ((cookie >> 56) == kTimerForSockets) {
      sockets_.on_timer(payload);
    } else if (handler_ != nullptr) {
      handler_->on_timer(id, payload);
    }
  }
  return !stopping_;
}

void EventLoop::run() {
  while (run_once()) {
  }
  // Whatever the script queued before it stopped gets one attempt to leave.
  sockets_.flush();
}

}  // namespace silly
