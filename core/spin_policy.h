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
//
// Polling must never cost what blocking would not. Between two polls the
// loop yields its core (EventLoop::run_once), so a peer process on the same
// core, the one about to answer, runs at once instead of after the spin. A
// yield that comes back from a long absence (kDescheduledUs: the scheduler
// gave the core to something else for a slice) means the core is shared
// with work that does not end soon; a yield then costs a whole slice where
// a blocking wait would have been woken at the event. The loop stops
// polling and skips the next waits' polls, twice as many each time it
// happens again, until a streak of yields comes back at once.
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
  // A gap this long between two polls of one spin: the core went elsewhere.
  static constexpr int64_t kDescheduledUs = 500;
  // At most this many waits skip their poll after contention.
  static constexpr int kMaxSkip = 1024;
  // Yields in a row that came back at once before polling resumes in full.
  static constexpr int kCleanStreak = 64;

  // A fixed budget (the --sys.loop.spin_us override); -1: learned.
  void set_fixed(int us) { fixed_us_ = us; }
  // Microseconds to poll before the next blocking wait.
  int64_t budget() {
    if (fixed_us_ >= 0) return fixed_us_;
    if (skip_left_ > 0) {
      skip_left_--;
      return 0;
    }
    if (average_us_ >= kCapUs) return 0;
    return 2 * average_us_ < kCapUs ? 2 * average_us_ + 1 : kCapUs;
  }
  // A wait lasted gap_us until its first event (or all of it, with none).
  void record(int64_t gap_us) {
    if (gap_us > kSampleClampUs) gap_us = kSampleClampUs;
    average_us_ += (gap_us - average_us_) / 4;
  }
  // A yield came back at once. The scheduler may pick this process again
  // with a busy one waiting (that one used more than its share), so only a
  // streak of them says nothing else wants the core.
  void uncontended() {
    if (skip_ > 0 && ++clean_ >= kCleanStreak) skip_ = skip_left_ = 0;
  }
  // A yield came back after the core had gone elsewhere for a slice: stop
  // polling for a while (see the top of the file).
  void contended() {
    clean_ = 0;
    skip_ = skip_ == 0 ? 1 : (skip_ * 2 > kMaxSkip ? kMaxSkip : skip_ * 2);
    skip_left_ = skip_;
  }
  // How many waits skip their poll next time contention is seen (0: none
  // seen since the last clean success); for tests.
  int backoff() const { return skip_; }

 private:
  int fixed_us_ = -1;
  int skip_ = 0;
  int skip_left_ = 0;
  int clean_ = 0;                        // yields that came back at once since the last contention
  int64_t average_us_ = kSampleClampUs;  // cold: no polling until events come close
};

}  // namespace silly
