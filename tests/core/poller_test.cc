#include "silly/core/poller.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace silly {
namespace {

class PollerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds_), 0);
    for (int fd : fds_) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ASSERT_TRUE(poller_.ok());
    ASSERT_TRUE(poller_.add(fds_[0], 42));
  }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  // Events for token 42 in one wait.
  std::vector<PollEvent> wait(int timeout_ms) {
    PollEvent ev[8];
    int n = poller_.wait(ev, 8, timeout_ms);
    return std::vector<PollEvent>(ev, ev + n);
  }
  bool readable(const std::vector<PollEvent> &evs) {
    for (auto &e : evs) {
      if (e.token == 42 && e.readable) return true;
    }
    return false;
  }
  bool writable(const std::vector<PollEvent> &evs) {
    for (auto &e : evs) {
      if (e.token == 42 && e.writable) return true;
    }
    return false;
  }

  Poller poller_;
  int fds_[2] = {-1, -1};
};

TEST_F(PollerTest, EdgeTriggeredReportsEachArrivalOnce) {
  wait(0);  // the initial writable edge
  ASSERT_EQ(write(fds_[1], "abc", 3), 3);
  ASSERT_TRUE(readable(wait(100)));
  // Not drained, but no new bytes: an edge-triggered poller stays quiet.
  char c;
  ASSERT_EQ(read(fds_[0], &c, 1), 1);
  EXPECT_FALSE(readable(wait(0)));
  // New bytes are a new edge.
  ASSERT_EQ(write(fds_[1], "d", 1), 1);
  EXPECT_TRUE(readable(wait(100)));
  // Drain to EAGAIN: everything is still there, in order.
  char buf[16];
  ssize_t n = read(fds_[0], buf, sizeof(buf));
  ASSERT_EQ(n, 3);
  EXPECT_EQ(std::string(buf, 3), "bcd");
  EXPECT_EQ(read(fds_[0], buf, sizeof(buf)), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(PollerTest, PeerCloseIsReported) {
  wait(0);
  close(fds_[1]);
  fds_[1] = -1;
  auto evs = wait(100);
  ASSERT_TRUE(readable(evs));
  char buf[4];
  EXPECT_EQ(read(fds_[0], buf, sizeof(buf)), 0);
}

TEST_F(PollerTest, WritableEdgeReturnsAfterTheBufferDrains) {
  wait(0);
  std::vector<char> chunk(65536, 'x');
  // Fill the kernel buffer until it refuses.
  while (write(fds_[0], chunk.data(), chunk.size()) > 0) {
  }
  ASSERT_EQ(errno, EAGAIN);
  EXPECT_FALSE(writable(wait(0)));
  // The peer reads everything: the writer gets its edge back.
  while (read(fds_[1], chunk.data(), chunk.size()) > 0) {
  }
  EXPECT_TRUE(writable(wait(100)));
}

TEST_F(PollerTest, RemovedDescriptorIsSilent) {
  wait(0);
  poller_.remove(fds_[0]);
  ASSERT_EQ(write(fds_[1], "x", 1), 1);
  EXPECT_TRUE(wait(0).empty());
}

}  // namespace
}  // namespace silly
