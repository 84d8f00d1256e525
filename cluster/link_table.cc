#include "silly/cluster/link_table.h"

#include <cassert>
#include <cerrno>

#include "silly/core/log.h"

namespace silly {
namespace cluster {

LinkTable::LinkTable(EventLoop &loop, SocketManager &sockets, LinkSink &sink)
    : sockets_(sockets),
      sink_(sink),
      deadlines_(loop, *this),
      sessions_(deadlines_),
      context_{sockets_, sessions_, deadlines_, *this, batch_} {
  batch_.reserve(Link::kFlushEvery);
}

LinkTable::~LinkTable() {
  for (auto &kv : links_) {
    sessions_.fail_link(kv.first);  // cancels their deadline timers
    sockets_.close(kv.first);
  }
  links_.clear();  // their clocks go with them, before the deadlines do
  for (auto &kv : others_) sockets_.close(kv.first);
}

SocketId LinkTable::listen(const SockAddr &addr, int backlog, const LinkOptions &options, FilterFactoryPtr tls) {
  SocketId id = sockets_.listen(addr, backlog, this, std::move(tls));
  if (id > 0) {
    others_.emplace(id, options);
    sockets_.set_urgent(id);  // links go ahead of client connections in a busy turn
  }
  return id;
}

SocketId LinkTable::connect(const SockAddr &addr, int timeout_ms, const LinkOptions &options, FilterFactoryPtr tls) {
  SocketId id = sockets_.connect(addr, nullptr, timeout_ms, this, std::move(tls));
  if (id > 0) {
    others_.emplace(id, options);
    sockets_.set_urgent(id);
  }
  return id;
}

int LinkTable::close_socket(SocketId id) {
  if (others_.erase(id) == 0) return kErrUnknownSocket;
  return sockets_.close(id);
}

std::vector<uint32_t> LinkTable::close(SocketId id) {
  Link *link = find(id);
  if (link == nullptr) return {};
  std::vector<uint32_t> failed = link->close();
  reap(id);
  return failed;
}

Link *LinkTable::find(SocketId id) const {
  auto it = links_.find(id);
  return it == links_.end() ? nullptr : it->second.get();
}

Link *LinkTable::adopt(SocketId id, const LinkOptions &options, bool initiator) {
  auto link = std::make_unique<Link>(context_, id, options, initiator);
  Link *l = link.get();
  links_.emplace(id, std::move(link));
  l->start();
  return l;
}

void LinkTable::reap(SocketId id) {
  // Looked up again: what the sink did may have destroyed the link already.
  Link *link = find(id);
  if (link == nullptr || !link->finished()) return;
  sockets_.close(id);
  arrivals_.erase(id);
  links_.erase(id);  // destroys the link
}

void LinkTable::on_accept(SocketId listener, SocketId conn, const std::string &peer) {
  auto it = others_.find(listener);
  LinkOptions options = it == others_.end() ? LinkOptions{} : it->second;
  Link *link = adopt(conn, options, false);
  if (link->phase() == LinkPhase::kUp) {
    sink_.on_accept(listener, *link, peer);
  } else {
    arrivals_.emplace(conn, Arrival{listener, peer});  // told once it authenticated
  }
}

void LinkTable::on_connect(SocketId id, int status) {
  auto it = others_.find(id);
  LinkOptions options = it == others_.end() ? LinkOptions{} : it->second;
  others_.erase(id);
  if (status != 0) {
    sink_.on_connect(id, status);
    return;
  }
  // A link that still waits for its hello's answer is told later.
  Link *link = adopt(id, options, true);
  if (link->phase() == LinkPhase::kUp) sink_.on_connect(id, 0);
}

template <typename Fn>
void LinkTable::drive(SocketId id, Fn &&fn) {
  Link *link = find(id);
  if (link == nullptr) return;
  // Whatever the sink does meanwhile (a close from a script, say) leaves
  // the link in place until fn returns; then it goes if it ended.
  link->pin(+1);
  fn(*link);
  link->pin(-1);
  // Still here: no one destroys a pinned link.
  if (link->finished()) reap(id);
}

void LinkTable::on_data(SocketId id, RingBuffer &in) {
  drive(id, [&](Link &link) { link.on_data(in); });
}

// Listeners do not end by themselves; a connect in progress reports
// through on_connect.
void LinkTable::on_close(SocketId id, int status) {
  drive(id, [&](Link &link) { link.on_close(status); });
}

void LinkTable::on_writable(SocketId id) {
  drive(id, [&](Link &link) { link.on_writable(); });
}

void LinkTable::link_up(Link &link) {
  if (link.initiator()) {
    sink_.on_connect(link.id(), 0);
    return;
  }
  auto it = arrivals_.find(link.id());
  assert(it != arrivals_.end());  // only a link with a secret comes up after it arrived
  if (it == arrivals_.end()) return;
  Arrival a = std::move(it->second);
  arrivals_.erase(it);
  sink_.on_accept(a.listener, link, a.peer);
}

void LinkTable::link_frames(Link &link, const Frame *frames, size_t n) {
  sink_.on_frames(link, frames, n);
}

void LinkTable::link_refused(Link &link, const std::string &why, int status) {
  const char *what = status == -EACCES ? "authentication failed" : "handshake failed";
  if (link.initiator()) {
    log_line(LogLevel::kWarn, "[cluster] link %lld: %s: %s", static_cast<long long>(link.id()), what, why.c_str());
    return;
  }
  auto it = arrivals_.find(link.id());
  log_line(LogLevel::kWarn, "[cluster] link from %s: %s: %s, closing it",
           it != arrivals_.end() ? it->second.peer.c_str() : "?", what, why.c_str());
}

void LinkTable::link_ended(Link &link, const LinkEnd &end) {
  if (end.was == LinkPhase::kUp) {
    sink_.on_close(link, end.status, end.failed);
  } else if (link.initiator()) {
    // Its owner never had it: the connect failed. With a secret, any end
    // before the listener's confirmation is a refusal.
    int status = end.was == LinkPhase::kAuth ? -EACCES : end.status != 0 ? end.status : -ECONNRESET;
    sink_.on_connect(link.id(), status);
  }  // an accepted link that never authenticated: nobody knew of it
}

void LinkTable::on_call_deadline(uint32_t session) {
  int64_t link_id = 0;
  if (!sessions_.expire(session, &link_id)) return;
  Link *link = find(link_id);
  if (link == nullptr) return;
  link->count_timeout();
  sink_.on_timeout(*link, session);
}

void LinkTable::on_link_deadline(SocketId id, LinkClock clock) {
  assert(find(id) != nullptr);  // a link disarms its clocks before it goes
  drive(id, [&](Link &link) { link.on_deadline(clock); });
}

}  // namespace cluster
}  // namespace silly
