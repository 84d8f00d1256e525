// The shared-secret handshake: the Authenticator on its own, then links
// over loopback, with raw sockets playing peers that lack the secret,
// say nothing, send garbage or replay a recorded exchange.
#include "silly/cluster/auth.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "silly/cluster/link.h"
#include "silly/cluster/link_table.h"
#include "silly/core/event_loop.h"

namespace silly {
namespace cluster {
namespace {

Secret secret(const std::string &s) {
  return std::make_shared<const std::string>(s);
}

const uint8_t *bytes(const std::string &s) {
  return reinterpret_cast<const uint8_t *>(s.data());
}

TEST(AuthenticatorTest, BothSidesProveTheSameSecret) {
  Authenticator client(secret("s3cret")), server(secret("s3cret"));
  HelloMessage offer;
  offer.features = kFeatureHeartbeat;
  offer.max_payload = 1000;
  std::string hello = client.client_hello(offer);
  EXPECT_EQ(hello.size(), kHelloSize + kNonceSize);
  HelloMessage got, ack_fields;
  std::string ack, proof;
  ASSERT_TRUE(server.server_take_hello(bytes(hello), hello.size(), kFeatureHeartbeat | kFeatureAuth, 2000, &got, &ack))
      << server.why();
  EXPECT_EQ(got.max_payload, 1000u);
  ASSERT_TRUE(client.client_check_ack(bytes(ack), ack.size(), &ack_fields, &proof)) << client.why();
  EXPECT_EQ(ack_fields.features, kFeatureHeartbeat | kFeatureAuth);
  EXPECT_EQ(ack_fields.max_payload, 2000u);
  EXPECT_EQ(proof.size(), kProofSize);
  EXPECT_TRUE(server.server_check_proof(bytes(proof), proof.size())) << server.why();
}

TEST(AuthenticatorTest, ADifferentSecretFailsOnBothSides) {
  Authenticator client(secret("right")), server(secret("wrong"));
  HelloMessage offer, got, fields;
  std::string hello = client.client_hello(offer), ack, proof;
  ASSERT_TRUE(server.server_take_hello(bytes(hello), hello.size(), 0, 100, &got, &ack));
  EXPECT_FALSE(client.client_check_ack(bytes(ack), ack.size(), &fields, &proof));
  EXPECT_NE(client.why().find("does not match"), std::string::npos) << client.why();
  std::string guess(kProofSize, 'x');
  EXPECT_FALSE(server.server_check_proof(bytes(guess), guess.size()));
}

TEST(AuthenticatorTest, ARecordedProofFailsAgainstAFreshNonce) {
  Authenticator client(secret("k")), first(secret("k")), second(secret("k"));
  HelloMessage offer, got, fields;
  std::string hello = client.client_hello(offer), ack, proof, ack2;
  ASSERT_TRUE(first.server_take_hello(bytes(hello), hello.size(), 0, 100, &got, &ack));
  ASSERT_TRUE(client.client_check_ack(bytes(ack), ack.size(), &fields, &proof));
  // The same hello and proof, replayed to a listener that picks its own nonce.
  ASSERT_TRUE(second.server_take_hello(bytes(hello), hello.size(), 0, 100, &got, &ack2));
  EXPECT_NE(ack, ack2);
  EXPECT_FALSE(second.server_check_proof(bytes(proof), proof.size()));
  EXPECT_NE(second.why().find("wrong proof"), std::string::npos);
}

TEST(AuthenticatorTest, MalformedMessagesAreRefused) {
  Authenticator server(secret("k")), client(secret("k"));
  HelloMessage offer, got;
  std::string plain = encode_hello(offer), ack;
  EXPECT_FALSE(server.server_take_hello(bytes(plain), plain.size(), 0, 100, &got, &ack));
  EXPECT_NE(server.why().find("no secret"), std::string::npos);
  std::string hello = client.client_hello(offer);
  EXPECT_FALSE(server.server_take_hello(bytes(hello), hello.size() - 1, 0, 100, &got, &ack));
  std::string proof;
  // An ack without the auth bit, and one cut short.
  EXPECT_FALSE(client.client_check_ack(bytes(plain), plain.size(), &got, &proof));
  EXPECT_NE(client.why().find("no secret"), std::string::npos);
  offer.features = kFeatureAuth;
  std::string short_ack = encode_hello(offer) + std::string(10, 'a');
  EXPECT_FALSE(client.client_check_ack(bytes(short_ack), short_ack.size(), &got, &proof));
}

class Recorder : public LinkSink {
 public:
  void on_accept(SocketId, Link &link, const std::string &) override { accepted.push_back(link.id()); }
  void on_connect(SocketId id, int status) override { connected[id] = status; }
  void on_frames(Link &, const Frame *frames, size_t n) override {
    for (size_t i = 0; i < n; i++) {
      payloads.emplace_back(reinterpret_cast<const char *>(frames[i].payload), frames[i].size);
    }
  }
  void on_timeout(Link &, uint32_t) override {}
  void on_close(Link &link, int status, const std::vector<uint32_t> &) override { closed[link.id()] = status; }

  std::vector<SocketId> accepted;
  std::map<SocketId, int> connected;
  std::vector<std::string> payloads;
  std::map<SocketId, int> closed;
};

class AuthLinkTest : public ::testing::Test {
 protected:
  AuthLinkTest() : sockets_(loop_), links_(loop_, sockets_, sink_) {}
  ~AuthLinkTest() override {
    for (int fd : raw_) close(fd);
  }

  template <class Pred>
  bool spin(Pred done, int max_ms = 10000) {
    for (int i = 0; i < max_ms && !done(); i++) loop_.run_once(1);
    return done();
  }
  LinkOptions with(const std::string &s, int handshake_ms = 5000) {
    LinkOptions o;
    if (!s.empty()) o.secret = secret(s);
    o.handshake_ms = handshake_ms;
    return o;
  }
  SockAddr listen(const LinkOptions &o) {
    SockAddr addr;
    parse_address("127.0.0.1:0", false, &addr);
    SocketId lid = links_.listen(addr, 16, o);
    EXPECT_GT(lid, 0);
    SockAddr to;
    parse_address(sockets_.local_address(lid), false, &to);
    return to;
  }
  int raw(const SockAddr &to) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_EQ(::connect(fd, to.get(), to.len), 0);
    raw_.push_back(fd);
    return fd;
  }
  // What the listener wrote to a raw peer so far, until it closed (true).
  bool drain(int fd, std::string *got, int max_ms = 10000) {
    return spin(
        [&] {
          char buf[4096];
          ssize_t n;
          while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) got->append(buf, static_cast<size_t>(n));
          return n == 0 || (n < 0 && errno != EAGAIN);
        },
        max_ms);
  }

  EventLoop loop_;
  SocketManager sockets_;
  Recorder sink_;
  LinkTable links_;
  std::vector<int> raw_;
};

TEST_F(AuthLinkTest, TheRightSecretConnectsAndCarriesCalls) {
  SockAddr to = listen(with("swordfish"));
  SocketId c = links_.connect(to, 5000, with("swordfish"));
  ASSERT_TRUE(spin([&] { return sink_.connected.count(c) != 0 && !sink_.accepted.empty(); }));
  ASSERT_EQ(sink_.connected[c], 0);
  EXPECT_NE(links_.find(c)->agreed() & kFeatureAuth, 0u);
  ASSERT_EQ(links_.find(c)->send(7, 0, "hi", 2), 0);
  ASSERT_EQ(links_.find(sink_.accepted[0])->send(8, 0, "back", 4), 0);
  ASSERT_TRUE(spin([&] { return sink_.payloads.size() == 2; }));
}

TEST_F(AuthLinkTest, AWrongOrMissingSecretIsRefusedAndNothingIsAccepted) {
  SockAddr to = listen(with("swordfish"));
  SocketId wrong = links_.connect(to, 5000, with("trout"));
  LinkOptions none;
  none.heartbeat_ms = 1000;  // speaks the hello, without a secret
  SocketId missing = links_.connect(to, 5000, none);
  ASSERT_TRUE(spin([&] { return sink_.connected.count(wrong) != 0 && sink_.connected.count(missing) != 0; }));
  EXPECT_EQ(sink_.connected[wrong], -EACCES);
  EXPECT_EQ(sink_.connected[missing], -EACCES);
  ASSERT_TRUE(spin([&] { return links_.link_count() == 0; }));
  EXPECT_TRUE(sink_.accepted.empty());
  // The other way round: a listener without a secret.
  SockAddr open = listen(LinkOptions{});
  SocketId asks = links_.connect(open, 5000, with("swordfish"));
  ASSERT_TRUE(spin([&] { return sink_.connected.count(asks) != 0; }));
  EXPECT_EQ(sink_.connected[asks], -EACCES);
}

TEST_F(AuthLinkTest, BaseWireSilentAndGarbagePeersAreClosed) {
  SockAddr to = listen(with("swordfish", 300));
  // A base-wire request as first frame.
  RingBuffer frame;
  append_request(frame, 1, 5, 0, "call", 4);
  std::string wire(frame.size(), '\0');
  frame.peek(wire.data(), wire.size());
  int base = raw(to);
  ASSERT_EQ(write(base, wire.data(), wire.size()), static_cast<ssize_t>(wire.size()));
  // A megabyte of garbage: refused at its first length field.
  int junk = raw(to);
  std::string mb(1 << 20, '\x7f');
  ASSERT_GT(send(junk, mb.data(), mb.size(), MSG_DONTWAIT), 0);
  // Nothing at all: closed at the handshake timeout.
  int silent = raw(to);
  std::string got;
  for (int fd : {base, junk, silent}) EXPECT_TRUE(drain(fd, &got));
  EXPECT_TRUE(sink_.accepted.empty());
  EXPECT_TRUE(sink_.payloads.empty());
  EXPECT_EQ(links_.link_count(), 0u);
}

TEST_F(AuthLinkTest, AReplayedExchangeIsRefused) {
  SockAddr to = listen(with("swordfish"));
  // A raw peer that knows the secret plays the connecting side by hand and
  // gets in; its bytes are kept.
  Authenticator a(secret("swordfish"));
  HelloMessage offer;
  std::string hello = a.client_hello(offer);
  RingBuffer out;
  append_request(out, 1, kHelloCmd, 0, hello.data(), hello.size());
  std::string first(out.size(), '\0');
  out.peek(first.data(), first.size());
  int honest = raw(to);
  ASSERT_EQ(write(honest, first.data(), first.size()), static_cast<ssize_t>(first.size()));
  RingBuffer in;
  Frame ack;
  std::string error;
  ASSERT_TRUE(spin([&] {
    char buf[512];
    ssize_t n = recv(honest, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) in.append(buf, static_cast<size_t>(n));
    return parse_frame(in, &ack, &error) == ParseStatus::kFrame;
  }));
  HelloMessage fields;
  std::string proof;
  ASSERT_TRUE(a.client_check_ack(ack.payload, ack.size, &fields, &proof)) << a.why();
  RingBuffer p;
  append_request(p, 2, kAuthCmd, 0, proof.data(), proof.size());
  std::string second(p.size(), '\0');
  p.peek(second.data(), second.size());
  ASSERT_EQ(write(honest, second.data(), second.size()), static_cast<ssize_t>(second.size()));
  ASSERT_TRUE(spin([&] { return sink_.accepted.size() == 1; }));

  // The recorded bytes, replayed on a new connection.
  int replay = raw(to);
  std::string both = first + second;
  ASSERT_EQ(write(replay, both.data(), both.size()), static_cast<ssize_t>(both.size()));
  std::string got;
  EXPECT_TRUE(drain(replay, &got));
  EXPECT_EQ(sink_.accepted.size(), 1u);
  EXPECT_TRUE(sink_.payloads.empty());
}

TEST_F(AuthLinkTest, ATlsClientOnAPlaintextPortIsNamedAndClosed) {
  SockAddr to = listen(LinkOptions{});
  // The first bytes of a TLS 1.3 ClientHello record.
  const uint8_t hello[] = {0x16, 0x03, 0x01, 0x00, 0xf0, 0x01, 0x00, 0x00, 0xec, 0x03, 0x03, 0x11, 0x22};
  int fd = raw(to);
  ASSERT_EQ(write(fd, hello, sizeof(hello)), static_cast<ssize_t>(sizeof(hello)));
  std::string got;
  EXPECT_TRUE(drain(fd, &got));
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(sink_.payloads.empty());
}

}  // namespace
}  // namespace cluster
}  // namespace silly
