// TLS streams through the socket layer, with certificates made by the real
// openssl tool at test time.
#include "silly/core/tls.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "silly/core/event_loop.h"
#include "silly/core/socket.h"

namespace silly {
namespace {

std::string cert_dir() {
  static std::string dir = [] {
    const char *tmp = std::getenv("TEST_TMPDIR");
    std::string d = std::string(tmp != nullptr ? tmp : "/tmp") + "/tls_test_certs";
    std::string cmd = "tests/tls/make_certs.sh " + d;
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return d;
  }();
  return dir;
}

std::string file(const std::string &name) {
  return cert_dir() + "/" + name;
}

class Recorder : public SocketOwner {
 public:
  explicit Recorder(SocketManager &sm) : sm_(sm) {}
  void on_accept(SocketId, SocketId conn, const std::string &) override { accepted.push_back(conn); }
  void on_connect(SocketId id, int err) override {
    connected[id] = err;
    if (err != 0) failure[id] = sm_.last_failure();
    if (err == 0 && close_on_connect) sm_.close(id);
  }
  void on_data(SocketId id, RingBuffer &in) override {
    std::string s(in.size(), '\0');
    in.peek(s.data(), s.size());
    in.consume(s.size());
    received[id] += s;
    if (echo) sm_.send(id, s.data(), s.size());
  }
  void on_close(SocketId id, int err) override {
    closed[id] = err;
    if (err == kErrTls) failure[id] = sm_.last_failure();
  }

  SocketManager &sm_;
  bool echo = false;
  bool close_on_connect = false;
  std::vector<SocketId> accepted;
  std::map<SocketId, int> connected;
  std::map<SocketId, std::string> received;
  std::map<SocketId, int> closed;
  std::map<SocketId, std::string> failure;
};

TlsConfig server_config(const std::string &cert = "server") {
  TlsConfig c;
  c.server = true;
  c.cert = file(cert + ".pem");
  c.key = file(cert + ".key");
  return c;
}

TlsConfig client_config(const std::string &ca = "ca") {
  TlsConfig c;
  c.ca = file(ca + ".pem");
  c.servername = "localhost";
  return c;
}

std::shared_ptr<TlsContext> context(const TlsConfig &c) {
  std::string error;
  auto ctx = TlsContext::create(c, &error);
  EXPECT_NE(ctx, nullptr) << error;
  return ctx;
}

SockAddr loopback(int port) {
  SockAddr a;
  parse_address("127.0.0.1:" + std::to_string(port), false, &a);
  return a;
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() : sockets_(loop_), server_(sockets_), client_(sockets_) { server_.echo = true; }

  template <class Pred>
  bool spin(Pred done, int max_ms = 10000) {
    for (int i = 0; i < max_ms && !done(); i++) loop_.run_once(1);
    return done();
  }
  // A TLS listener on a kernel-chosen port; returns the port.
  int listen(const TlsConfig &config) {
    SocketId l = sockets_.listen(loopback(0), 64, &server_, context(config));
    EXPECT_GT(l, 0);
    std::string local = sockets_.local_address(l);
    return std::stoi(local.substr(local.rfind(':') + 1));
  }
  SocketId connect(int port, const TlsConfig &config) {
    SocketId id = sockets_.connect(loopback(port), nullptr, 0, &client_, context(config));
    EXPECT_GT(id, 0);
    return id;
  }
  // A plain TCP socket outside the loop, connected to port.
  int raw_client(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<struct sockaddr *>(&a), sizeof(a)), 0);
    return fd;
  }

  EventLoop loop_;
  SocketManager sockets_;
  Recorder server_;
  Recorder client_;
};

TEST_F(TlsTest, EchoesAfterTheHandshakeAndTheOwnerMeetsOnlyEstablishedStreams) {
  int port = listen(server_config());
  SocketId c = connect(port, client_config());
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(spin([&] { return client_.connected.count(c) != 0; }));
  ASSERT_EQ(client_.connected[c], 0) << client_.failure[c];
  // Under TLS 1.3 the client is done first; the server's owner hears of the
  // stream once the client's Finished arrived.
  ASSERT_TRUE(spin([&] { return server_.accepted.size() == 1; }));
  ASSERT_EQ(sockets_.send(c, big.data(), big.size()), 0);
  ASSERT_TRUE(spin([&] { return client_.received[c].size() >= big.size(); }));
  EXPECT_EQ(client_.received[c], big);
  // A local close says close_notify: the peer sees an orderly end.
  sockets_.close(c);
  SocketId s = server_.accepted[0];
  ASSERT_TRUE(spin([&] { return server_.closed.count(s) != 0; }));
  EXPECT_EQ(server_.closed[s], 0);
}

// The client's Finished and its close_notify leave in one write, so the
// server's handshake completes and the session ends in the same read: the
// owner still meets the stream, then its end, and nothing is left behind.
TEST_F(TlsTest, AClientThatClosesRightAfterItsHandshakeIsStillAcceptedThenClosed) {
  int port = listen(server_config());
  client_.close_on_connect = true;
  size_t before = sockets_.count();
  SocketId c = connect(port, client_config());
  ASSERT_TRUE(spin([&] { return client_.connected.count(c) != 0; }));
  ASSERT_EQ(client_.connected[c], 0) << client_.failure[c];
  ASSERT_TRUE(spin([&] { return server_.accepted.size() == 1; }));
  SocketId s = server_.accepted[0];
  ASSERT_TRUE(spin([&] { return server_.closed.count(s) != 0; }));
  EXPECT_EQ(server_.closed[s], 0);  // an orderly end
  sockets_.close(s);
  ASSERT_TRUE(spin([&] { return sockets_.count() == before; }));
}

TEST_F(TlsTest, BytesQueuedBeforeTheHandshakeEndsLeaveAfterIt) {
  int port = listen(server_config());
  SocketId c = connect(port, client_config());
  ASSERT_EQ(sockets_.send(c, "early", 5), 0);
  ASSERT_TRUE(spin([&] { return client_.received[c] == "early"; }));
}

TEST_F(TlsTest, UnknownCertificateAuthorityIsRefusedWithItsReason) {
  int port = listen(server_config());
  SocketId c = connect(port, client_config("other_ca"));
  ASSERT_TRUE(spin([&] { return client_.connected.count(c) != 0; }));
  EXPECT_EQ(client_.connected[c], kErrTls);
  EXPECT_NE(client_.failure[c].find("certificate verify failed"), std::string::npos) << client_.failure[c];
  EXPECT_TRUE(server_.accepted.empty());
}

TEST_F(TlsTest, ExpiredCertificateIsRefused) {
  int port = listen(server_config("expired"));
  SocketId c = connect(port, client_config());
  ASSERT_TRUE(spin([&] { return client_.connected.count(c) != 0; }));
  EXPECT_EQ(client_.connected[c], kErrTls);
  EXPECT_NE(client_.failure[c].find("certificate has expired"), std::string::npos) << client_.failure[c];
}

TEST_F(TlsTest, WrongServerNameIsRefused) {
  int port = listen(server_config());
  TlsConfig cc = client_config();
  cc.servername = "battle.example";
  SocketId c = connect(port, cc);
  ASSERT_TRUE(spin([&] { return client_.connected.count(c) != 0; }));
  EXPECT_EQ(client_.connected[c], kErrTls);
  EXPECT_NE(client_.failure[c].find("hostname mismatch"), std::string::npos) << client_.failure[c];
}

TEST_F(TlsTest, MutualTlsAcceptsSignedClientsOnly) {
  TlsConfig sc = server_config();
  sc.ca = file("ca.pem");
  int port = listen(sc);
  TlsConfig good = client_config();
  good.cert = file("client.pem");
  good.key = file("client.key");
  SocketId ok = connect(port, good);
  ASSERT_TRUE(spin([&] { return client_.connected.count(ok) != 0; }));
  ASSERT_EQ(client_.connected[ok], 0) << client_.failure[ok];
  ASSERT_EQ(sockets_.send(ok, "hi", 2), 0);
  ASSERT_TRUE(spin([&] { return client_.received[ok] == "hi"; }));
  EXPECT_EQ(server_.accepted.size(), 1u);

  // Without a certificate, and with one of another CA: the server refuses
  // (under TLS 1.3 the client may finish first and learn it on its read).
  TlsConfig stranger = client_config();
  stranger.cert = file("stranger.pem");
  stranger.key = file("stranger.key");
  for (const TlsConfig &cc : {client_config(), stranger}) {
    SocketId c = connect(port, cc);
    ASSERT_TRUE(spin([&] {
      return (client_.connected.count(c) != 0 && client_.connected[c] != 0) || client_.closed.count(c) != 0;
    }));
    int code = client_.connected[c] != 0 ? client_.connected[c] : client_.closed[c];
    EXPECT_EQ(code, kErrTls);
    EXPECT_NE(client_.failure[c].find("alert"), std::string::npos) << client_.failure[c];
    sockets_.close(c);
  }
  EXPECT_EQ(server_.accepted.size(), 1u);
}

TEST_F(TlsTest, PlaintextPeerAndGarbageAreClosedWithoutReachingTheOwner) {
  int port = listen(server_config());
  size_t before = sockets_.count();
  int plain = raw_client(port);
  std::string request = "GET / HTTP/1.0\r\n\r\n";
  ASSERT_EQ(write(plain, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  int garbage = raw_client(port);
  std::string junk(1 << 20, '\x16');
  ssize_t sent = write(garbage, junk.data(), 65536);  // the rest may never be read
  ASSERT_GT(sent, 0);
  // Each is answered with an alert and the end; neither hangs.
  for (int fd : {plain, garbage}) {
    fcntl(fd, F_SETFL, O_NONBLOCK);
    ASSERT_TRUE(spin([&] {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) {
      }
      return n == 0 || (n < 0 && errno != EAGAIN);
    }));
  }
  ASSERT_TRUE(spin([&] { return sockets_.count() == before; }));
  EXPECT_TRUE(server_.accepted.empty());
  close(plain);
  close(garbage);
}

TEST_F(TlsTest, StalledPeersAreClosedAtTheHandshakeTimeout) {
  TlsConfig sc = server_config();
  sc.handshake_timeout_ms = 200;
  int port = listen(sc);
  size_t before = sockets_.count();
  int silent = raw_client(port);
  ASSERT_TRUE(spin([&] { return sockets_.count() == before + 1; }));
  ASSERT_TRUE(spin([&] { return sockets_.count() == before; }));
  char buf[16];
  EXPECT_EQ(read(silent, buf, sizeof(buf)), 0);
  close(silent);

  // And a TLS client whose server never answers: its connect fails.
  int mute = socket(AF_INET, SOCK_STREAM, 0);
  SockAddr a = loopback(0);
  ASSERT_EQ(bind(mute, a.get(), a.len), 0);
  ASSERT_EQ(::listen(mute, 8), 0);
  SockAddr bound;
  bound.len = sizeof(bound.storage);
  getsockname(mute, reinterpret_cast<struct sockaddr *>(&bound.storage), &bound.len);
  std::string local = format_address(bound.get());
  TlsConfig cc = client_config();
  cc.handshake_timeout_ms = 200;
  SocketId c = connect(std::stoi(local.substr(local.rfind(':') + 1)), cc);
  ASSERT_TRUE(spin([&] { return client_.connected.count(c) != 0; }));
  EXPECT_EQ(client_.connected[c], kErrTls);
  EXPECT_EQ(client_.failure[c], "TLS handshake timed out");
  close(mute);
}

TEST_F(TlsTest, MissingFilesAreNamedAtCreation) {
  TlsConfig c = server_config();
  c.key = file("nowhere.key");
  std::string error;
  EXPECT_EQ(TlsContext::create(c, &error), nullptr);
  EXPECT_NE(error.find("nowhere.key"), std::string::npos) << error;
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
  c = server_config();
  c.key = file("client.key");
  EXPECT_EQ(TlsContext::create(c, &error), nullptr);
  EXPECT_NE(error.find("mismatch"), std::string::npos) << error;
  c.cert.clear();
  c.key.clear();
  EXPECT_EQ(TlsContext::create(c, &error), nullptr);
  EXPECT_NE(error.find("needs cert and key"), std::string::npos) << error;
}

TEST_F(TlsTest, ReloadServesNewCertificatesToNewStreams) {
  std::string copy = "cp " + file("expired.pem") + " " + file("reload.pem") + " && cp " + file("expired.key") + " " +
                     file("reload.key");
  ASSERT_EQ(std::system(copy.c_str()), 0);
  TlsConfig sc = server_config("reload");
  auto ctx = context(sc);
  SocketId l = sockets_.listen(loopback(0), 64, &server_, ctx);
  std::string local = sockets_.local_address(l);
  int port = std::stoi(local.substr(local.rfind(':') + 1));
  SocketId before = connect(port, client_config());
  ASSERT_TRUE(spin([&] { return client_.connected.count(before) != 0; }));
  EXPECT_EQ(client_.connected[before], kErrTls);
  // The files change under the same names; reload picks them up.
  std::string cmd =
      "cp " + file("server.pem") + " " + file("reload.pem") + " && cp " + file("server.key") + " " + file("reload.key");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string error;
  ASSERT_EQ(ctx->reload(&error), 0) << error;
  SocketId after = connect(port, client_config());
  ASSERT_TRUE(spin([&] { return client_.connected.count(after) != 0; }));
  EXPECT_EQ(client_.connected[after], 0) << client_.failure[after];
}

}  // namespace
}  // namespace silly
