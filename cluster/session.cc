#include "silly/cluster/session.h"

#include <cassert>

namespace silly {
namespace cluster {

uint32_t SessionTable::advance() {
  uint32_t s = next_;
  next_ = (next_ + 1) & 0x7fffffffu;
  return s;
}

const SessionTable::Call *SessionTable::find(uint32_t session) const {
  const Slot &slot = slot_of(session);
  return slot.session == session ? &slot.call : nullptr;
}

SessionTable::Call *SessionTable::find(uint32_t session) {
  Slot &slot = slot_of(session);
  return slot.session == session ? &slot.call : nullptr;
}

SessionTable::Call &SessionTable::at(uint32_t session) {
  Call *c = find(session);
  assert(c != nullptr);
  return *c;
}

void SessionTable::erase(uint32_t session) {
  slot_of(session).session = kFree;
  count_--;
  // A burst of calls is over: give its room back, unless two calls that
  // are still pending would share a slot in the smaller table.
  if (slots_.size() > kMinSlots && count_ * 8 < slots_.size()) resize(slots_.size() / 2);
}

bool SessionTable::resize(size_t n) {
  std::vector<Slot> next(n);
  for (const Slot &slot : slots_) {
    if (slot.session == kFree) continue;
    Slot &to = next[slot.session & (n - 1)];
    if (to.session != kFree) return false;
    to = slot;
  }
  slots_.swap(next);
  return true;
}

uint32_t SessionTable::open(int64_t link, int timeout_ms, int64_t sent_us) {
  // Doubling never makes two calls share a slot: their low bits already
  // differ in the fewer bits of the smaller table.
  if ((count_ + 1) * 2 > slots_.size()) {
    [[maybe_unused]] bool grown = resize(slots_.size() * 2);
    assert(grown);
  }
  uint32_t s = advance();
  // A number whose slot is taken is skipped: after a wrap, that of a call
  // still in flight; before, one a lap of the table behind a slow call.
  while (slot_of(s).session != kFree) s = advance();
  Call c{link, 0, sent_us, 0, 0, false, false};
  auto head = link_heads_.find(link);
  if (head != link_heads_.end()) {
    c.next = head->second;
    c.has_next = true;
    Call &old_head = at(head->second);
    old_head.prev = s;
    old_head.has_prev = true;
    head->second = s;
  } else {
    link_heads_.emplace(link, s);
  }
  c.deadline = scheduler_.schedule(timeout_ms, s);
  assert((s & 0x80000000u) == 0);  // bit 31 marks responses on the wire
  Slot &slot = slot_of(s);
  slot.session = s;
  slot.call = c;
  count_++;
  return s;
}

void SessionTable::unlink(const Call &c) {
  // A link's calls form one list: each neighbour named is pending too.
  if (c.has_prev) {
    Call &p = at(c.prev);
    p.next = c.next;
    p.has_next = c.has_next;
  } else if (c.has_next) {
    link_heads_[c.link] = c.next;
  } else {
    link_heads_.erase(c.link);
  }
  if (c.has_next) {
    Call &n = at(c.next);
    n.prev = c.prev;
    n.has_prev = c.has_prev;
  }
}

bool SessionTable::finish(uint32_t session, int64_t *sent_us) {
  const Call *found = find(session);
  if (found == nullptr) {
    dropped_++;
    return false;
  }
  Call c = *found;
  if (sent_us != nullptr) *sent_us = c.sent_us;
  scheduler_.cancel(c.deadline);
  unlink(c);
  erase(session);
  return true;
}

bool SessionTable::expire(uint32_t session, int64_t *link) {
  const Call *found = find(session);
  if (found == nullptr) return false;
  Call c = *found;
  if (link != nullptr) *link = c.link;
  unlink(c);
  erase(session);
  return true;
}

std::vector<uint32_t> SessionTable::fail_link(int64_t link) {
  std::vector<uint32_t> failed;
  auto head = link_heads_.find(link);
  if (head == link_heads_.end()) return failed;
  uint32_t s = head->second;
  link_heads_.erase(head);
  for (;;) {
    const Call *found = find(s);
    if (found == nullptr) break;
    Call c = *found;
    scheduler_.cancel(c.deadline);
    erase(s);
    failed.push_back(s);
    if (!c.has_next) break;
    s = c.next;
  }
  return failed;
}

size_t SessionTable::pending_on(int64_t link) const {
  size_t n = 0;
  auto head = link_heads_.find(link);
  if (head == link_heads_.end()) return 0;
  uint32_t s = head->second;
  for (;;) {
    const Call *c = find(s);
    if (c == nullptr) break;
    n++;
    if (!c->has_next) break;
    s = c->next;
  }
  return n;
}

}  // namespace cluster
}  // namespace silly
