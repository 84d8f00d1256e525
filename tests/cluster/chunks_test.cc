// The extension pieces that parse what a peer sends: hello messages and
// chunk reassembly, against well-formed and hostile input.
#include "silly/cluster/chunks.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "silly/cluster/hello.h"

namespace silly {
namespace cluster {
namespace {

// A chunk frame as Link::on_data would hand it over.
Frame chunk(uint32_t session, uint64_t flags, const std::string &payload) {
  Frame f;
  f.cmd = kChunkCmd;
  f.session = session;
  f.traceid = flags;
  f.payload = reinterpret_cast<const uint8_t *>(payload.data());
  f.size = payload.size();
  return f;
}

TEST(Hello, RoundTripsAndRejectsWhatIsNotOne) {
  HelloMessage m;
  m.features = kFeatureHeartbeat | kFeatureLarge | (1u << 20);  // and a bit from the future
  m.max_payload = 1 << 24;
  std::string bytes = encode_hello(m);
  ASSERT_EQ(bytes.size(), kHelloSize);
  HelloMessage back;
  ASSERT_TRUE(decode_hello(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size(), &back));
  EXPECT_EQ(back.features, kFeatureHeartbeat | kFeatureLarge);  // unknown bits dropped
  EXPECT_EQ(back.max_payload, 1u << 24);
  std::string wrong = bytes;
  wrong[1] = 'X';
  EXPECT_FALSE(decode_hello(reinterpret_cast<const uint8_t *>(wrong.data()), wrong.size(), &back));
  wrong = bytes;
  wrong[kHelloMagicSize] = 2;  // a version this side does not know
  EXPECT_FALSE(decode_hello(reinterpret_cast<const uint8_t *>(wrong.data()), wrong.size(), &back));
  EXPECT_FALSE(decode_hello(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size() - 1, &back));
}

TEST(Reassembler, InterleavedMessagesComeOutWhole) {
  Reassembler r(1 << 20);
  std::string a1 = encode_chunk_header(6, 7, 99) + "abc", a2 = "def";
  std::string b1 = encode_chunk_header(2, 0, 0) + "xy";
  EXPECT_EQ(r.take(chunk(1, kChunkFirst, a1)), Reassembler::Result::kMore);
  ASSERT_EQ(r.take(chunk(1, kChunkFirst | kChunkLast | kChunkResponse, b1)), Reassembler::Result::kMessage);
  EXPECT_TRUE(r.message().response);
  EXPECT_EQ(r.release(), "xy");
  ASSERT_EQ(r.take(chunk(1, kChunkLast, a2)), Reassembler::Result::kMessage);
  EXPECT_FALSE(r.message().response);
  EXPECT_EQ(r.message().cmd, 7u);
  EXPECT_EQ(r.message().traceid, 99u);
  EXPECT_EQ(r.release(), "abcdef");
  EXPECT_EQ(r.open(), 0u);
}

TEST(Reassembler, LiesAboutSizesAreCaught) {
  Reassembler r(1000);
  std::string big = encode_chunk_header(1001, 1, 0) + "x";
  EXPECT_EQ(r.take(chunk(1, kChunkFirst, big)), Reassembler::Result::kTooLarge);
  std::string small = encode_chunk_header(4, 1, 0) + "abc";
  EXPECT_EQ(r.take(chunk(2, kChunkFirst, small)), Reassembler::Result::kMore);
  EXPECT_EQ(r.take(chunk(2, 0, "de")), Reassembler::Result::kTooLarge);  // 5 > 4
  std::string shorter = encode_chunk_header(10, 1, 0) + "abc";
  EXPECT_EQ(r.take(chunk(3, kChunkFirst, shorter)), Reassembler::Result::kMore);
  EXPECT_EQ(r.take(chunk(3, kChunkLast, "d")), Reassembler::Result::kMalformed);
  EXPECT_EQ(r.take(chunk(4, 0, "orphan")), Reassembler::Result::kMalformed);
  EXPECT_EQ(r.take(chunk(5, kChunkFirst, "short")), Reassembler::Result::kMalformed);
  EXPECT_LE(r.buffered(), 1000u);
}

TEST(Reassembler, AllOpenMessagesTogetherStayUnderTheLimit) {
  Reassembler r(100);
  std::string first = encode_chunk_header(80, 1, 0) + std::string(60, 'x');
  EXPECT_EQ(r.take(chunk(1, kChunkFirst, first)), Reassembler::Result::kMore);
  EXPECT_EQ(r.take(chunk(2, kChunkFirst, first)), Reassembler::Result::kTooLarge);  // 120 > 100
  EXPECT_LE(r.buffered(), 100u);
}

TEST(Reassembler, OpenMessagesAreBounded) {
  Reassembler r(1 << 20);
  std::string first = encode_chunk_header(100, 1, 0) + "x";
  for (uint32_t s = 0; s < kMaxOpenMessages; s++) {
    ASSERT_EQ(r.take(chunk(s, kChunkFirst, first)), Reassembler::Result::kMore);
  }
  EXPECT_EQ(r.take(chunk(9999, kChunkFirst, first)), Reassembler::Result::kMalformed);
  EXPECT_EQ(r.take(chunk(0, kChunkFirst, first)), Reassembler::Result::kMalformed);  // began twice
}

}  // namespace
}  // namespace cluster
}  // namespace silly
