#include "silly/cluster/hello.h"

#include <cstring>

namespace silly {
namespace cluster {

std::string encode_hello(const HelloMessage &m) {
  std::string out(kHelloMagic, kHelloMagicSize);
  out.push_back(static_cast<char>(m.version));
  for (uint32_t v : {m.features, m.max_payload}) {
    for (int i = 0; i < 4; i++) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  return out;
}

bool decode_hello(const uint8_t *payload, size_t size, HelloMessage *out) {
  if (size < kHelloSize || std::memcmp(payload, kHelloMagic, kHelloMagicSize) != 0) return false;
  const uint8_t *p = payload + kHelloMagicSize;
  if (p[0] != kHelloVersion) return false;
  auto u32 = [](const uint8_t *q) {
    return static_cast<uint32_t>(q[0]) | static_cast<uint32_t>(q[1]) << 8 | static_cast<uint32_t>(q[2]) << 16 |
           static_cast<uint32_t>(q[3]) << 24;
  };
  out->version = p[0];
  out->features = u32(p + 1) & kFeatureKnown;
  out->max_payload = u32(p + 5);
  out->tail = payload + kHelloSize;
  out->tail_size = size - kHelloSize;
  return true;
}

}  // namespace cluster
}  // namespace silly
