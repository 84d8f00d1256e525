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
// Polling must never cost what blocking would not. When the process that
// will send the next event shares this core (two nodes on one core), the
// poll keeps it from running: the event comes only once the poll gives up
// and blocks, and then at once. That is what the loop watches for: a poll
// that used its whole budget, followed by an event within kStarvedUs of
// blocking, kStrikes times in a row. Each time, the next waits skip their poll, twice as many as the
// last time (up to kMaxSkip), until a streak of polls find their events. A busy process
// of another program on the same core is different: the poll competes with
// it for the core as blocking would, and finds its events, so it goes on.
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
  // An event this soon after a fruitless poll gave up: the poll held it.
  static constexpr int64_t kStarvedUs = 400;
  // Polls in a row that held their event before the loop backs off: an
  // answer that just missed a poll on an idle machine is not a sign.
  static constexpr int kStrikes = 2;
  // At most this many waits skip their poll after holding an event.
  static constexpr int kMaxSkip = 1024;
  // Polls in a row that found their event before polling resumes in full.
  static constexpr int kFoundStreak = 32;

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
  // A poll found its event. A sender on this core sometimes gets to run
  // during a poll (the scheduler's tick), so only a streak of these ends
  // the backoff.
  void found() {
    strikes_ = 0;
    if (skip_ > 0 && ++found_ >= kFoundStreak) skip_ = found_ = 0;
  }
  // A poll used its budget and the event came kStarvedUs or less after
  // blocking: stop polling for a while (see the top of the file).
  void starved() {
    found_ = 0;
    if (++strikes_ < kStrikes) return;  // once may be chance
    skip_ = skip_ == 0 ? 1 : (skip_ * 2 > kMaxSkip ? kMaxSkip : skip_ * 2);
    skip_left_ = skip_;
  }
  // How many waits skip their poll after the next starved() is this
  // doubled (0: none since the last poll that found its event); for tests.
  int backoff() const { return skip_; }

 private:
  int fixed_us_ = -1;
  int skip_ = 0;
  int skip_left_ = 0;
  int found_ = 0;                        // polls that found their event since the last starved()
  int strikes_ = 0;                      // starved() calls since a poll last found its event
  int64_t average_us_ = kSampleClampUs;  // cold: no polling until events come close
};

}  // namespace silly
