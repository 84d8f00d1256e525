// A link's clocks (cluster/deadlines.h arms them): the heartbeat, the
// wait of the handshake, and the bound on a frame left unfinished.
#include <cerrno>

#include "silly/cluster/link.h"
#include "silly/core/clock.h"
#include "silly/core/log.h"

namespace silly {
namespace cluster {

void Link::on_deadline(LinkClock clock) {
  switch (clock) {
    case LinkClock::kHandshake:
      handshake_clock_ = 0;
      apply(handshake_.expire());
      return;
    case LinkClock::kHeartbeat:
      heartbeat_ = 0;
      heartbeat();
      return;
    case LinkClock::kFrame:
      frame_clock_ = 0;
      frame_deadline();
      return;
  }
}

void Link::note_partial(bool progress, size_t left) {
  if (left == 0) {
    partial_since_us_ = 0;  // a clock still armed finds nothing when it fires
    return;
  }
  // A frame finished in this read: what is left began with this read.
  if (progress || partial_since_us_ == 0) partial_since_us_ = last_heard_us_;
  if (frame_timeout_ms_ > 0 && frame_clock_ == 0) {
    frame_clock_ = ctx_.deadlines.arm(id_, LinkClock::kFrame, frame_timeout_ms_);
  }
}

void Link::frame_deadline() {
  if (partial_since_us_ == 0) return;
  int64_t waited_ms = (monotonic_us() - partial_since_us_) / 1000;
  if (waited_ms < frame_timeout_ms_) {  // begun after the clock was armed
    frame_clock_ = ctx_.deadlines.arm(id_, LinkClock::kFrame, static_cast<int>(frame_timeout_ms_ - waited_ms));
    return;
  }
  log_line(LogLevel::kWarn, "[cluster] link %lld: a frame left unfinished for %lld ms, closing it",
           static_cast<long long>(id_), static_cast<long long>(waited_ms));
  end(-ETIMEDOUT);
}

void Link::heartbeat() {
  int64_t silent_ms = idle_ms();
  uint32_t agreed = handshake_.agreement().features;
  // Judged only where a silence means something: the peer agreed to answer
  // pings, or it has sent nothing at all since we connected and calls wait
  // on it (an idle link to a node that knows no hello is not dead).
  bool judged = (agreed & kFeatureHeartbeat) != 0 || (initiator_ && !heard_ && pending() > 0);
  if (ping_unanswered_) stats_.pings_missed++;
  ping_unanswered_ = false;
  if (judged && silent_ms >= 3 * static_cast<int64_t>(heartbeat_ms_)) {
    log_line(LogLevel::kWarn, "[cluster] link %lld: nothing heard for %lld ms, closing it", static_cast<long long>(id_),
             static_cast<long long>(silent_ms));
    end(-ETIMEDOUT);
    return;
  }
  if ((agreed & kFeatureHeartbeat) != 0 && silent_ms >= heartbeat_ms_) {
    queue_control(kPingCmd);
    stats_.pings_sent++;
    ping_unanswered_ = true;
  }
  heartbeat_ = ctx_.deadlines.arm(id_, LinkClock::kHeartbeat, heartbeat_ms_);
}

}  // namespace cluster
}  // namespace silly
