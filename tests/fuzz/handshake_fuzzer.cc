// Fuzz target: cluster::Handshake, every role, fed frames a peer controls.
// The input's first byte picks the side (connecting or listening), whether
// it has a secret and what it offers; the rest is cut into base frames and
// fed to the machine while it runs, with an expiry after the last. Whatever
// comes, it must never crash, agree to a feature it did not offer, send
// bytes that are not whole frames, or come up with a secret it was never
// proven to share (the input cannot know the secret's HMAC).
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "silly/cluster/handshake.h"

namespace {

using namespace silly::cluster;

class NoDeadlines : public DeadlineScheduler {
 public:
  uint64_t schedule(int, uint32_t) override { return 1; }
  void cancel(uint64_t) override {}
};

void check_frames(const std::string &bytes) {
  size_t used = 0;
  std::string error;
  while (used < bytes.size()) {
    Frame f;
    if (parse_frame(reinterpret_cast<const uint8_t *>(bytes.data()) + used, bytes.size() - used, &f, &error) !=
        ParseStatus::kFrame) {
      std::abort();
    }
    used += f.wire_size;
  }
}

void check(const Handshake &h, const Handshake::Step &st, uint32_t offered) {
  check_frames(st.out);
  if ((h.agreement().features & ~offered) != 0) std::abort();
  if (st.result == Handshake::Result::kFail &&
      (st.why.empty() || (st.status != -EACCES && st.status != -ETIMEDOUT) || h.running())) {
    std::abort();
  }
  if (st.result == Handshake::Result::kUp && (offered & kFeatureAuth) != 0) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t pick = data[0];
  bool initiator = (pick & 1) != 0;
  bool secret = (pick & 2) != 0;
  HandshakeConfig config;
  config.features =
      ((pick >> 2) & (kFeatureHeartbeat | kFeatureLarge | kFeatureDeadline)) | (secret ? kFeatureAuth : 0);
  config.require_ack = (pick & 0x40) != 0;
  config.max_payload = 1u << 20;
  if (secret) config.secret = std::make_shared<const std::string>("fuzzing secret");
  NoDeadlines deadlines;
  SessionTable sessions(deadlines);
  Handshake h(initiator, config);
  Handshake::Step st = h.start(sessions);
  check_frames(st.out);
  size_t used = 1;
  std::string error;
  while (h.running()) {
    Frame f;
    if (parse_frame(data + used, size - used, &f, &error) != ParseStatus::kFrame) break;
    used += f.wire_size;
    st = h.take(f, sessions);
    check(h, st, config.features);
  }
  if (h.running()) check(h, h.expire(), config.features);
  return 0;
}
