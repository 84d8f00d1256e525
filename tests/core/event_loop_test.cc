// EventLoop's descriptor table: events fetched in one batch reach only the
// registration they were fetched for.
#include "silly/core/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>

namespace silly {
namespace {

struct Pair {
  int fds[2] = {-1, -1};
  Pair() {
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    for (int fd : fds) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  ~Pair() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
};

class Recorder : public FdHandler {
 public:
  std::function<void(int)> on_event;
  int calls = 0;
  void on_ready(int fd, void *, const PollEvent &) override {
    calls++;
    if (on_event) on_event(fd);
  }
};

// Two descriptors ready in the same wait; the handler of whichever comes
// first closes the other and registers a new descriptor under the same
// number. The event already fetched for the closed one must not reach the
// new registration, which has seen nothing happen yet.
TEST(EventLoopTest, AnEventForAClosedDescriptorSkipsItsReusedNumber) {
  EventLoop loop;
  ASSERT_TRUE(loop.ok());
  Pair a, b, fresh;
  Recorder first, newcomer;
  ASSERT_EQ(loop.add_fd(a.fds[0], &first, nullptr), 0);
  ASSERT_EQ(loop.add_fd(b.fds[0], &first, nullptr), 0);
  int reused = -1;
  first.on_event = [&](int fd) {
    if (reused >= 0) return;
    reused = fd == a.fds[0] ? b.fds[0] : a.fds[0];
    loop.remove_fd(reused);
    // The number comes back at once, as it would from accept().
    ASSERT_EQ(dup2(fresh.fds[0], reused), reused);
    ASSERT_EQ(loop.add_fd(reused, &newcomer, nullptr), 0);
  };
  ASSERT_EQ(write(a.fds[1], "x", 1), 1);
  ASSERT_EQ(write(b.fds[1], "x", 1), 1);
  for (int i = 0; i < 100 && first.calls == 0; i++) loop.run_once(100);
  ASSERT_GE(reused, 0);
  EXPECT_EQ(first.calls, 1);
  EXPECT_EQ(newcomer.calls, 0);
  // The new registration does get its own events.
  ASSERT_EQ(write(fresh.fds[1], "y", 1), 1);
  for (int i = 0; i < 100 && newcomer.calls == 0; i++) loop.run_once(100);
  EXPECT_GE(newcomer.calls, 1);
  loop.remove_fd(reused);
  close(reused);
}

}  // namespace
}  // namespace silly
