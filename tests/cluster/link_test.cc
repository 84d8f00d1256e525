// cluster::Link and LinkTable over real loopback sockets: a raw socket
// plays the peer and writes frames byte for byte; a recording sink stands
// where the Lua binding sits in the runtime.
#include "silly/cluster/link.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "silly/cluster/link_table.h"
#include "silly/core/event_loop.h"

namespace silly {
namespace cluster {
namespace {

struct Seen {
  bool response;
  uint32_t session;
  uint32_t cmd;
  bool remote_error;
  std::string payload;
};

class Recorder : public LinkSink {
 public:
  void on_accept(SocketId, Link &link, const std::string &) override { accepted.push_back(link.id()); }
  void on_connect(SocketId id, int status) override { connected[id] = status; }
  void on_frames(Link &link, const Frame *frames, size_t n) override {
    chunks.push_back(n);
    for (size_t i = 0; i < n; i++) {
      const Frame &f = frames[i];
      seen.push_back({f.response, f.session, f.cmd, f.remote_error,
                      std::string(reinterpret_cast<const char *>(f.payload), f.size)});
    }
    if (during_frames) during_frames(link);
  }
  void on_timeout(Link &, uint32_t session) override { timeouts.push_back(session); }
  void on_close(Link &link, int status, const std::vector<uint32_t> &failed_calls) override {
    closed[link.id()] = status;
    failed = failed_calls;
    last_stats = link.stats();
  }

  std::vector<SocketId> accepted;
  std::map<SocketId, int> connected;
  std::vector<size_t> chunks;
  std::vector<Seen> seen;
  std::vector<uint32_t> timeouts;
  std::map<SocketId, int> closed;
  std::vector<uint32_t> failed;
  Link::Stats last_stats;
  std::function<void(Link &)> during_frames;
};

class LinkTest : public ::testing::Test {
 protected:
  LinkTest() : sockets_(loop_), links_(loop_, sockets_, sink_) {}

  template <class Pred>
  bool spin(Pred done, int max_ms = 5000) {
    for (int i = 0; i < max_ms && !done(); i++) loop_.run_once(1);
    return done();
  }

  // A listening link table and a raw peer socket connected to it; returns
  // the link the table accepted.
  Link *accept_peer(const LinkOptions &options = {}) {
    SockAddr addr;
    parse_address("127.0.0.1:0", false, &addr);
    SocketId lid = links_.listen(addr, 16, options);
    EXPECT_GT(lid, 0);
    std::string local = sockets_.local_address(lid);
    int port = std::stoi(local.substr(local.rfind(':') + 1));
    peer_ = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    EXPECT_EQ(::connect(peer_, reinterpret_cast<struct sockaddr *>(&a), sizeof(a)), 0);
    EXPECT_TRUE(spin([&] { return !sink_.accepted.empty(); }));
    return links_.find(sink_.accepted.back());
  }

  void peer_write(const RingBuffer &frames) {
    std::string bytes(frames.size(), '\0');
    frames.peek(bytes.data(), bytes.size());
    ASSERT_EQ(::write(peer_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }

  // Everything the peer has received so far, parsed.
  std::vector<Frame> peer_read(RingBuffer *keep) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(peer_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      keep->append(buf, static_cast<size_t>(n));
    }
    std::vector<Frame> out;
    std::string error;
    for (;;) {
      Frame f;
      if (parse_frame(*keep, &f, &error) != ParseStatus::kFrame) break;
      out.push_back(f);
      keep->consume(f.wire_size);
    }
    return out;
  }

  ~LinkTest() override {
    if (peer_ >= 0) close(peer_);
  }

  EventLoop loop_;
  SocketManager sockets_;
  Recorder sink_;
  LinkTable links_;
  int peer_ = -1;
};

TEST_F(LinkTest, ALongBatchReachesTheSinkInChunksInOrder) {
  Link *link = accept_peer();
  ASSERT_NE(link, nullptr);
  RingBuffer out;
  for (uint32_t i = 0; i < 100; i++) append_request(out, i, 7, 0, "abc", 3);
  peer_write(out);
  ASSERT_TRUE(spin([&] { return sink_.seen.size() == 100; }));
  for (uint32_t i = 0; i < 100; i++) {
    EXPECT_FALSE(sink_.seen[i].response);
    EXPECT_EQ(sink_.seen[i].session, i);
    EXPECT_EQ(sink_.seen[i].cmd, 7u);
    EXPECT_EQ(sink_.seen[i].payload, "abc");
  }
  for (size_t n : sink_.chunks) EXPECT_LE(n, Link::kFlushEvery);
}

TEST_F(LinkTest, ResponsesReachTheSinkOnlyForPendingCalls) {
  Link *link = accept_peer();
  ASSERT_NE(link, nullptr);
  int64_t s1 = link->call(1, 0, "q1", 2, 10000);
  int64_t s2 = link->call(2, 0, "q2", 2, 10000);
  ASSERT_GE(s1, 0);
  ASSERT_GE(s2, 0);
  EXPECT_EQ(link->pending(), 2u);
  RingBuffer got;
  std::vector<Frame> requests;
  ASSERT_TRUE(spin([&] {
    auto more = peer_read(&got);
    requests.insert(requests.end(), more.begin(), more.end());
    return requests.size() == 2;
  }));
  EXPECT_EQ(requests[0].session, static_cast<uint32_t>(s1));
  EXPECT_EQ(requests[0].cmd, 1u);
  RingBuffer out;
  append_response(out, static_cast<uint32_t>(s1), "r1", 2);
  append_response(out, 99999, "late", 4);  // never asked for: dropped
  std::string err = std::string(kRemoteErrorMarker, kRemoteErrorMarkerSize) + "boom";
  append_response(out, static_cast<uint32_t>(s2), err.data(), err.size());
  peer_write(out);
  ASSERT_TRUE(spin([&] { return sink_.seen.size() == 2; }));
  EXPECT_EQ(sink_.seen[0].payload, "r1");
  EXPECT_FALSE(sink_.seen[0].remote_error);
  EXPECT_TRUE(sink_.seen[1].remote_error);
  EXPECT_EQ(sink_.seen[1].payload, "boom");
  EXPECT_EQ(link->pending(), 0u);
  EXPECT_EQ(links_.sessions().dropped_responses(), 1u);
}

TEST_F(LinkTest, ADeadlineGoesToTheSinkOnce) {
  Link *link = accept_peer();
  int64_t s = link->call(1, 0, "q", 1, 5);
  ASSERT_GE(s, 0);
  ASSERT_TRUE(spin([&] { return !sink_.timeouts.empty(); }));
  EXPECT_EQ(sink_.timeouts[0], static_cast<uint32_t>(s));
  EXPECT_EQ(link->pending(), 0u);
  // Its response, when it finally comes, is late and dropped.
  RingBuffer out;
  append_response(out, static_cast<uint32_t>(s), "r", 1);
  peer_write(out);
  ASSERT_TRUE(spin([&] { return links_.sessions().dropped_responses() == 1; }));
  EXPECT_TRUE(sink_.seen.empty());
  EXPECT_EQ(loop_.timer_count(), 0u);
}

TEST_F(LinkTest, APeerThatLeavesFailsThePendingCalls) {
  Link *link = accept_peer();
  SocketId id = link->id();
  std::vector<int64_t> calls;
  for (int i = 0; i < 10; i++) calls.push_back(link->call(1, 0, "q", 1, 60000));
  loop_.run_once(0);
  close(peer_);
  peer_ = -1;
  ASSERT_TRUE(spin([&] { return sink_.closed.count(id) != 0; }));
  // An orderly end, or a reset since the peer left our requests unread.
  EXPECT_TRUE(sink_.closed[id] == 0 || sink_.closed[id] == -ECONNRESET) << sink_.closed[id];
  EXPECT_EQ(sink_.failed.size(), 10u);
  EXPECT_EQ(links_.find(id), nullptr);
  EXPECT_EQ(links_.sessions().pending_count(), 0u);
  EXPECT_EQ(loop_.timer_count(), 0u);  // the deadlines went with them
  EXPECT_EQ(sockets_.state(id), kErrUnknownSocket);
}

TEST_F(LinkTest, AMalformedFrameClosesTheLinkAfterTheGoodOnes) {
  Link *link = accept_peer();
  SocketId id = link->id();
  RingBuffer out;
  append_request(out, 1, 1, 0, "ok", 2);
  const uint8_t bad[] = {0x00, 0x02, 0xaa, 0xbb};  // shorter than any trailer
  out.append(bad, sizeof(bad));
  peer_write(out);
  ASSERT_TRUE(spin([&] { return sink_.closed.count(id) != 0; }));
  EXPECT_EQ(sink_.closed[id], -EPROTO);
  ASSERT_EQ(sink_.seen.size(), 1u);
  EXPECT_EQ(sink_.seen[0].payload, "ok");
  EXPECT_EQ(links_.find(id), nullptr);
}

// A sink that closes the link while handling its frames: the rest of the
// chunk stays readable, nothing more is read, and the sink hears no close
// of its own making.
TEST_F(LinkTest, ClosingInsideTheBatchIsSafe) {
  Link *link = accept_peer();
  SocketId id = link->id();
  int64_t s = link->call(1, 0, "q", 1, 60000);
  std::vector<uint32_t> failed;
  std::string later_payload;
  sink_.during_frames = [&](Link &l) {
    failed = links_.close(l.id());
    EXPECT_EQ(l.phase(), LinkPhase::kClosed);
    EXPECT_EQ(links_.find(l.id()), &l);  // in place until the batch ends
    later_payload = sink_.seen.back().payload;
  };
  RingBuffer out;
  for (uint32_t i = 0; i < 100; i++) append_request(out, i, 1, 0, "payload", 7);
  peer_write(out);
  ASSERT_TRUE(spin([&] { return links_.find(id) == nullptr; }));
  EXPECT_EQ(sink_.chunks.size(), 1u);  // no more after the close
  EXPECT_EQ(later_payload, "payload");
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0], static_cast<uint32_t>(s));
  EXPECT_EQ(sink_.closed.count(id), 0u);
  EXPECT_EQ(sockets_.state(id), kErrUnknownSocket);
}

TEST_F(LinkTest, ConnectMakesALinkBothWays) {
  SockAddr addr;
  parse_address("127.0.0.1:0", false, &addr);
  SocketId lid = links_.listen(addr, 16);
  ASSERT_GT(lid, 0);
  SockAddr to;
  parse_address(sockets_.local_address(lid), false, &to);
  SocketId cid = links_.connect(to, 1000);
  ASSERT_GT(cid, 0);
  ASSERT_TRUE(spin([&] { return sink_.connected.count(cid) != 0 && !sink_.accepted.empty(); }));
  EXPECT_EQ(sink_.connected[cid], 0);
  Link *client = links_.find(cid);
  ASSERT_NE(client, nullptr);
  ASSERT_EQ(client->send(5, 42, "hello", 5), 0);
  ASSERT_TRUE(spin([&] { return sink_.seen.size() == 1; }));
  EXPECT_EQ(sink_.seen[0].cmd, 5u);
  EXPECT_EQ(sink_.seen[0].payload, "hello");
  EXPECT_EQ(links_.link_count(), 2u);
  EXPECT_EQ(client->send(5, 0, nullptr, kMaxRequestPayload + 1), -EMSGSIZE);
}

// A peer that agreed to heartbeats and then answers no ping: the link pings
// it, counts the pings that went unanswered, and closes with ETIMEDOUT.
TEST_F(LinkTest, APeerThatAnswersNoPingIsClosed) {
  LinkOptions options;
  options.heartbeat_ms = 20;
  Link *link = accept_peer(options);
  SocketId id = link->id();
  HelloMessage hello;
  hello.features = kFeatureHeartbeat;
  hello.max_payload = kMaxRequestPayload;
  std::string offer = encode_hello(hello);
  RingBuffer out;
  append_request(out, 77, kHelloCmd, 0, offer.data(), offer.size());
  peer_write(out);
  RingBuffer got;
  std::vector<Frame> acks;
  ASSERT_TRUE(spin([&] {
    auto more = peer_read(&got);
    acks.insert(acks.end(), more.begin(), more.end());
    return !acks.empty();
  }));
  ASSERT_TRUE(acks[0].response);
  EXPECT_EQ(acks[0].session, 77u);
  EXPECT_EQ(link->agreed(), kFeatureHeartbeat);
  ASSERT_TRUE(spin([&] { return sink_.closed.count(id) != 0; }));
  EXPECT_EQ(sink_.closed[id], -ETIMEDOUT);
  EXPECT_LE(sink_.last_stats.pings_missed, sink_.last_stats.pings_sent);
  // Everything after the ack was a ping, one for each the link counted.
  std::vector<Frame> after(acks.begin() + 1, acks.end());
  for (const Frame &f : peer_read(&got)) after.push_back(f);
  for (const Frame &f : after) EXPECT_EQ(f.cmd, kPingCmd) << "only pings after the ack";
  EXPECT_EQ(after.size(), sink_.last_stats.pings_sent);
}

}  // namespace
}  // namespace cluster
}  // namespace silly
