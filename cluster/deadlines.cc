#include "silly/cluster/deadlines.h"

namespace silly {
namespace cluster {

Deadlines::Deadlines(EventLoop &loop, DeadlineListener &listener)
    : loop_(loop),
      calls_(listener, Kind::kCall),
      heartbeats_(listener, Kind::kHeartbeat),
      handshakes_(listener, Kind::kHandshake),
      frames_(listener, Kind::kFrame) {}

uint64_t Deadlines::schedule(int timeout_ms, uint32_t session) {
  return loop_.add_timer(timeout_ms, &calls_, session);
}

void Deadlines::cancel(uint64_t handle) {
  loop_.cancel_timer(handle);
}

TimerId Deadlines::arm(SocketId link, LinkClock clock, int ms) {
  Route *route = clock == LinkClock::kHeartbeat   ? &heartbeats_
                 : clock == LinkClock::kHandshake ? &handshakes_
                                                  : &frames_;
  return loop_.add_timer(ms, route, static_cast<uint64_t>(link));
}

void Deadlines::disarm(TimerId *id) {
  if (*id != 0) loop_.cancel_timer(*id);
  *id = 0;
}

void Deadlines::Route::on_timer(TimerId, uint64_t arg) {
  switch (kind_) {
    case Kind::kCall: listener_.on_call_deadline(static_cast<uint32_t>(arg)); return;
    case Kind::kHeartbeat: listener_.on_link_deadline(static_cast<SocketId>(arg), LinkClock::kHeartbeat); return;
    case Kind::kHandshake: listener_.on_link_deadline(static_cast<SocketId>(arg), LinkClock::kHandshake); return;
    case Kind::kFrame: listener_.on_link_deadline(static_cast<SocketId>(arg), LinkClock::kFrame); return;
  }
}

}  // namespace cluster
}  // namespace silly
