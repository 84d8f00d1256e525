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

  bool pending(uint32_t session) const { return find(session) != nullptr; }
  size_t pending_count() const { return count_; }
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
  // The table of pending calls: a call lives in the slot its session's low
  // bits name. Numbers are handed out in order, so live calls fill
  // neighbouring slots; open() skips a number whose slot is taken (by a
  // call from one or more laps ago) and the table doubles before it is
  // half full. No allocation per call and one probe per lookup.
  struct Slot {
    uint32_t session = kFree;
    Call call;
  };
  static constexpr uint32_t kFree = 0xffffffffu;  // never a session (bit 31)
  static constexpr size_t kMinSlots = 64;

  uint32_t advance();
  void unlink(const Call &c);
  // The slot a session number belongs in (taken or not).
  Slot &slot_of(uint32_t session) { return slots_[session & (slots_.size() - 1)]; }
  const Slot &slot_of(uint32_t session) const { return slots_[session & (slots_.size() - 1)]; }
  const Call *find(uint32_t session) const;
  Call *find(uint32_t session);
  Call &at(uint32_t session);  // one known to be pending
  void erase(uint32_t session);
  // Moves every call to a table of n slots; false (and nothing moved) when
  // two of them would share a slot there (shrinking only).
  bool resize(size_t n);

  DeadlineScheduler &scheduler_;
  std::vector<Slot> slots_ = std::vector<Slot>(kMinSlots);
  size_t count_ = 0;
  std::unordered_map<int64_t, uint32_t> link_heads_;
  uint32_t next_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace cluster
}  // namespace silly
