// Fuzz target: what a peer on an extended link controls. The input is cut
// into base frames; each payload is offered as a hello, and each frame as a
// chunk to a reassembler with a small limit, which must never hold more
// than that limit in all, nor accept a message whose size differs from its
// header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "silly/cluster/chunks.h"
#include "silly/cluster/frame.h"
#include "silly/cluster/hello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace silly::cluster;
  constexpr size_t kLimit = 4096;
  Reassembler r(kLimit);
  size_t used = 0;
  std::string error;
  for (;;) {
    Frame f;
    if (parse_frame(data + used, size - used, &f, &error) != ParseStatus::kFrame) break;
    used += f.wire_size;
    HelloMessage hello;
    if (decode_hello(f.payload, f.size, &hello) && (hello.features & ~kFeatureKnown) != 0) std::abort();
    Reassembler::Result res = r.take(f);
    if (res == Reassembler::Result::kMessage) {
      const Frame &m = r.message();
      std::string bytes = r.release();
      if (bytes.size() != m.size || m.size > kLimit) std::abort();
    } else if (res == Reassembler::Result::kTooLarge || res == Reassembler::Result::kMalformed) {
      if (r.error().empty()) std::abort();
      break;  // the link would close here
    }
    if (r.buffered() > kLimit || r.open() > kMaxOpenMessages) std::abort();
  }
  return 0;
}
