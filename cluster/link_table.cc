#include "silly/cluster/link_table.h"

namespace silly {
namespace cluster {

LinkTable::LinkTable(EventLoop &loop, SocketManager &sockets, LinkSink &sink)
    : loop_(loop), sockets_(sockets), sink_(sink), sessions_(*this) {
  batch_frames_.reserve(Link::kFlushEvery);
}

LinkTable::~LinkTable() {
  for (auto &kv : links_) {
    sessions_.fail_link(kv.first);  // cancels their deadline timers
    sockets_.close(kv.first);
  }
  for (auto &kv : others_) sockets_.close(kv.first);
}

SocketId LinkTable::listen(const SockAddr &addr, int backlog, const LinkOptions &options, FilterFactoryPtr tls) {
  SocketId id = sockets_.listen(addr, backlog, this, std::move(tls));
  if (id > 0) others_.emplace(id, options);
  return id;
}

SocketId LinkTable::connect(const SockAddr &addr, int timeout_ms, const LinkOptions &options, FilterFactoryPtr tls) {
  SocketId id = sockets_.connect(addr, nullptr, timeout_ms, this, std::move(tls));
  if (id > 0) others_.emplace(id, options);
  return id;
}

int LinkTable::close_socket(SocketId id) {
  if (others_.erase(id) == 0) return kErrUnknownSocket;
  return sockets_.close(id);
}

Link *LinkTable::find(SocketId id) const {
  auto it = links_.find(id);
  return it == links_.end() ? nullptr : it->second.get();
}

Link *LinkTable::adopt(SocketId id, const LinkOptions &options, bool initiator, SocketId listener,
                       const std::string &peer) {
  auto link = std::make_unique<Link>(*this, id, options, initiator);
  Link *l = link.get();
  links_.emplace(id, std::move(link));
  sockets_.set_owner(id, l);
  l->start(listener, peer);
  return l;
}

void LinkTable::remove(SocketId id) {
  links_.erase(id);
}

void LinkTable::on_accept(SocketId listener, SocketId conn, const std::string &peer) {
  auto it = others_.find(listener);
  LinkOptions options = it == others_.end() ? LinkOptions{} : it->second;
  // A link with a secret is told to the sink once it authenticated.
  Link *link = adopt(conn, options, false, listener, peer);
  if (link->ready()) sink_.on_accept(listener, *link, peer);
}

void LinkTable::on_connect(SocketId id, int status) {
  auto it = others_.find(id);
  LinkOptions options = it == others_.end() ? LinkOptions{} : it->second;
  others_.erase(id);
  // A link that still waits for its hello's answer is told later.
  if (status == 0 && !adopt(id, options, true)->ready()) return;
  sink_.on_connect(id, status);
}

// Listeners do not end by themselves; a connect in progress reports
// through on_connect.
void LinkTable::on_close(SocketId, int) {}

uint64_t LinkTable::schedule(int timeout_ms, uint32_t session) {
  return loop_.add_timer(timeout_ms, this, session);
}

void LinkTable::cancel(uint64_t handle) {
  loop_.cancel_timer(handle);
}

void LinkTable::on_timer(TimerId, uint64_t arg) {
  auto session = static_cast<uint32_t>(arg);
  int64_t link_id = 0;
  if (!sessions_.expire(session, &link_id)) return;
  Link *link = find(link_id);
  if (link == nullptr) return;
  link->count_timeout();
  sink_.on_timeout(*link, session);
}

}  // namespace cluster
}  // namespace silly
