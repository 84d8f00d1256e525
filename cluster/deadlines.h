// Every timer of the cluster layer, in one place: the deadline of each call
// (SessionTable schedules them here) and the clocks of each link: its
// heartbeat, the wait of its handshake, and the bound on a frame left
// unfinished. All are loop timers owned by
// this object; when one fires, the listener (the LinkTable) hears which
// call or which link's clock it was, and acts. Nothing else in cluster/
// adds a loop timer.
#pragma once

#include <cstdint>

#include "silly/cluster/session.h"
#include "silly/core/event_loop.h"
#include "silly/core/socket.h"

namespace silly {
namespace cluster {

enum class LinkClock : uint8_t { kHeartbeat, kHandshake, kFrame };

class DeadlineListener {
 public:
  // A call's deadline passed; SessionTable::expire tells whether it was
  // still pending.
  virtual void on_call_deadline(uint32_t session) = 0;
  virtual void on_link_deadline(SocketId link, LinkClock clock) = 0;

 protected:
  ~DeadlineListener() = default;
};

class Deadlines final : public DeadlineScheduler {
 public:
  Deadlines(EventLoop &loop, DeadlineListener &listener);
  Deadlines(const Deadlines &) = delete;
  Deadlines &operator=(const Deadlines &) = delete;

  // DeadlineScheduler: a call's deadline.
  uint64_t schedule(int timeout_ms, uint32_t session) override;
  void cancel(uint64_t handle) override;

  // One of a link's clocks, firing once after ms; its id (never 0).
  TimerId arm(SocketId link, LinkClock clock, int ms);
  // Stops a clock if it runs and sets *id to 0.
  void disarm(TimerId *id);

 private:
  // One owner per kind of timer, so that a timer's argument is the session
  // or the link id as it is.
  enum class Kind : uint8_t { kCall, kHeartbeat, kHandshake, kFrame };
  class Route final : public TimerOwner {
   public:
    Route(DeadlineListener &listener, Kind kind) : listener_(listener), kind_(kind) {}
    void on_timer(TimerId id, uint64_t arg) override;

   private:
    DeadlineListener &listener_;
    Kind kind_;
  };

  EventLoop &loop_;
  Route calls_;
  Route heartbeats_;
  Route handshakes_;
  Route frames_;
};

}  // namespace cluster
}  // namespace silly
