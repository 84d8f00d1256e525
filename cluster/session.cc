#include "silly/cluster/session.h"

#include <cassert>

namespace silly {
namespace cluster {

uint32_t SessionTable::advance() {
  uint32_t s = next_;
  next_ = (next_ + 1) & 0x7fffffffu;
  return s;
}

uint32_t SessionTable::open(int64_t link, int timeout_ms, int64_t sent_us) {
  uint32_t s = advance();
  // After a wrap, numbers of calls still in flight are skipped.
  while (calls_.count(s) != 0) s = advance();
  Call c{link, 0, sent_us, 0, 0, false, false};
  auto head = link_heads_.find(link);
  if (head != link_heads_.end()) {
    c.next = head->second;
    c.has_next = true;
    calls_[head->second].prev = s;
    calls_[head->second].has_prev = true;
    head->second = s;
  } else {
    link_heads_.emplace(link, s);
  }
  c.deadline = scheduler_.schedule(timeout_ms, s);
  assert((s & 0x80000000u) == 0);  // bit 31 marks responses on the wire
  calls_.emplace(s, c);
  return s;
}

void SessionTable::unlink(const Call &c) {
  // A link's calls form one list: each neighbour named is pending too.
  assert(!c.has_prev || calls_.count(c.prev) != 0);
  assert(!c.has_next || calls_.count(c.next) != 0);
  if (c.has_prev) {
    Call &p = calls_[c.prev];
    p.next = c.next;
    p.has_next = c.has_next;
  } else if (c.has_next) {
    link_heads_[c.link] = c.next;
  } else {
    link_heads_.erase(c.link);
  }
  if (c.has_next) {
    Call &n = calls_[c.next];
    n.prev = c.prev;
    n.has_prev = c.has_prev;
  }
}

bool SessionTable::finish(uint32_t session, int64_t *sent_us) {
  auto it = calls_.find(session);
  if (it == calls_.end()) {
    dropped_++;
    return false;
  }
  Call c = it->second;
  if (sent_us != nullptr) *sent_us = c.sent_us;
  scheduler_.cancel(c.deadline);
  unlink(c);
  calls_.erase(session);
  return true;
}

bool SessionTable::expire(uint32_t session, int64_t *link) {
  auto it = calls_.find(session);
  if (it == calls_.end()) return false;
  Call c = it->second;
  if (link != nullptr) *link = c.link;
  unlink(c);
  calls_.erase(session);
  return true;
}

std::vector<uint32_t> SessionTable::fail_link(int64_t link) {
  std::vector<uint32_t> failed;
  auto head = link_heads_.find(link);
  if (head == link_heads_.end()) return failed;
  uint32_t s = head->second;
  link_heads_.erase(head);
  for (;;) {
    auto it = calls_.find(s);
    if (it == calls_.end()) break;
    Call c = it->second;
    scheduler_.cancel(c.deadline);
    calls_.erase(it);
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
    auto it = calls_.find(s);
    if (it == calls_.end()) break;
    n++;
    if (!it->second.has_next) break;
    s = it->second.next;
  }
  return n;
}

}  // namespace cluster
}  // namespace silly
