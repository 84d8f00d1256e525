#include "core/socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>
#include <vector>

#include "core/event_loop.h"

namespace silly {
namespace {

// Records every socket event; echoes when asked to.
class Recorder : public SocketHandler {
 public:
  explicit Recorder(SocketManager &sm) : sm_(sm) {}
  void on_accept(SocketId, SocketId conn, const std::string &peer) override {
    accepted.push_back(conn);
    peers.push_back(peer);
  }
  void on_connect(SocketId id, int err) override { connected[id] = err; }
  void on_data(SocketId id, RingBuffer &in) override {
    std::string s(in.size(), '\0');
    in.peek(s.data(), s.size());
    in.consume(s.size());
    received[id] += s;
    if (echo) sm_.send(id, s.data(), s.size());
  }
  void on_close(SocketId id, int err) override { closed[id] = err; }
  void on_datagram(SocketId id, const uint8_t *d, size_t n, const SockAddr &) override {
    received[id].append(reinterpret_cast<const char *>(d), n);
  }

  SocketManager &sm_;
  bool echo = false;
  std::vector<SocketId> accepted;
  std::vector<std::string> peers;
  std::map<SocketId, int> connected;
  std::map<SocketId, std::string> received;
  std::map<SocketId, int> closed;
};

class SocketTest : public ::testing::Test {
 protected:
  SocketTest() : rec_(loop_.sockets()) { loop_.sockets().set_handler(&rec_); }

  template <class Pred>
  bool spin(Pred done, int max_ms = 3000) {
    for (int i = 0; i < max_ms && !done(); i++) loop_.run_once(1);
    return done();
  }
  EventLoop loop_;
  Recorder rec_;
};

// Finds a free port by binding port 0 with a plain socket.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<struct sockaddr *>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<struct sockaddr *>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

SockAddr loopback(int port) {
  SockAddr a;
  parse_address("127.0.0.1:" + std::to_string(port), false, &a);
  return a;
}

TEST_F(SocketTest, EchoesALargePayloadIntact) {
  SockAddr addr = loopback(free_port());
  int err = 0;
  SocketId lid = loop_.sockets().listen(addr, 16, &err);
  ASSERT_NE(lid, 0) << socket_strerror(err);
  rec_.echo = true;
  SocketId cid = loop_.sockets().connect(addr, nullptr, 1000, &err);
  ASSERT_NE(cid, 0);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }));
  ASSERT_EQ(rec_.connected[cid], 0);
  // 8 MiB: far more than the kernel buffers, so writes must wait for the
  // writable edge and resume.
  std::string payload(8 << 20, '\0');
  for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<char>(i * 131 + 7);
  rec_.echo = false;
  ASSERT_EQ(loop_.sockets().send(cid, payload.data(), payload.size()), 0);
  ASSERT_TRUE(spin([&] { return !rec_.accepted.empty(); }));
  SocketId sid = rec_.accepted[0];
  EXPECT_EQ(rec_.peers[0].rfind("127.0.0.1:", 0), 0u);
  ASSERT_TRUE(spin([&] { return rec_.received[sid].size() == payload.size(); }, 10000));
  EXPECT_TRUE(rec_.received[sid] == payload);
}

TEST_F(SocketTest, SmallWritesInOneTurnLeaveInOneSystemCall) {
  SockAddr addr = loopback(free_port());
  int err = 0;
  ASSERT_NE(loop_.sockets().listen(addr, 16, &err), 0);
  SocketId cid = loop_.sockets().connect(addr, nullptr, 1000, &err);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  uint64_t before = loop_.sockets().write_calls();
  for (int i = 0; i < 100; i++) ASSERT_EQ(loop_.sockets().send(cid, "0123456789abcdef", 16), 0);
  loop_.sockets().flush();
  EXPECT_EQ(loop_.sockets().write_calls() - before, 1u);
  SocketId sid = rec_.accepted[0];
  ASSERT_TRUE(spin([&] { return rec_.received[sid].size() == 1600; }));
}

// A kernel-level listener that never accepts: its connections complete in
// the backlog and nobody ever reads them.
int silent_listener(int port) {
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  int on = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (bind(lfd, reinterpret_cast<struct sockaddr *>(&a), sizeof(a)) != 0) return -1;
  return ::listen(lfd, 16) == 0 ? lfd : -1;
}

TEST_F(SocketTest, SendQueueLimitFailsInsteadOfGrowing) {
  int port = free_port();
  int lfd = silent_listener(port);
  ASSERT_GE(lfd, 0);
  int err = 0;
  SocketId cid = loop_.sockets().connect(loopback(port), nullptr, 1000, &err);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }));
  ASSERT_EQ(rec_.connected[cid], 0);
  // The kernel buffers fill first, then ours up to the limit.
  size_t limit = 1 << 20;
  ASSERT_TRUE(loop_.sockets().set_send_limit(cid, limit));
  std::string chunk(64 << 10, 'z');
  int rc = 0;
  size_t accepted = 0;
  for (int i = 0; i < 10000 && rc == 0; i++) {
    rc = loop_.sockets().send(cid, chunk.data(), chunk.size());
    if (rc == 0) accepted += chunk.size();
    loop_.run_once(0);
  }
  EXPECT_EQ(rc, kErrSendQueueFull);
  EXPECT_STREQ(socket_strerror(rc), "send queue full");
  EXPECT_LE(loop_.sockets().send_queue_size(cid), limit);
  EXPECT_LT(accepted, size_t{64} << 20);     // bounded by kernel buffers + limit
  EXPECT_EQ(loop_.sockets().alive(cid), 1);  // refused a write, not broken
  close(lfd);
}

TEST_F(SocketTest, PeerCloseReportsEndOfFileAndKeepsIdUntilClosed) {
  SockAddr addr = loopback(free_port());
  int err = 0;
  ASSERT_NE(loop_.sockets().listen(addr, 16, &err), 0);
  SocketId cid = loop_.sockets().connect(addr, nullptr, 1000, &err);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  SocketId sid = rec_.accepted[0];
  ASSERT_EQ(loop_.sockets().send(sid, "bye", 3), 0);
  ASSERT_EQ(loop_.sockets().close(sid), 0);
  ASSERT_TRUE(spin([&] { return rec_.closed.count(cid) != 0; }));
  EXPECT_EQ(rec_.received[cid], "bye");  // flushed before the close
  EXPECT_EQ(rec_.closed[cid], 0);
  EXPECT_EQ(loop_.sockets().alive(cid), 0);
  EXPECT_TRUE(loop_.sockets().exists(cid));
  EXPECT_EQ(loop_.sockets().close(cid), 0);
  EXPECT_FALSE(loop_.sockets().exists(cid));
  EXPECT_EQ(loop_.sockets().close(cid), kErrUnknownSocket);
}

TEST_F(SocketTest, ConnectRefusedIsReported) {
  SockAddr addr = loopback(free_port());  // nothing listens there
  int err = 0;
  SocketId cid = loop_.sockets().connect(addr, nullptr, 1000, &err);
  if (cid == 0) {
    EXPECT_EQ(err, ECONNREFUSED);
    return;
  }
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }));
  EXPECT_EQ(rec_.connected[cid], ECONNREFUSED);
  EXPECT_FALSE(loop_.sockets().exists(cid));
}

TEST_F(SocketTest, ConnectTimesOutWhenTheBacklogIsFull) {
  // A listener that never accepts, with the smallest backlog: once its
  // queue is full the kernel drops further SYNs and connects hang.
  int port = free_port();
  int lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  ASSERT_EQ(bind(lfd, reinterpret_cast<struct sockaddr *>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(lfd, 0), 0);
  SockAddr addr = loopback(port);
  std::vector<SocketId> ids;
  int err = 0;
  for (int i = 0; i < 8; i++) ids.push_back(loop_.sockets().connect(addr, nullptr, 300, &err));
  ASSERT_TRUE(spin([&] { return rec_.connected.size() == ids.size(); }, 5000));
  int timeouts = 0;
  for (SocketId id : ids) {
    if (rec_.connected[id] == kErrTimedOut) timeouts++;
  }
  EXPECT_GT(timeouts, 0);
  close(lfd);
}

TEST_F(SocketTest, ReadLimitPausesAndResumes) {
  SockAddr addr = loopback(free_port());
  int err = 0;
  ASSERT_NE(loop_.sockets().listen(addr, 16, &err), 0);
  SocketId cid = loop_.sockets().connect(addr, nullptr, 1000, &err);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  SocketId sid = rec_.accepted[0];
  // A handler that leaves bytes in the ring, so the limit applies.
  class Keeper : public SocketHandler {
   public:
    void on_accept(SocketId, SocketId, const std::string &) override {}
    void on_connect(SocketId, int) override {}
    void on_data(SocketId, RingBuffer &) override { calls++; }
    void on_close(SocketId, int) override {}
    void on_datagram(SocketId, const uint8_t *, size_t, const SockAddr &) override {}
    int calls = 0;
  } keeper;
  loop_.sockets().set_handler(&keeper);
  loop_.sockets().set_read_limit(sid, 4096);
  std::string chunk(64 << 10, 'q');
  ASSERT_EQ(loop_.sockets().send(cid, chunk.data(), chunk.size()), 0);
  spin([&] { return loop_.sockets().input(sid)->size() >= 4096; });
  for (int i = 0; i < 50; i++) loop_.run_once(1);
  size_t held = loop_.sockets().input(sid)->size();
  EXPECT_GE(held, 4096u);
  EXPECT_LT(held, chunk.size());  // reading stopped at the limit
  loop_.sockets().set_read_limit(sid, 1 << 30);
  ASSERT_TRUE(spin([&] { return loop_.sockets().input(sid)->size() == chunk.size(); }));
  loop_.sockets().set_handler(&rec_);
}

TEST_F(SocketTest, UdpDatagramsArriveWhole) {
  int port = free_port();
  SockAddr addr = loopback(port);
  int err = 0;
  SocketId server = loop_.sockets().udp_bind(addr, &err);
  ASSERT_NE(server, 0);
  SocketId client = loop_.sockets().udp_connect(addr, &err);
  ASSERT_NE(client, 0);
  ASSERT_EQ(loop_.sockets().send(client, "one", 3), 0);
  ASSERT_EQ(loop_.sockets().send(client, "two", 3), 0);
  ASSERT_TRUE(spin([&] { return rec_.received[server].size() == 6; }));
  EXPECT_EQ(rec_.received[server], "onetwo");
}

TEST_F(SocketTest, Ipv6Loopback) {
  SockAddr addr;
  ASSERT_TRUE(parse_address("[::1]:" + std::to_string(free_port()), false, &addr));
  int err = 0;
  SocketId lid = loop_.sockets().listen(addr, 16, &err);
  if (lid == 0 && err == EADDRNOTAVAIL) GTEST_SKIP() << "no IPv6 loopback here";
  ASSERT_NE(lid, 0) << socket_strerror(err);
  SocketId cid = loop_.sockets().connect(addr, nullptr, 1000, &err);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  EXPECT_EQ(rec_.connected[cid], 0);
  EXPECT_EQ(rec_.peers[0].rfind("[::1]:", 0), 0u);
}

}  // namespace
}  // namespace silly
