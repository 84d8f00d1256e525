// How long the loop polls without waiting before it blocks.
//
// Waking a blocked thread costs tens of microseconds on some machines
// (virtual ones especially), more than a whole round trip of a call between
// two nodes on one host. So the loop polls for a while before it blocks,
// but only when events have recently come close together: it keeps a
// moving average of how long each wait lasted (until the first event, or
// the whole wait when none came) and polls for up to twice that, never
// longer than kCapUs, when the average is under the cap. An idle node, or
// one serving a slow trickle, sees long waits and never polls; a node in a
// chain of calls sees short ones and stays awake between them. Like Aeron's
// backoff idle strategy, but with the budget learned from the traffic.
#pragma once

#include <cstdint>

namespace silly {

class SpinPolicy {
 public:
  // Waits longer than this average never spin; no spin is longer.
  static constexpr int64_t kCapUs = 200;
  // One long idle wait counts as this much, so that a burst after it
  // starts spinning again within a dozen short waits.
  static constexpr int64_t kSampleClampUs = 10000;

  // A fixed budget (the --sys.loop.spin_us override); -1: learned.
  void set_fixed(int us) { fixed_us_ = us; }
  // Microseconds to poll before the next blocking wait.
  int64_t budget() const {
    if (fixed_us_ >= 0) return fixed_us_;
    if (average_us_ >= kCapUs) return 0;
    return 2 * average_us_ < kCapUs ? 2 * average_us_ + 1 : kCapUs;
  }
  // A wait lasted gap_us until its first event (or all of it, with none).
  void record(int64_t gap_us) {
    if (gap_us > kSampleClampUs) gap_us = kSampleClampUs;
    average_us_ += (gap_us - average_us_) / 4;
  }

 private:
  int fixed_us_ = -1;
  int64_t average_us_ = kSampleClampUs;  // cold: no polling until events come close
};

}  // namespace silly
