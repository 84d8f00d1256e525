#include "silly/cluster/frame.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace silly {
namespace cluster {
namespace {

std::string bytes(const RingBuffer &rb) {
  std::string s(rb.size(), '\0');
  rb.peek(s.data(), s.size());
  return s;
}

std::string hex(const std::string &s) {
  static const char *d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

TEST(Frame, RequestBytesMatchTheWireLayout) {
  RingBuffer rb;
  ASSERT_TRUE(append_request(rb, 0x01020304, 0x0a0b0c0d, 0x1122334455667788ull, "hi", 2));
  // length 18 big-endian, payload, traceid LE, cmd LE, session LE
  EXPECT_EQ(hex(bytes(rb)),
            "0012"
            "6869"
            "8877665544332211"
            "0d0c0b0a"
            "04030201");
}

TEST(Frame, ResponseBytesMatchTheWireLayout) {
  RingBuffer rb;
  ASSERT_TRUE(append_response(rb, 5, "ok", 2));
  EXPECT_EQ(hex(bytes(rb)),
            "0006"
            "6f6b"
            "05000080");
}

TEST(Frame, SizeLimits) {
  std::string big(kMaxRequestPayload, 'x');
  RingBuffer rb;
  EXPECT_TRUE(append_request(rb, 1, 1, 1, big.data(), big.size()));
  EXPECT_EQ(rb.at(0), 0xff);
  EXPECT_EQ(rb.at(1), 0xff);
  std::string too_big(kMaxRequestPayload + 1, 'x');
  EXPECT_FALSE(append_request(rb, 1, 1, 1, too_big.data(), too_big.size()));
  std::string resp(kMaxResponsePayload, 'y');
  EXPECT_TRUE(append_response(rb, 1, resp.data(), resp.size()));
  resp.push_back('y');
  EXPECT_FALSE(append_response(rb, 1, resp.data(), resp.size()));
  FrameParts parts;
  EXPECT_FALSE(make_request(1, 1, 1, 65520, &parts));
  EXPECT_FALSE(make_response(1, 65532, &parts));
}

struct Sent {
  bool response;
  uint32_t session, cmd;
  uint64_t trace;
  std::string payload;
};

std::vector<Sent> sample() {
  return {
      {false, 1, 7, 0xdeadbeefcafef00dull, "first request"},
      {true, 1, 0, 0, "its response"},
      {false, 0x7fffffff, 0xffffffff, 0, ""},
      {true, 0x7fffffff, 0, 0, ""},
      {false, 42, 3, 9, std::string(3000, 'z')},
  };
}

std::string encode_all(const std::vector<Sent> &frames) {
  RingBuffer rb;
  for (auto &f : frames) {
    if (f.response) {
      append_response(rb, f.session, f.payload.data(), f.payload.size());
    } else {
      append_request(rb, f.session, f.cmd, f.trace, f.payload.data(), f.payload.size());
    }
  }
  return bytes(rb);
}

void expect_frames(RingBuffer &in, std::vector<Frame> *got, std::vector<std::string> *payloads) {
  for (;;) {
    Frame f;
    std::string err;
    ParseStatus st = parse_frame(in, &f, &err);
    ASSERT_NE(st, ParseStatus::kMalformed) << err;
    if (st == ParseStatus::kNeedMore) return;
    got->push_back(f);
    payloads->emplace_back(reinterpret_cast<const char *>(f.payload), f.size);
    in.consume(f.wire_size);
  }
}

// Every split point of a stream of several frames, as two reads, and the
// stream fed one byte at a time.
TEST(Frame, ParsesEveryFragmentation) {
  auto frames = sample();
  std::string wire = encode_all(frames);
  auto check = [&](const std::vector<Frame> &got, const std::vector<std::string> &payloads) {
    ASSERT_EQ(got.size(), frames.size());
    for (size_t i = 0; i < frames.size(); i++) {
      EXPECT_EQ(got[i].response, frames[i].response);
      EXPECT_EQ(got[i].session, frames[i].session);
      EXPECT_EQ(payloads[i], frames[i].payload);
      if (!frames[i].response) {
        EXPECT_EQ(got[i].cmd, frames[i].cmd);
        EXPECT_EQ(got[i].traceid, frames[i].trace);
      }
    }
  };
  for (size_t split = 0; split <= wire.size(); split++) {
    RingBuffer in(64);  // small: frames straddle the wrap
    std::vector<Frame> got;
    std::vector<std::string> payloads;
    in.append(wire.data(), split);
    expect_frames(in, &got, &payloads);
    in.append(wire.data() + split, wire.size() - split);
    expect_frames(in, &got, &payloads);
    check(got, payloads);
    EXPECT_TRUE(in.empty());
  }
  RingBuffer in;
  std::vector<Frame> got;
  std::vector<std::string> payloads;
  for (char c : wire) {
    in.append(&c, 1);
    expect_frames(in, &got, &payloads);
  }
  check(got, payloads);
}

TEST(Frame, LengthShorterThanAnyTrailerIsMalformedAtOnce) {
  for (int len = 0; len < 4; len++) {
    RingBuffer in;
    uint8_t hdr[2] = {0, static_cast<uint8_t>(len)};
    in.append(hdr, 2);  // nothing after the length: still rejected
    Frame f;
    std::string err;
    EXPECT_EQ(parse_frame(in, &f, &err), ParseStatus::kMalformed) << len;
    EXPECT_NE(err.find("shorter"), std::string::npos);
  }
}

TEST(Frame, RequestShorterThanItsTrailerIsMalformed) {
  // Bodies of 4..15 bytes with bit 31 clear: the original read these out of
  // bounds.
  for (int len = 4; len < 16; len++) {
    RingBuffer in;
    std::string wire;
    wire.push_back(0);
    wire.push_back(static_cast<char>(len));
    wire.append(static_cast<size_t>(len), '\0');
    in.append(wire.data(), wire.size());
    Frame f;
    std::string err;
    EXPECT_EQ(parse_frame(in, &f, &err), ParseStatus::kMalformed) << len;
  }
}

TEST(Frame, ShortResponseIsValid) {
  RingBuffer in;
  const uint8_t wire[] = {0, 4, 9, 0, 0, 0x80};
  in.append(wire, sizeof(wire));
  Frame f;
  std::string err;
  ASSERT_EQ(parse_frame(in, &f, &err), ParseStatus::kFrame);
  EXPECT_TRUE(f.response);
  EXPECT_EQ(f.session, 9u);
  EXPECT_EQ(f.size, 0u);
}

TEST(Frame, LengthLargerThanWhatFollowsWaits) {
  RingBuffer in;
  const uint8_t wire[] = {0xff, 0xff, 1, 2, 3};
  in.append(wire, sizeof(wire));
  Frame f;
  std::string err;
  EXPECT_EQ(parse_frame(in, &f, &err), ParseStatus::kNeedMore);
}

TEST(Frame, MaxSizedFramesRoundTrip) {
  RingBuffer in;
  std::string big(kMaxRequestPayload, 'r');
  std::string big_resp(kMaxResponsePayload, 's');
  append_request(in, 3, 4, 5, big.data(), big.size());
  append_response(in, 3, big_resp.data(), big_resp.size());
  Frame f;
  std::string err;
  ASSERT_EQ(parse_frame(in, &f, &err), ParseStatus::kFrame);
  EXPECT_EQ(f.size, big.size());
  EXPECT_EQ(f.wire_size, 65537u);
  in.consume(f.wire_size);
  ASSERT_EQ(parse_frame(in, &f, &err), ParseStatus::kFrame);
  EXPECT_TRUE(f.response);
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(f.payload), f.size), big_resp);
}

}  // namespace
}  // namespace cluster
}  // namespace silly
