#include "silly/core/socket.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "silly/core/event_loop.h"

namespace silly {
namespace {

// Records every socket event; echoes when asked to.
class Recorder : public SocketOwner {
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
  void on_writable(SocketId id) override { writable[id]++; }
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
  std::map<SocketId, int> writable;
};

class SocketTest : public ::testing::Test {
 protected:
  SocketTest() : sockets_(loop_), rec_(sockets_) {}

  template <class Pred>
  bool spin(Pred done, int max_ms = 3000) {
    for (int i = 0; i < max_ms && !done(); i++) loop_.run_once(1);
    return done();
  }
  EventLoop loop_;
  SocketManager sockets_;
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
  SocketId lid = sockets_.listen(addr, 16, &rec_);
  ASSERT_GT(lid, 0) << socket_strerror(static_cast<int>(lid));
  rec_.echo = true;
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_GT(cid, 0);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }));
  ASSERT_EQ(rec_.connected[cid], 0);
  // 8 MiB: far more than the kernel buffers, so writes must wait for the
  // writable edge and resume.
  std::string payload(8 << 20, '\0');
  for (size_t i = 0; i < payload.size(); i++) payload[i] = static_cast<char>(i * 131 + 7);
  rec_.echo = false;
  ASSERT_EQ(sockets_.send(cid, payload.data(), payload.size()), 0);
  ASSERT_TRUE(spin([&] { return !rec_.accepted.empty(); }));
  SocketId sid = rec_.accepted[0];
  EXPECT_EQ(rec_.peers[0].rfind("127.0.0.1:", 0), 0u);
  ASSERT_TRUE(spin([&] { return rec_.received[sid].size() == payload.size(); }, 10000));
  EXPECT_TRUE(rec_.received[sid] == payload);
  // The kernel pushed back on the way, and the owner heard when the queue
  // drained again.
  EXPECT_GE(rec_.writable[cid], 1);
  EXPECT_EQ(sockets_.send_queue_size(cid), 0u);
}

// An owner that leaves what arrived in the ring (a reader not yet there):
// a second small message must not grow the ring by a whole read chunk.
class Holder : public SocketOwner {
 public:
  void on_accept(SocketId, SocketId conn, const std::string &) override { accepted = conn; }
  void on_data(SocketId, RingBuffer &in) override {
    sizes.push_back(in.size());
    capacities.push_back(in.capacity());
  }
  void on_close(SocketId, int) override {}
  SocketId accepted = 0;
  std::vector<size_t> sizes, capacities;
};

TEST_F(SocketTest, UnreadBytesKeepASmallRing) {
  Holder holder;
  SockAddr addr = loopback(free_port());
  SocketId lid = sockets_.listen(addr, 16, &holder);
  ASSERT_GT(lid, 0);
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && holder.accepted != 0; }));
  ASSERT_EQ(sockets_.send(cid, "0123456789abcdef", 16), 0);
  ASSERT_TRUE(spin([&] { return holder.sizes.size() == 1; }));
  ASSERT_EQ(sockets_.send(cid, "0123456789abcdef", 16), 0);
  ASSERT_TRUE(spin([&] { return holder.sizes.size() == 2; }));
  EXPECT_EQ(holder.sizes[1], 32u);
  EXPECT_LE(holder.capacities[1], 64u) << "the ring grew for reading, not for its data";
}

// After a wave of closed sockets, trim() gives back the descriptor table's
// room above the sockets still open, and everything works on.
TEST_F(SocketTest, TrimGivesBackTheRoomOfClosedSockets) {
  SockAddr addr = loopback(free_port());
  SocketId lid = sockets_.listen(addr, 512, &rec_);
  ASSERT_GT(lid, 0);
  std::vector<SocketId> ids;
  for (int i = 0; i < 300; i++) ids.push_back(sockets_.connect(addr, nullptr, 1000, &rec_));
  ASSERT_TRUE(spin([&] { return rec_.accepted.size() == ids.size(); }, 30000));
  size_t peak = loop_.fd_slots();
  EXPECT_GE(peak, 600u);
  for (SocketId id : ids) sockets_.close(id);
  for (SocketId id : rec_.accepted) sockets_.close(id);
  ASSERT_TRUE(spin([&] { return sockets_.count() == 1; }, 30000));
  sockets_.trim();
  EXPECT_LT(loop_.fd_slots(), 64u) << "the listener and the loop's own descriptors are all that is left";
  rec_.echo = true;
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && rec_.accepted.size() == ids.size() + 1; }));
  ASSERT_EQ(sockets_.send(cid, "after trim", 10), 0);
  ASSERT_TRUE(spin([&] { return rec_.received[cid] == "after trim"; }));
}

// take_peak() reports a burst of sockets that came and went between two
// looks, once; the next look starts from the sockets open then.
TEST_F(SocketTest, TakePeakSeesABurstBetweenTwoLooks) {
  SockAddr addr = loopback(free_port());
  ASSERT_GT(sockets_.listen(addr, 64, &rec_), 0);
  sockets_.take_peak();
  std::vector<SocketId> ids;
  for (int i = 0; i < 20; i++) ids.push_back(sockets_.connect(addr, nullptr, 1000, &rec_));
  ASSERT_TRUE(spin([&] { return rec_.accepted.size() == ids.size(); }));
  for (SocketId id : ids) sockets_.close(id);
  for (SocketId id : rec_.accepted) sockets_.close(id);
  ASSERT_TRUE(spin([&] { return sockets_.count() == 1; }));
  EXPECT_EQ(sockets_.take_peak(), 41u) << "the listener, 20 connects and 20 accepted";
  EXPECT_EQ(sockets_.take_peak(), 1u) << "the listener alone since the last look";
}

TEST_F(SocketTest, SmallWritesInOneTurnLeaveInOneSystemCall) {
  SockAddr addr = loopback(free_port());
  ASSERT_GT(sockets_.listen(addr, 16, &rec_), 0);
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  uint64_t before = sockets_.write_calls();
  for (int i = 0; i < 100; i++) ASSERT_EQ(sockets_.send(cid, "0123456789abcdef", 16), 0);
  sockets_.flush_writes();
  EXPECT_EQ(sockets_.write_calls() - before, 1u);
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
  SocketId cid = sockets_.connect(loopback(port), nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }));
  ASSERT_EQ(rec_.connected[cid], 0);
  // The kernel buffers fill first, then ours up to the limit.
  size_t limit = 1 << 20;
  ASSERT_EQ(sockets_.set_send_limit(cid, limit), 0);
  std::string chunk(64 << 10, 'z');
  int rc = 0;
  size_t accepted = 0;
  for (int i = 0; i < 10000 && rc == 0; i++) {
    rc = sockets_.send(cid, chunk.data(), chunk.size());
    if (rc == 0) accepted += chunk.size();
    loop_.run_once(0);
  }
  EXPECT_EQ(rc, kErrSendQueueFull);
  EXPECT_STREQ(socket_strerror(rc), "send queue full");
  EXPECT_LE(sockets_.send_queue_size(cid), limit);
  EXPECT_LT(accepted, size_t{64} << 20);  // bounded by kernel buffers + limit
  EXPECT_EQ(sockets_.state(cid), 0);      // refused a write, not broken
  close(lfd);
}

TEST_F(SocketTest, PeerCloseReportsEndOfFileAndKeepsIdUntilClosed) {
  SockAddr addr = loopback(free_port());
  ASSERT_GT(sockets_.listen(addr, 16, &rec_), 0);
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  SocketId sid = rec_.accepted[0];
  ASSERT_EQ(sockets_.send(sid, "bye", 3), 0);
  ASSERT_EQ(sockets_.close(sid), 0);
  ASSERT_TRUE(spin([&] { return rec_.closed.count(cid) != 0; }));
  EXPECT_EQ(rec_.received[cid], "bye");  // flushed before the close
  EXPECT_EQ(rec_.closed[cid], 0);
  EXPECT_EQ(sockets_.state(cid), kErrPeerClosed);
  EXPECT_EQ(sockets_.close(cid), 0);
  EXPECT_EQ(sockets_.state(cid), kErrUnknownSocket);
  EXPECT_EQ(sockets_.close(cid), kErrUnknownSocket);
}

TEST_F(SocketTest, ConnectRefusedIsReported) {
  SockAddr addr = loopback(free_port());  // nothing listens there
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  if (cid < 0) {
    EXPECT_EQ(cid, -ECONNREFUSED);
    return;
  }
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }));
  EXPECT_EQ(rec_.connected[cid], -ECONNREFUSED);
  EXPECT_EQ(sockets_.state(cid), kErrUnknownSocket);
}

// Bound to the very address it connects to, a socket meets itself (TCP
// simultaneous open), as a reconnect to a dead node's ephemeral port can:
// nothing listens there, so it is reported as refused.
TEST_F(SocketTest, ConnectToItselfIsRefused) {
  SockAddr addr = loopback(free_port());
  SocketId cid = sockets_.connect(addr, &addr, 1000, &rec_);
  if (cid < 0) {
    EXPECT_EQ(cid, -ECONNREFUSED);
    return;
  }
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }, 30000));
  EXPECT_EQ(rec_.connected[cid], -ECONNREFUSED);
  EXPECT_EQ(sockets_.state(cid), kErrUnknownSocket);
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
  for (int i = 0; i < 8; i++) ids.push_back(sockets_.connect(addr, nullptr, 300, &rec_));
  ASSERT_TRUE(spin([&] { return rec_.connected.size() == ids.size(); }, 5000));
  int timeouts = 0;
  for (SocketId id : ids) {
    if (rec_.connected[id] == kErrConnectTimeout) timeouts++;
  }
  EXPECT_GT(timeouts, 0);
  close(lfd);
}

TEST_F(SocketTest, ReadLimitPausesAndResumes) {
  SockAddr addr = loopback(free_port());
  ASSERT_GT(sockets_.listen(addr, 16, &rec_), 0);
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  SocketId sid = rec_.accepted[0];
  // A handler that leaves bytes in the ring, so the limit applies.
  class Keeper : public SocketOwner {
   public:
    void on_data(SocketId, RingBuffer &) override { calls++; }
    void on_close(SocketId, int) override {}
    int calls = 0;
  } keeper;
  ASSERT_EQ(sockets_.set_owner(sid, &keeper), 0);
  size_t previous = 0;
  ASSERT_EQ(sockets_.set_read_limit(sid, 4096, &previous), 0);
  EXPECT_EQ(previous, SIZE_MAX);
  std::string chunk(64 << 10, 'q');
  ASSERT_EQ(sockets_.send(cid, chunk.data(), chunk.size()), 0);
  spin([&] { return sockets_.input(sid)->size() >= 4096; });
  for (int i = 0; i < 50; i++) loop_.run_once(1);
  size_t held = sockets_.input(sid)->size();
  EXPECT_GE(held, 4096u);
  EXPECT_LT(held, chunk.size());  // reading stopped at the limit
  ASSERT_EQ(sockets_.set_read_limit(sid, 1 << 30, &previous), 0);
  EXPECT_EQ(previous, 4096u);
  ASSERT_TRUE(spin([&] { return sockets_.input(sid)->size() == chunk.size(); }));
  EXPECT_GT(keeper.calls, 0);
  EXPECT_EQ(rec_.received.count(sid), 0u);  // the first owner no longer hears of it
}

TEST_F(SocketTest, UdpDatagramsArriveWhole) {
  int port = free_port();
  SockAddr addr = loopback(port);
  SocketId server = sockets_.udp_bind(addr, &rec_);
  ASSERT_GT(server, 0);
  SocketId client = sockets_.udp_connect(addr, &rec_);
  ASSERT_GT(client, 0);
  ASSERT_EQ(sockets_.send(client, "one", 3), 0);
  ASSERT_EQ(sockets_.send(client, "two", 3), 0);
  ASSERT_TRUE(spin([&] { return rec_.received[server].size() == 6; }));
  EXPECT_EQ(rec_.received[server], "onetwo");
}

TEST_F(SocketTest, Ipv6Loopback) {
  SockAddr addr;
  ASSERT_TRUE(parse_address("[::1]:" + std::to_string(free_port()), false, &addr));
  SocketId lid = sockets_.listen(addr, 16, &rec_);
  if (lid == -EADDRNOTAVAIL) GTEST_SKIP() << "no IPv6 loopback here";
  ASSERT_GT(lid, 0) << socket_strerror(static_cast<int>(lid));
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  EXPECT_EQ(rec_.connected[cid], 0);
  EXPECT_EQ(rec_.peers[0].rfind("[::1]:", 0), 0u);
}

// Results follow one convention: 0 or an id on success, a negative code
// otherwise, with a message for each.
TEST_F(SocketTest, ErrorsAreNegativeCodesWithMessages) {
  SocketId bogus = 12345;
  EXPECT_EQ(sockets_.send(bogus, "x", 1), kErrUnknownSocket);
  EXPECT_EQ(sockets_.close(bogus), kErrUnknownSocket);
  EXPECT_EQ(sockets_.set_send_limit(bogus, 1), kErrUnknownSocket);
  EXPECT_EQ(sockets_.resume_read(bogus), kErrUnknownSocket);
  EXPECT_EQ(sockets_.set_owner(bogus, &rec_), kErrUnknownSocket);
  size_t previous = 0;
  EXPECT_EQ(sockets_.set_read_limit(bogus, 1, &previous), kErrUnknownSocket);
  EXPECT_STREQ(socket_strerror(kErrUnknownSocket), "socket closed");
  EXPECT_STREQ(socket_strerror(-ECONNREFUSED), "Connection refused");
  // A port in use: the kernel's errno, negated.
  SockAddr addr = loopback(free_port());
  ASSERT_GT(sockets_.listen(addr, 16, &rec_), 0);
  EXPECT_EQ(sockets_.listen(addr, 16, &rec_), -EADDRINUSE);
}

// set_keepalive reaches the kernel: ss(8) shows the connection's keepalive
// timer at seconds, not at the system default of two hours.
TEST_F(SocketTest, KeepaliveReachesTheKernel) {
  int port = free_port();
  SockAddr addr = loopback(port);
  ASSERT_GT(sockets_.listen(addr, 16, &rec_), 0);
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &rec_);
  ASSERT_TRUE(spin([&] { return rec_.connected.count(cid) != 0; }));
  ASSERT_EQ(sockets_.set_keepalive(cid, 7), 0);
  std::string local = sockets_.local_address(cid);
  // Both ports: another process's connection elsewhere may share the
  // source port (a source port is unique per destination only).
  std::string cmd = "ss -tnoH state established '( sport = :" + local.substr(local.rfind(':') + 1) +
                    " and dport = :" + std::to_string(port) + " )' 2>&1";
  std::string out;
  if (FILE *p = popen(cmd.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof(buf), p) != nullptr) out += buf;
    pclose(p);
  }
  EXPECT_NE(out.find("timer:(keepalive,"), std::string::npos) << out;
  EXPECT_EQ(out.find("min"), std::string::npos) << "the default two-hour timer: " << out;
  EXPECT_EQ(sockets_.set_keepalive(424242, 7), kErrUnknownSocket);
}

// The loop hands each socket's events to that socket's owner only.
TEST_F(SocketTest, EventsGoToEachSocketsOwner) {
  Recorder other(sockets_);
  SockAddr addr = loopback(free_port());
  ASSERT_GT(sockets_.listen(addr, 16, &rec_), 0);
  SocketId cid = sockets_.connect(addr, nullptr, 1000, &other);
  ASSERT_TRUE(spin([&] { return other.connected.count(cid) != 0 && !rec_.accepted.empty(); }));
  EXPECT_EQ(rec_.connected.count(cid), 0u);
  SocketId sid = rec_.accepted[0];
  ASSERT_EQ(sockets_.send(cid, "ping", 4), 0);
  ASSERT_TRUE(spin([&] { return rec_.received[sid] == "ping"; }));
  EXPECT_EQ(other.received.count(sid), 0u);
  ASSERT_EQ(sockets_.close(sid), 0);
  ASSERT_TRUE(spin([&] { return other.closed.count(cid) != 0; }));
  EXPECT_EQ(other.closed[cid], 0);
  EXPECT_EQ(rec_.closed.count(cid), 0u);
}

}  // namespace
}  // namespace silly
