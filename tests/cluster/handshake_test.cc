// cluster::Handshake with no socket: two machines, a connecting and a
// listening side, hand each other the bytes they return, frame by frame.
#include "silly/cluster/handshake.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace silly {
namespace cluster {
namespace {

class NoDeadlines : public DeadlineScheduler {
 public:
  uint64_t schedule(int, uint32_t) override { return 1; }
  void cancel(uint64_t) override {}
};

HandshakeConfig config(uint32_t features, const char *secret = nullptr, uint32_t max = 1 << 20) {
  HandshakeConfig c;
  c.features = features | (secret != nullptr ? kFeatureAuth : 0);
  c.max_payload = max;
  if (secret != nullptr) c.secret = std::make_shared<const std::string>(secret);
  return c;
}

// The frames of a step's bytes; the test fails if they do not parse whole.
std::vector<Frame> frames_of(const std::string &bytes) {
  std::vector<Frame> out;
  size_t used = 0;
  std::string error;
  for (;;) {
    Frame f;
    ParseStatus st =
        parse_frame(reinterpret_cast<const uint8_t *>(bytes.data()) + used, bytes.size() - used, &f, &error);
    if (st != ParseStatus::kFrame) break;
    used += f.wire_size;
    out.push_back(f);
  }
  EXPECT_EQ(used, bytes.size()) << error;
  return out;
}

struct Pair {
  Pair(HandshakeConfig connecting, HandshakeConfig listening)
      : sessions(deadlines), client(true, std::move(connecting)), server(false, std::move(listening)) {}

  // Starts both and passes bytes back and forth until neither sends.
  void run() {
    Handshake::Step c = client.start(sessions);
    Handshake::Step s = server.start(sessions);
    record(c, &client_result);
    record(s, &server_result);
    std::string to_server = c.out, to_client = s.out;
    for (int round = 0; round < 8 && (!to_server.empty() || !to_client.empty()); round++) {
      std::string next_to_client, next_to_server;
      for (const Frame &f : frames_of(to_server)) {
        if (!server.running()) break;
        Handshake::Step st = server.take(f, sessions);
        record(st, &server_result);
        next_to_client += st.out;
      }
      for (const Frame &f : frames_of(to_client)) {
        if (!client.running()) break;
        Handshake::Step st = client.take(f, sessions);
        record(st, &client_result);
        next_to_server += st.out;
      }
      to_server = next_to_server;
      to_client = next_to_client;
      sent += to_server.size() + to_client.size();
    }
  }
  void record(const Handshake::Step &st, Handshake::Result *into) {
    if (st.result != Handshake::Result::kContinue) *into = st.result;
    if (st.result == Handshake::Result::kFail) {
      whys.push_back(st.why);
      EXPECT_EQ(st.status, -EACCES);
    }
  }

  NoDeadlines deadlines;
  SessionTable sessions;
  Handshake client;
  Handshake server;
  Handshake::Result client_result = Handshake::Result::kContinue;
  Handshake::Result server_result = Handshake::Result::kContinue;
  std::vector<std::string> whys;
  size_t sent = 0;
};

TEST(HandshakeTest, BaseLinksSendNothingAndAreUpAtOnce) {
  Pair p(config(0), config(0));
  Handshake::Step c = p.client.start(p.sessions);
  EXPECT_EQ(c.result, Handshake::Result::kUp);
  EXPECT_TRUE(c.out.empty());
  EXPECT_EQ(p.client.wait_ms(), 0);
  Handshake::Step s = p.server.start(p.sessions);
  EXPECT_EQ(s.result, Handshake::Result::kUp);
  EXPECT_TRUE(s.out.empty());
  EXPECT_EQ(p.client.agreement().features, 0u);
  EXPECT_EQ(p.client.agreement().peer_max, kMaxRequestPayload);
}

TEST(HandshakeTest, BothEndsAgreeOnWhatBothOffer) {
  Pair p(config(kFeatureHeartbeat | kFeatureLarge, nullptr, 1 << 20), config(kFeatureLarge, nullptr, 1 << 22));
  EXPECT_EQ(p.client.start(p.sessions).result, Handshake::Result::kContinue);
  EXPECT_EQ(p.client.wait_ms(), Handshake::kHelloWaitMs);
  Pair q(config(kFeatureHeartbeat | kFeatureLarge, nullptr, 1 << 20), config(kFeatureLarge, nullptr, 1 << 22));
  q.run();
  EXPECT_EQ(q.client_result, Handshake::Result::kUp);
  EXPECT_EQ(q.server_result, Handshake::Result::kUp);
  EXPECT_EQ(q.client.agreement().features, kFeatureLarge);
  EXPECT_EQ(q.server.agreement().features, kFeatureLarge);
  EXPECT_EQ(q.client.agreement().peer_max, 1u << 22);
  EXPECT_EQ(q.server.agreement().peer_max, 1u << 20);
  EXPECT_FALSE(q.client.running());
  EXPECT_FALSE(q.server.running());
}

// A listener with no option still acks, accepting nothing, so that the
// connecting side knows it is alive.
TEST(HandshakeTest, AListenerWithoutOptionsAcksNothing) {
  Pair p(config(kFeatureHeartbeat), config(0));
  p.run();
  EXPECT_EQ(p.client_result, Handshake::Result::kUp);
  EXPECT_EQ(p.client.agreement().features, 0u);
  EXPECT_GT(p.sent, 0u);
}

TEST(HandshakeTest, NoAnswerLeavesTheConnectingSideOnTheBaseWire) {
  Pair p(config(kFeatureHeartbeat), config(0));
  p.client.start(p.sessions);
  Handshake::Step st = p.client.expire();
  EXPECT_EQ(st.result, Handshake::Result::kUp);
  EXPECT_EQ(p.client.agreement().features, 0u);
}

// An original node answers the hello as an unknown request: with an error
// payload, which is no ack.
TEST(HandshakeTest, AnAnswerThatIsNoAckMeansTheBaseWire) {
  Pair p(config(kFeatureHeartbeat), config(0));
  Handshake::Step hello = p.client.start(p.sessions);
  std::vector<Frame> frames = frames_of(hello.out);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].cmd, kHelloCmd);
  Frame answer;
  answer.response = true;
  answer.session = frames[0].session;
  answer.payload = reinterpret_cast<const uint8_t *>("error");
  answer.size = 5;
  Handshake::Step st = p.client.take(answer, p.sessions);
  EXPECT_EQ(st.result, Handshake::Result::kUp);
  EXPECT_EQ(p.client.agreement().features, 0u);
}

TEST(HandshakeTest, OtherFramesWhileTheHelloWaitsAreNotItsOwn) {
  Pair p(config(kFeatureHeartbeat), config(0));
  p.client.start(p.sessions);
  Frame request;
  request.cmd = 7;
  Handshake::Step st = p.client.take(request, p.sessions);
  EXPECT_FALSE(st.consumed);
  EXPECT_EQ(st.result, Handshake::Result::kContinue);
  EXPECT_TRUE(p.client.running());
}

TEST(HandshakeTest, AListenersFirstFrameThatIsNoHelloPassesThrough) {
  Pair p(config(0), config(kFeatureHeartbeat));
  EXPECT_EQ(p.server.start(p.sessions).result, Handshake::Result::kUp);
  EXPECT_TRUE(p.server.awaiting_first());
  Frame request;
  request.cmd = 1;
  Handshake::Step st = p.server.take(request, p.sessions);
  EXPECT_FALSE(st.consumed);
  EXPECT_TRUE(st.out.empty());
  EXPECT_FALSE(p.server.running());
  EXPECT_EQ(p.server.agreement().features, 0u);
}

TEST(HandshakeTest, TheSameSecretGetsThrough) {
  Pair p(config(kFeatureHeartbeat, "swordfish"), config(0, "swordfish"));
  p.run();
  EXPECT_EQ(p.client_result, Handshake::Result::kUp);
  EXPECT_EQ(p.server_result, Handshake::Result::kUp);
  EXPECT_EQ(p.client.agreement().features, kFeatureAuth);
  EXPECT_EQ(p.server.agreement().features, kFeatureAuth);
  EXPECT_TRUE(p.whys.empty());
}

TEST(HandshakeTest, ADifferentSecretIsRefusedByTheConnectingSide) {
  Pair p(config(0, "trout"), config(0, "swordfish"));
  p.run();
  EXPECT_EQ(p.client_result, Handshake::Result::kFail);
  EXPECT_NE(p.server_result, Handshake::Result::kUp);
  ASSERT_EQ(p.whys.size(), 1u);
  EXPECT_NE(p.whys[0].find("different secret"), std::string::npos) << p.whys[0];
}

// The listener refuses a hello without the secret with an ack that asks for
// one, so the connecting side can say why.
TEST(HandshakeTest, AHelloWithoutTheSecretIsRefusedOnBothSides) {
  Pair p(config(kFeatureHeartbeat), config(0, "swordfish"));
  p.run();
  EXPECT_EQ(p.server_result, Handshake::Result::kFail);
  EXPECT_EQ(p.client_result, Handshake::Result::kFail);
  ASSERT_EQ(p.whys.size(), 2u);
  EXPECT_EQ(p.whys[1], "the peer requires a secret");
}

TEST(HandshakeTest, ABaseWireRequestToASecretListenerIsRefused) {
  Pair p(config(0), config(0, "swordfish"));
  p.server.start(p.sessions);
  EXPECT_TRUE(p.server.exclusive());
  Frame request;
  request.cmd = 1;
  Handshake::Step st = p.server.take(request, p.sessions);
  EXPECT_EQ(st.result, Handshake::Result::kFail);
  EXPECT_NE(st.why.find("no hello"), std::string::npos);
  EXPECT_FALSE(p.server.running());
}

TEST(HandshakeTest, ASecretHandshakeThatRunsOutOfTimeFails) {
  Pair p(config(0, "swordfish"), config(0, "swordfish"));
  p.client.start(p.sessions);
  EXPECT_EQ(p.client.wait_ms(), 5000);
  Handshake::Step st = p.client.expire();
  EXPECT_EQ(st.result, Handshake::Result::kFail);
  EXPECT_EQ(st.why, "not through within 5000 ms");
  p.server.start(p.sessions);
  EXPECT_EQ(p.server.expire().result, Handshake::Result::kFail);
}

TEST(HandshakeTest, AFrameBeforeTheAckOfASecretHandshakeFails) {
  Pair p(config(0, "swordfish"), config(0, "swordfish"));
  p.client.start(p.sessions);
  Frame request;
  request.cmd = 1;
  Handshake::Step st = p.client.take(request, p.sessions);
  EXPECT_EQ(st.result, Handshake::Result::kFail);
  EXPECT_EQ(st.why, "a frame before authentication");
}

// Session numbers of the handshake's requests are never registered, so
// its answers cannot be mistaken for a call's.
TEST(HandshakeTest, ItsRequestsTakeUnregisteredSessions) {
  Pair p(config(kFeatureHeartbeat, "swordfish"), config(0, "swordfish"));
  p.run();
  EXPECT_EQ(p.sessions.pending_count(), 0u);
  EXPECT_EQ(p.client_result, Handshake::Result::kUp);
}

}  // namespace
}  // namespace cluster
}  // namespace silly
