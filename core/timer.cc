#include "silly/core/timer.h"

#include <cassert>

namespace silly {

// Four children per node: half the depth of a binary heap, and the
// children of one node share a cache line or two.
constexpr size_t kArity = 4;

static TimerQueue::Id make_id(uint32_t slot, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | (static_cast<uint64_t>(slot) + 1);
}

TimerQueue::Id TimerQueue::add(int64_t deadline_us, TimerOwner *owner, uint64_t arg) {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot &s = slots_[slot];
  s.owner = owner;
  s.arg = arg;
  heap_.push_back({deadline_us, next_seq_++, slot});
  s.heap_pos = static_cast<int32_t>(heap_.size() - 1);
  sift_up(heap_.size() - 1);
  return make_id(slot, s.generation);
}

bool TimerQueue::cancel(Id id) {
  uint64_t low = id & kTimerSlotMask;
  if (low == 0 || low > slots_.size()) return false;
  uint32_t slot = static_cast<uint32_t>(low - 1);
  Slot &s = slots_[slot];
  if (s.heap_pos < 0 || s.generation != static_cast<uint32_t>(id >> 32)) return false;
  remove_at(static_cast<size_t>(s.heap_pos));
  return true;
}

bool TimerQueue::pop_due(int64_t now_us, Fired *out) {
  if (heap_.empty() || heap_[0].deadline > now_us) return false;
  uint32_t slot = heap_[0].slot;
  Slot &s = slots_[slot];
  out->id = make_id(slot, s.generation);
  out->owner = s.owner;
  out->arg = s.arg;
  out->deadline_us = heap_[0].deadline;
  remove_at(0);
  return true;
}

int TimerQueue::wait_ms(int64_t now_us) const {
  if (heap_.empty()) return -1;
  int64_t left = heap_[0].deadline - now_us;
  if (left <= 0) return 0;
  int64_t ms = (left + 999) / 1000;
  return ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms);
}

void TimerQueue::place(size_t pos, const Entry &e) {
  heap_[pos] = e;
  slots_[e.slot].heap_pos = static_cast<int32_t>(pos);
}

void TimerQueue::sift_up(size_t pos) {
  Entry e = heap_[pos];
  while (pos > 0) {
    size_t parent = (pos - 1) / kArity;
    if (!before(e, heap_[parent])) break;
    place(pos, heap_[parent]);
    pos = parent;
  }
  place(pos, e);
}

void TimerQueue::sift_down(size_t pos) {
  Entry e = heap_[pos];
  size_t n = heap_.size();
  for (;;) {
    size_t first = pos * kArity + 1;
    if (first >= n) break;
    size_t last = first + kArity < n ? first + kArity : n;
    size_t child = first;
    for (size_t c = first + 1; c < last; c++) {
      if (before(heap_[c], heap_[child])) child = c;
    }
    if (!before(heap_[child], e)) break;
    place(pos, heap_[child]);
    pos = child;
  }
  place(pos, e);
}

void TimerQueue::remove_at(size_t pos) {
  uint32_t slot = heap_[pos].slot;
  // Every live slot knows where its entry sits in the heap.
  assert(slots_[slot].heap_pos == static_cast<int32_t>(pos));
  Entry last = heap_.back();
  heap_.pop_back();
  if (pos < heap_.size()) {
    place(pos, last);
    sift_down(pos);
    sift_up(static_cast<size_t>(slots_[last.slot].heap_pos));
  }
  Slot &s = slots_[slot];
  s.heap_pos = -1;
  s.generation++;
  free_.push_back(slot);
}

}  // namespace silly
