// BSD and macOS backend of poller.h.
#if defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__) || defined(SILLY_FORCE_KQUEUE)

#include <sys/event.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

#include "silly/core/poller.h"

namespace silly {

Poller::Poller() {
  handle_ = kqueue();
}

Poller::~Poller() {
  if (handle_ >= 0) close(handle_);
  std::free(scratch_);
}

bool Poller::add(int fd, uint64_t token) {
  struct kevent ch[2];
  // EV_CLEAR gives the same edge-triggered contract as EPOLLET.
  EV_SET(&ch[0], fd, EVFILT_READ, EV_ADD | EV_CLEAR, 0, 0, reinterpret_cast<void *>(static_cast<uintptr_t>(token)));
  EV_SET(&ch[1], fd, EVFILT_WRITE, EV_ADD | EV_CLEAR, 0, 0, reinterpret_cast<void *>(static_cast<uintptr_t>(token)));
  return kevent(handle_, ch, 2, nullptr, 0, nullptr) == 0;
}

void Poller::remove(int fd) {
  struct kevent ch[2];
  EV_SET(&ch[0], fd, EVFILT_READ, EV_DELETE, 0, 0, nullptr);
  EV_SET(&ch[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, nullptr);
  kevent(handle_, ch, 2, nullptr, 0, nullptr);
}

int Poller::wait(PollEvent *events, int max, int timeout_ms) {
  if (scratch_len_ < max) {
    void *grown = std::realloc(scratch_, sizeof(struct kevent) * max);
    if (grown == nullptr) return 0;
    scratch_ = grown;
    scratch_len_ = max;
  }
  auto *raw = static_cast<struct kevent *>(scratch_);
  struct timespec ts;
  struct timespec *tsp = nullptr;
  if (timeout_ms >= 0) {
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long>(timeout_ms % 1000) * 1000000L;
    tsp = &ts;
  }
  int n = kevent(handle_, nullptr, 0, raw, max, tsp);
  if (n < 0) return 0;
  // kqueue reports each filter separately; the caller copes with a
  // descriptor appearing twice in one batch.
  for (int i = 0; i < n; i++) {
    events[i].token = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(raw[i].udata));
    events[i].readable = raw[i].filter == EVFILT_READ;
    events[i].writable = raw[i].filter == EVFILT_WRITE;
    events[i].hangup = (raw[i].flags & (EV_EOF | EV_ERROR)) != 0;
  }
  return n;
}

const char *Poller::backend() {
  return "kqueue";
}

}  // namespace silly

#endif
