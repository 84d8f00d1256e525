// Timers with microsecond deadlines in one 4-ary min-heap.
//
// Every timer is added with its owner and an argument, and fires by calling
// owner->on_timer(id, arg). Each timer owns a slot; the slot keeps the
// timer's heap position so that cancel is O(log n) without leaving dead
// entries behind. A timer id carries its slot and a generation, so a stale
// id (fired or cancelled) never touches a later timer that reuses the slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace silly {

using TimerId = uint64_t;
// An id's low 32 bits: its slot + 1, unique among live timers and dense
// (freed slots are reused first), so callers may key arrays by it.
constexpr TimerId kTimerSlotMask = 0xffffffffu;

// Whoever adds a timer receives it. An owner cancels its timers before it
// is destroyed.
class TimerOwner {
 public:
  virtual void on_timer(TimerId id, uint64_t arg) = 0;

 protected:
  ~TimerOwner() = default;
};

class TimerQueue {
 public:
  using Id = TimerId;
  struct Fired {
    Id id;
    TimerOwner *owner;
    uint64_t arg;
    int64_t deadline_us;  // when it was due (how late it fires: metrics)
  };

  // Ids are never 0.
  Id add(int64_t deadline_us, TimerOwner *owner, uint64_t arg);
  // False when the timer already fired or was cancelled.
  bool cancel(Id id);
  // Removes and returns the earliest due timer; false when none is due.
  // Timers with equal deadlines come out in the order they were added.
  bool pop_due(int64_t now_us, Fired *out);
  // Milliseconds until the next deadline, rounded up so that a wait of that
  // long never wakes early; -1 with no timer.
  int wait_ms(int64_t now_us) const;
  size_t size() const { return heap_.size(); }

 private:
  struct Slot {
    TimerOwner *owner = nullptr;
    uint64_t arg = 0;
    uint32_t generation = 0;
    int32_t heap_pos = -1;  // -1: free
  };
  // The ordering key lives in the heap itself, so sifting compares
  // neighbouring entries without touching the slot table.
  struct Entry {
    int64_t deadline;
    uint64_t seq;
    uint32_t slot;
  };
  static bool before(const Entry &a, const Entry &b) {
    return a.deadline != b.deadline ? a.deadline < b.deadline : a.seq < b.seq;
  }
  void place(size_t pos, const Entry &e);
  void sift_up(size_t pos);
  void sift_down(size_t pos);
  void remove_at(size_t pos);

  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  std::vector<Entry> heap_;
  uint64_t next_seq_ = 0;
};

}  // namespace silly
