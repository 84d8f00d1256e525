// The calls a process has in flight: one session number per call, a
// deadline for each, and the link each was sent on, so that a dropped link
// fails its calls at once instead of letting them wait out their deadlines.
// Numbers are process-wide (as on the original framework, whose netpacket
// module shares them); each Link reaches its own calls through a list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace silly {
namespace cluster {

// Where a session's deadline is kept; the runtime's event loop in
// production, a fake clock in tests.
class DeadlineScheduler {
 public:
  virtual ~DeadlineScheduler() = default;
  // Calls back SessionTable::expire(session) after timeout_ms.
  virtual uint64_t schedule(int timeout_ms, uint32_t session) = 0;
  virtual void cancel(uint64_t handle) = 0;
};

// One per process. Session numbers come from one counter that wraps below
// 2^31 (bit 31 marks responses on the wire) and never hands out a number
// that is still pending.
class SessionTable {
 public:
  explicit SessionTable(DeadlineScheduler &scheduler) : scheduler_(scheduler) {}

  // A number for a call on `link` that gives up after timeout_ms; sent_us
  // is kept for the call's latency.
  uint32_t open(int64_t link, int timeout_ms, int64_t sent_us = 0);
  // A number for a one-way send: carried on the wire, never registered, so
  // any response to it is dropped.
  uint32_t next_unregistered() { return advance(); }
  // A response arrived. True when the session was pending; false for a
  // late or unknown response, which the caller drops (it is counted).
  // *sent_us, when given, gets what open() was told.
  bool finish(uint32_t session, int64_t *sent_us = nullptr);
  // The deadline fired. True when the call was still pending; *link then
  // names the link it was made on.
  bool expire(uint32_t session, int64_t *link = nullptr);
  // The link dropped: every call pending on it, removed from the table.
  std::vector<uint32_t> fail_link(int64_t link);

  bool pending(uint32_t session) const { return calls_.count(session) != 0; }
  size_t pending_count() const { return calls_.size(); }
  size_t pending_on(int64_t link) const;
  uint64_t dropped_responses() const { return dropped_; }

  // For tests: where the counter goes next.
  void set_next(uint32_t next) { next_ = next & 0x7fffffffu; }

 private:
  struct Call {
    int64_t link;
    uint64_t deadline;
    int64_t sent_us;
    // Calls on one link form a doubly linked list through their sessions.
    uint32_t prev;
    uint32_t next;
    bool has_prev;
    bool has_next;
  };
  uint32_t advance();
  void unlink(const Call &c);

  DeadlineScheduler &scheduler_;
  std::unordered_map<uint32_t, Call> calls_;
  std::unordered_map<int64_t, uint32_t> link_heads_;
  uint32_t next_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace cluster
}  // namespace silly
