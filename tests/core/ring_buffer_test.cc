#include "silly/core/ring_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace silly {
namespace {

std::string drain(RingBuffer &rb) {
  std::string s(rb.size(), '\0');
  rb.peek(s.data(), s.size());
  rb.consume(s.size());
  return s;
}

TEST(RingBuffer, AppendPeekConsume) {
  RingBuffer rb;
  EXPECT_TRUE(rb.empty());
  rb.append("hello", 5);
  rb.append(" world", 6);
  EXPECT_EQ(rb.size(), 11u);
  char buf[5];
  EXPECT_EQ(rb.peek(buf, 5, 6), 5u);
  EXPECT_EQ(std::string(buf, 5), "world");
  rb.consume(6);
  EXPECT_EQ(drain(rb), "world");
  EXPECT_TRUE(rb.empty());
}

TEST(RingBuffer, WrapsAroundAndGrowsKeepingOrder) {
  RingBuffer rb(64);
  std::string expect;
  unsigned char next = 0;
  // Interleave writes and partial reads so positions wrap many times.
  for (int round = 0; round < 500; round++) {
    std::string chunk;
    for (int i = 0; i < 37 + round % 50; i++) chunk.push_back(static_cast<char>(next++));
    rb.append(chunk.data(), chunk.size());
    expect += chunk;
    size_t take = expect.size() / 2;
    std::string got(take, '\0');
    rb.peek(got.data(), take);
    rb.consume(take);
    ASSERT_EQ(got, expect.substr(0, take));
    expect.erase(0, take);
  }
  EXPECT_EQ(drain(rb), expect);
}

TEST(RingBuffer, SpansCoverExactlyTheReadableBytes) {
  RingBuffer rb(64);
  std::string a(40, 'a');
  rb.append(a.data(), a.size());
  rb.consume(30);
  std::string b(40, 'b');  // wraps past the end of the 64-byte ring
  rb.append(b.data(), b.size());
  struct iovec iov[2];
  int n = rb.readable_spans(iov);
  ASSERT_EQ(n, 2);
  EXPECT_EQ(iov[0].iov_len + iov[1].iov_len, 50u);
  std::string joined(static_cast<char *>(iov[0].iov_base), iov[0].iov_len);
  joined.append(static_cast<char *>(iov[1].iov_base), iov[1].iov_len);
  EXPECT_EQ(joined, std::string(10, 'a') + b);
}

TEST(RingBuffer, WritableSpansThenCommit) {
  RingBuffer rb;
  struct iovec iov[2];
  int n = rb.writable_spans(100, iov);
  ASSERT_GE(n, 1);
  ASSERT_GE(iov[0].iov_len, 100u);
  std::memcpy(iov[0].iov_base, "0123456789", 10);
  rb.commit(10);
  EXPECT_EQ(drain(rb), "0123456789");
}

TEST(RingBuffer, FindDelimiterAcrossTheWrap) {
  RingBuffer rb(64);
  std::string pad(60, 'x');
  rb.append(pad.data(), pad.size());
  rb.consume(60);
  rb.append("abc\r\ndef", 8);  // "\r\n" straddles the wrap point
  EXPECT_EQ(rb.find("\r\n", 2), 3);
  EXPECT_EQ(rb.find("zz", 2), -1);
  EXPECT_EQ(rb.find("def", 3, 4), 5);
}

TEST(RingBuffer, LinearizeJoinsAWrappedFrame) {
  RingBuffer rb(64);
  std::string pad(60, 'x');
  rb.append(pad.data(), pad.size());
  rb.consume(60);
  rb.append("0123456789", 10);
  const uint8_t *p = rb.linearize(10);
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(p), 10), "0123456789");
  EXPECT_EQ(rb.size(), 10u);
}

}  // namespace
}  // namespace silly
