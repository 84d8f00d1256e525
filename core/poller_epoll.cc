// Linux backend of poller.h.
#if defined(__linux__) && !defined(SILLY_FORCE_KQUEUE)

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "silly/core/poller.h"

namespace silly {

Poller::Poller() {
  handle_ = epoll_create1(EPOLL_CLOEXEC);
}

Poller::~Poller() {
  if (handle_ >= 0) close(handle_);
  std::free(scratch_);
}

bool Poller::add(int fd, uint64_t token) {
  struct epoll_event ev {};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = token;
  return epoll_ctl(handle_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Poller::remove(int fd) {
  // Closing the descriptor would drop it too, but a dup()ed one would not.
  epoll_ctl(handle_, EPOLL_CTL_DEL, fd, nullptr);
}

int Poller::wait(PollEvent *events, int max, int timeout_ms) {
  if (scratch_len_ < max) {
    void *grown = std::realloc(scratch_, sizeof(struct epoll_event) * max);
    if (grown == nullptr) return 0;
    scratch_ = grown;
    scratch_len_ = max;
  }
  auto *raw = static_cast<struct epoll_event *>(scratch_);
  int n = epoll_wait(handle_, raw, max, timeout_ms);
  if (n < 0) return 0;  // EINTR: the caller's loop simply turns again
  for (int i = 0; i < n; i++) {
    uint32_t e = raw[i].events;
    events[i].token = raw[i].data.u64;
    events[i].readable = (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    events[i].writable = (e & EPOLLOUT) != 0;
    events[i].hangup = (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  }
  return n;
}

const char *Poller::backend() {
  return "epoll";
}

}  // namespace silly

#endif
