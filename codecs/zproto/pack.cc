#include "codecs/zproto/pack.h"

#include <cstring>

namespace zproto {

namespace {

// A raw group must have at least this many non-zero bytes.
constexpr int kDenseGroup = 6;

int nonzero(const uint8_t *g, size_t len) {
  int c = 0;
  for (size_t k = 0; k < len; k++) c += g[k] != 0;
  return c;
}

}  // namespace

void pack(const uint8_t *in, size_t n, std::vector<uint8_t> *out) {
  out->clear();
  out->reserve(n + 2 * (n / 2048 + 1) + 1);
  size_t i = 0;
  while (i < n) {
    size_t len = n - i < 8 ? n - i : 8;
    const uint8_t *g = in + i;
    uint8_t bitmap = 0;
    size_t at = out->size();
    out->push_back(0);
    for (size_t k = 0; k < len; k++) {
      if (g[k] != 0) {
        bitmap |= static_cast<uint8_t>(1u << k);
        out->push_back(g[k]);
      }
    }
    (*out)[at] = bitmap;
    i += len;
    if (bitmap != 0xff || len != 8 || i >= n) continue;
    // A full group opens a run of dense groups copied as they are.
    size_t count_at = out->size();
    out->push_back(0);
    unsigned count = 0;
    while (i < n) {
      size_t rlen = n - i < 8 ? n - i : 8;
      if (nonzero(in + i, rlen) < kDenseGroup) break;
      out->insert(out->end(), in + i, in + i + rlen);
      i += rlen;
      if (++count == 255) break;
    }
    (*out)[count_at] = static_cast<uint8_t>(count);
  }
}

bool unpack(const uint8_t *in, size_t n, std::vector<uint8_t> *out) {
  out->clear();
  out->reserve(n * 2 + 8);
  size_t i = 0;
  while (i < n) {
    uint8_t bitmap = in[i++];
    for (int k = 0; k < 8; k++) {
      if ((bitmap >> k) & 1) {
        if (i >= n) return false;
        out->push_back(in[i++]);
      } else {
        out->push_back(0);
      }
    }
    if (bitmap != 0xff || i >= n) continue;
    int64_t count = in[i++];
    if (i >= n) continue;  // a count with nothing after it is ignored
    int64_t left = static_cast<int64_t>(n - i);
    if (8 * (count - 1) > left) return false;
    int64_t want = 8 * count;
    int64_t take = want < left ? want : left;
    out->insert(out->end(), in + i, in + i + take);
    out->insert(out->end(), static_cast<size_t>(want - take), 0);
    i += static_cast<size_t>(take);
  }
  return true;
}

}  // namespace zproto
