// A raw-socket peer written from the wire layout alone (not with
// cluster/frame.h): it drives a real node process and checks every byte
// our frames carry, in both directions.
//   request:  [u16 BE len][payload][traceid u64 LE][cmd u32 LE][session u32 LE]
//   response: [u16 BE len][payload][session | 0x80000000 u32 LE]
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string runfile(const char *rel) {
  const char *root = std::getenv("TEST_SRCDIR");
  return std::string(root != nullptr ? root : ".") + "/silly/" + rel;
}

class WirePeer : public ::testing::Test {
 protected:
  void SetUp() override {
    int out[2];
    ASSERT_EQ(pipe(out), 0);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::string bin = runfile("silly"), script = runfile("tests/cluster/wire_node.lua");
      execl(bin.c_str(), bin.c_str(), script.c_str(), static_cast<char *>(nullptr));
      _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    char line[128] = {0};
    ASSERT_NE(fgets(line, sizeof(line), f), nullptr) << "node did not start";
    int port = 0;
    ASSERT_EQ(std::sscanf(line, "ready 127.0.0.1:%d", &port), 1) << line;
    fclose(f);
    port_ = port;
    dial();
  }
  void dial() {
    int port = port_;
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd_, reinterpret_cast<struct sockaddr *>(&a), sizeof(a)), 0);
    struct timeval tv {
      5, 0
    };
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  void TearDown() override {
    if (fd_ >= 0) close(fd_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  std::string read_exact(size_t n) {
    std::string s(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = read(fd_, &s[got], n - got);
      if (r <= 0) return s.substr(0, got);
      got += static_cast<size_t>(r);
    }
    return s;
  }
  // One whole frame: its body (payload and trailer), length checked.
  std::string read_frame() {
    std::string len = read_exact(2);
    EXPECT_EQ(len.size(), 2u);
    size_t n = static_cast<size_t>(static_cast<uint8_t>(len[0])) << 8 | static_cast<uint8_t>(len[1]);
    return read_exact(n);
  }
  void write_all(const std::string &s) { ASSERT_EQ(write(fd_, s.data(), s.size()), static_cast<ssize_t>(s.size())); }

  static std::string le(uint64_t v, int bytes) {
    std::string s;
    for (int i = 0; i < bytes; i++) s.push_back(static_cast<char>(v >> (8 * i)));
    return s;
  }
  static uint64_t from_le(const std::string &s, size_t at, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
    return v;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(WirePeer, FramesMatchTheLayoutInBothDirections) {
  // The node calls us first (on accept): a request frame.
  std::string req = read_frame();
  ASSERT_EQ(req.size(), 9u + 16u) << "payload 'from-node' plus the 16-byte trailer";
  EXPECT_EQ(req.substr(0, 9), "from-node");
  uint64_t trace = from_le(req, 9, 8);
  EXPECT_NE(trace, 0u) << "a call carries a trace id";
  EXPECT_EQ(from_le(req, 17, 4), 7u) << "cmd, little-endian";
  uint64_t session = from_le(req, 21, 4);
  EXPECT_EQ(session & 0x80000000u, 0u) << "bit 31 clear on requests";

  // Our answer: a response frame built by hand.
  std::string payload = "pong";
  std::string body = payload + le(session | 0x80000000u, 4);
  std::string frame = {static_cast<char>(body.size() >> 8), static_cast<char>(body.size() & 0xff)};
  write_all(frame + body);

  // The node reports what its call returned with a one-way send.
  std::string note = read_frame();
  ASSERT_EQ(note.size(), 8u + 16u);
  EXPECT_EQ(note.substr(0, 8), "got:pong");
  EXPECT_EQ(from_le(note, 8 + 8, 4), 8u);

  // Now we call the node, with our own trace id, split across writes.
  uint64_t our_trace = 0x1122334455667788ull;
  std::string req_payload = "hello";
  std::string req_body = req_payload + le(our_trace, 8) + le(3, 4) + le(42, 4);
  std::string req_frame =
      std::string{static_cast<char>(req_body.size() >> 8), static_cast<char>(req_body.size() & 0xff)} + req_body;
  EXPECT_EQ(req_frame.size(), 2u + 5u + 16u);
  write_all(req_frame.substr(0, 1));  // even the length split
  usleep(20000);
  write_all(req_frame.substr(1, 7));
  usleep(20000);
  write_all(req_frame.substr(8));
  std::string resp = read_frame();
  std::string want = "re:hello:1122334455667788";
  ASSERT_EQ(resp.size(), want.size() + 4);
  EXPECT_EQ(resp.substr(0, want.size()), want) << "the handler saw our payload and trace id";
  EXPECT_EQ(from_le(resp, want.size(), 4), 42u | 0x80000000u) << "session with bit 31 set";

  // Two requests in one write: both answered.
  std::string two;
  for (uint32_t s : {100u, 101u}) {
    std::string b = "x" + le(1, 8) + le(1, 4) + le(s, 4);
    two += std::string{static_cast<char>(b.size() >> 8), static_cast<char>(b.size() & 0xff)} + b;
  }
  write_all(two);
  std::string r1 = read_frame(), r2 = read_frame();
  EXPECT_EQ(from_le(r1, r1.size() - 4, 4), 100u | 0x80000000u);
  EXPECT_EQ(from_le(r2, r2.size() - 4, 4), 101u | 0x80000000u);
}

TEST_F(WirePeer, AMalformedFrameClosesOnlyThatLink) {
  read_frame();  // the node's call on accept; left unanswered
  // A request whose length (8) cannot hold its 16-byte trailer.
  write_all(std::string("\0\x08", 2) + std::string(8, '\x01'));
  char c;
  ssize_t r = read(fd_, &c, 1);
  while (r > 0) r = read(fd_, &c, 1);  // skip the node's one-way send
  EXPECT_EQ(r, 0) << "the node closed the link";
  // The node itself is fine: a new link gets the node's call as usual.
  close(fd_);
  dial();
  std::string req = read_frame();
  ASSERT_EQ(req.size(), 9u + 16u);
  EXPECT_EQ(req.substr(0, 9), "from-node");
}

}  // namespace
