// Fuzz target: the cluster frame parser fed in arbitrary chunks. The first
// input bytes choose the chunk sizes; the rest is the stream.
#include <cstddef>
#include <cstdint>
#include <string>

#include "silly/cluster/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t chunk = 1 + data[0] % 64;
  size_t step = 1 + data[1] % 7;
  data += 2;
  size -= 2;
  silly::RingBuffer in(64);
  size_t off = 0;
  while (off < size) {
    size_t n = chunk < size - off ? chunk : size - off;
    in.append(data + off, n);
    off += n;
    chunk = 1 + (chunk * 31 + step) % 97;
    for (;;) {
      silly::cluster::Frame f;
      std::string error;
      auto st = silly::cluster::parse_frame(in, &f, &error);
      if (st == silly::cluster::ParseStatus::kNeedMore) break;
      if (st == silly::cluster::ParseStatus::kMalformed) return 0;  // the link would close
      // Touch the whole payload: any out-of-bounds read shows up here.
      volatile uint8_t sum = 0;
      for (size_t i = 0; i < f.size; i++) sum = static_cast<uint8_t>(sum + f.payload[i]);
      if (f.wire_size != silly::cluster::kLengthSize + f.size + (f.response ? 4 : 16)) __builtin_trap();
      in.consume(f.wire_size);
    }
  }
  return 0;
}
