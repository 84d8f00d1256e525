// Readiness notification behind one small interface.
//
// Every descriptor is registered once for both directions in edge-triggered
// mode (epoll's EPOLLET, kqueue's EV_CLEAR). Callers drain a descriptor until
// EAGAIN when told it is ready and never re-arm it, so the hot path makes no
// system call besides the wait itself. The backend is picked at build time:
// poller_epoll.cc on Linux, poller_kqueue.cc on BSD and macOS.
#pragma once

#include <cstddef>
#include <cstdint>

namespace silly {

struct PollEvent {
  uint64_t token;  // what the caller gave to add()
  bool readable;
  bool writable;
  bool hangup;  // peer shut down its side, hung up, or an error is pending
};

class Poller {
 public:
  Poller();
  ~Poller();
  Poller(const Poller &) = delete;
  Poller &operator=(const Poller &) = delete;

  // False (with errno set) when the kernel refuses; the poller stays usable.
  bool add(int fd, uint64_t token);
  void remove(int fd);
  // Waits at most timeout_ms (-1: forever) and fills up to max events.
  // Returns how many were filled; 0 on timeout or EINTR.
  int wait(PollEvent *events, int max, int timeout_ms);

  bool ok() const { return handle_ >= 0; }
  // The epoll or kqueue descriptor: readable while events wait, so a host
  // can put it in its own poll.
  int handle() const { return handle_; }
  // "epoll" or "kqueue": the backend built in.
  static const char *backend();

 private:
  int handle_ = -1;
  // Scratch space for the kernel's own event structs, sized on demand.
  void *scratch_ = nullptr;
  int scratch_len_ = 0;
};

}  // namespace silly
