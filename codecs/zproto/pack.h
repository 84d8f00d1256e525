// zproto's zero-byte compression: groups of 8 bytes become a bitmap of the
// non-zero ones followed by those bytes; runs of dense groups are copied
// verbatim behind a count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace zproto {

// Replaces *out with the packed form of [in, in+n).
void pack(const uint8_t *in, size_t n, std::vector<uint8_t> *out);
// Replaces *out with the unpacked bytes (a multiple of 8); false on
// malformed input, with *out unspecified.
bool unpack(const uint8_t *in, size_t n, std::vector<uint8_t> *out);

}  // namespace zproto
