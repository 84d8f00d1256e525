// EventLoop's descriptor table: events fetched in one batch reach only the
// registration they were fetched for; urgent descriptors within a busy turn.
#include "silly/core/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <vector>

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

namespace silly {
namespace {

class CountingHook : public BeforeWait {
 public:
  std::function<void()> on_call;
  bool before_wait() override {
    if (on_call) on_call();
    return false;
  }
};

// 200 client-like descriptors turn readable together; serving the first
// makes a server-to-server descriptor readable. Urgent, it is served after
// at most kUrgentEvery of the others, and the before-wait hooks (the write
// flush) run right after it, within the same turn. Not urgent, it waits
// for the next turn, behind all 200.
void busy_turn(bool urgent, int *served_before, int *hooks_before, int *turn) {
  EventLoop loop;
  ASSERT_TRUE(loop.ok());
  std::vector<std::unique_ptr<Pair>> clients;
  Pair link;
  Recorder client, server;
  int normal = 0, turns = 0, hook_calls_at_end = -1;
  bool poked = false;
  for (int i = 0; i < 200; i++) {
    clients.push_back(std::make_unique<Pair>());
    ASSERT_EQ(loop.add_fd(clients.back()->fds[0], &client, nullptr), 0);
  }
  ASSERT_EQ(loop.add_fd(link.fds[0], &server, nullptr), 0);
  if (urgent) {
    ASSERT_EQ(loop.set_urgent(link.fds[0]), 0);
  }
  loop.run_once(0);  // the first edges: every descriptor writable
  client.calls = server.calls = 0;
  CountingHook hook;
  int hook_calls = 0;
  hook.on_call = [&] { hook_calls++; };
  loop.add_before_wait(&hook);
  client.on_event = [&](int) {
    normal++;
    if (!poked) {
      poked = true;
      ASSERT_EQ(write(link.fds[1], "x", 1), 1);
    }
  };
  server.on_event = [&](int) {
    if (*served_before < 0) {
      *served_before = normal;
      *turn = turns;
      hook_calls_at_end = hook_calls;
    }
  };
  for (auto &c : clients) ASSERT_EQ(write(c->fds[1], "x", 1), 1);
  for (turns = 0; turns < 3 && *served_before < 0; turns++) loop.run_once(0);
  loop.remove_before_wait(&hook);
  // Hooks run once at the start of each turn; one more within it means the
  // turn flushed after serving the urgent event.
  *hooks_before = hook_calls - hook_calls_at_end;
  ASSERT_EQ(normal, 200);
}

TEST(EventLoopTest, AnUrgentDescriptorIsServedWithinABusyTurn) {
  int served_before = -1, hooks_after = 0, turn = -1;
  busy_turn(true, &served_before, &hooks_after, &turn);
  EXPECT_EQ(turn, 0) << "in the same turn as the batch";
  EXPECT_LE(served_before, EventLoop::kUrgentEvery);
  EXPECT_GE(hooks_after, 1) << "what it wrote is flushed before the rest of the batch";
}

TEST(EventLoopTest, WithoutUrgencyADescriptorWaitsBehindTheBatch) {
  int served_before = -1, hooks_after = 0, turn = -1;
  busy_turn(false, &served_before, &hooks_after, &turn);
  EXPECT_EQ(turn, 1);
  EXPECT_EQ(served_before, 200);
}

TEST(EventLoopTest, SetUrgentNeedsARegisteredDescriptor) {
  EventLoop loop;
  Pair p;
  EXPECT_EQ(loop.set_urgent(p.fds[0]), -EBADF);
  EXPECT_EQ(loop.set_urgent(-1), -EBADF);
  Recorder r;
  ASSERT_EQ(loop.add_fd(p.fds[0], &r, nullptr), 0);
  EXPECT_EQ(loop.set_urgent(p.fds[0]), 0);
  EXPECT_EQ(loop.set_urgent(p.fds[0]), 0) << "twice is once";
  loop.remove_fd(p.fds[0]);
  EXPECT_EQ(loop.set_urgent(p.fds[0]), -EBADF);
}

}  // namespace
}  // namespace silly
