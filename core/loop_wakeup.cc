#include "silly/core/loop_wakeup.h"

#include <fcntl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

#include <cstdint>

namespace silly {

LoopWakeup::LoopWakeup(EventLoop &loop, std::function<void()> on_wake) : loop_(loop), on_wake_(std::move(on_wake)) {
#ifdef __linux__
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  fds_[0] = fds_[1] = fd;
#else
  if (pipe(fds_) == 0) {
    for (int fd : fds_) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
  } else {
    fds_[0] = fds_[1] = -1;
  }
#endif
  if (fds_[0] >= 0) loop_.add_fd(fds_[0], this, nullptr);
}

LoopWakeup::~LoopWakeup() {
  if (fds_[0] < 0) return;
  loop_.remove_fd(fds_[0]);
  ::close(fds_[0]);
  if (fds_[1] != fds_[0]) ::close(fds_[1]);
}

void LoopWakeup::wake() {
  uint64_t one = 1;  // an eventfd takes 8 bytes; a pipe, any
  ssize_t r = ::write(fds_[1], &one, sizeof(one));
  (void)r;  // full (a pipe): a wake-up is pending anyway
}

void LoopWakeup::on_ready(int, void *, const PollEvent &) {
  uint64_t drained[16];
  while (::read(fds_[0], drained, sizeof(drained)) > 0) {
  }
  on_wake_();
}

}  // namespace silly
