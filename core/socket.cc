// The socket table: ids, owners, the send path, limits, closing, and the
// loop hooks (readiness, timers, before-wait flush) that drive the rest.
#include "silly/core/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/socket_internal.h"
#include "silly/core/log.h"

namespace silly {

void SocketOwner::on_accept(SocketId, SocketId, const std::string &) {}
void SocketOwner::on_connect(SocketId, int) {}
void SocketOwner::on_data(SocketId, RingBuffer &) {}
void SocketOwner::on_datagram(SocketId, const uint8_t *, size_t, const SockAddr &) {}
void SocketOwner::on_writable(SocketId) {}

const char *socket_strerror(int code) {
  switch (code) {
    case 0: return "end of file";
    case kErrUnknownSocket: return "socket closed";
    case kErrSendQueueFull: return "send queue full";
    case kErrNoFreeSocket: return "no free socket";
    case kErrInvalidAddress: return "invalid address";
    case kErrClosing: return "socket is closing";
    case kErrBroken: return "socket is closed";
    case kErrConnectTimeout: return "connect timeout";
    case kErrPeerClosed: return "end of file";
    case kErrTls: return "TLS failure";
    default: return std::strerror(code < 0 ? -code : code);
  }
}

int open_socket(int family, int type) {
#ifdef SOCK_NONBLOCK
  return ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
  int fd = ::socket(family, type, 0);
  if (fd >= 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return fd;
#endif
}

int close_with_error(int fd) {
  int err = errno;
  ::close(fd);
  return -err;
}

void tune_stream(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

SocketManager::SocketManager(EventLoop &loop, SocketOptions options)
    : loop_(loop), options_(options), read_buffer_(std::make_unique<uint8_t[]>(kReadChunk)) {
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  loop_.add_before_wait(this);
}

SocketManager::~SocketManager() {
  loop_.remove_before_wait(this);
  for (auto &kv : sockets_) {
    Socket *s = kv.second.get();
    if (s->timer != 0) loop_.cancel_timer(s->timer);
    if (s->fd >= 0) {
      loop_.remove_fd(s->fd);
      ::close(s->fd);
    }
  }
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

SocketManager::Socket *SocketManager::find(SocketId id) const {
  auto it = sockets_.find(id);
  return it == sockets_.end() ? nullptr : it->second.get();
}

SocketId SocketManager::track(int fd, int kind, SocketOwner *owner) {
  auto s = std::make_unique<Socket>();
  SocketId id = next_id_++;
  s->id = id;
  s->fd = fd;
  s->kind = static_cast<SocketKind>(kind);
  s->owner = owner;
  s->send_limit = options_.send_queue_limit;
  int rc = loop_.add_fd(fd, this, s.get());
  if (rc != 0) {
    ::close(fd);
    return rc;
  }
  sockets_.emplace(id, std::move(s));
  if (sockets_.size() > peak_) peak_ = sockets_.size();
  return id;
}

void SocketManager::trim() {
  sockets_.rehash(0);  // as few buckets as the sockets alive need
  dirty_.shrink_to_fit();
  reread_.shrink_to_fit();
  loop_.trim();
}

void SocketManager::lend_ring(RingBuffer &ring) {
  if (ring.capacity() != 0 || spare_rings_.empty()) return;
  ring = std::move(spare_rings_.back());
  spare_rings_.pop_back();
}

void SocketManager::reclaim_ring(RingBuffer &ring) {
  if (!ring.empty() || ring.capacity() == 0) return;
  if (ring.capacity() <= kPooledRingMax && spare_rings_.size() < kPooledRings) {
    ring.clear();
    spare_rings_.push_back(std::move(ring));
  } else {
    if (ring.capacity() >= kBigRing) big_released_ += ring.capacity();
    ring.shrink_if_idle(0);
  }
}

void SocketManager::destroy(SocketId id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  Socket *s = it->second.get();
  s->in.clear();
  s->out.clear();
  reclaim_ring(s->in);
  reclaim_ring(s->out);
  if (s->tls) {
    s->tls->wire.clear();
    reclaim_ring(s->tls->wire);
  }
  if (s->timer != 0) loop_.cancel_timer(s->timer);
  if (s->fd >= 0) {
    loop_.remove_fd(s->fd);
    ::close(s->fd);
  }
  sockets_.erase(it);
}

int SocketManager::set_owner(SocketId id, SocketOwner *owner) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  s->owner = owner;
  return 0;
}

int SocketManager::set_urgent(SocketId id) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  s->urgent = true;
  return s->fd >= 0 ? loop_.set_urgent(s->fd) : 0;
}

void SocketManager::mark_dirty(Socket *s) {
  if (!s->dirty) {
    s->dirty = true;
    dirty_.push_back(s->id);
  }
}

void SocketManager::queue_reread(Socket *s) {
  if (!s->reread) {
    s->reread = true;
    reread_.push_back(s->id);
  }
}

int SocketManager::send(SocketId id, const void *data, size_t n) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  if (s->kind == kUdp) return send_datagram(s, data, n, nullptr);
  struct iovec part = {const_cast<void *>(data), n};
  return queue_stream(s, &part, 1);
}

int SocketManager::sendv(SocketId id, const struct iovec *parts, int count) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  return queue_stream(s, parts, count);
}

int SocketManager::queue_stream(Socket *s, const struct iovec *parts, int count) {
  if (s->state == kClosing) return kErrClosing;
  if (s->state == kBroken) return kErrBroken;
  if (s->kind != kStream && s->kind != kConnecting) return -EOPNOTSUPP;
  size_t total = 0;
  for (int i = 0; i < count; i++) total += parts[i].iov_len;
  if (total == 0) return 0;
  if (s->queued() + total > s->send_limit) return kErrSendQueueFull;
  lend_ring(s->out);
  for (int i = 0; i < count; i++) s->out.append(parts[i].iov_base, parts[i].iov_len);
  if (s->kind == kStream) mark_dirty(s);
  return 0;
}

int SocketManager::close(SocketId id) {
  Socket *s = find(id);
  if (s == nullptr || s->state == kClosing) return kErrUnknownSocket;
  if (s->sealing() && s->state != kBroken) {
    lend_ring(s->tls->wire);
    if (!s->out.empty()) s->tls->filter->seal(s->out, s->tls->wire);
    s->tls->filter->shutdown(s->tls->wire);  // close_notify, so the peer sees a clean end
  }
  if (s->kind != kStream || s->state == kBroken || s->queued() == 0 || s->handshaking()) {
    destroy(id);
    return 0;
  }
  // Flush what the script queued before it closed, but not forever.
  s->state = kClosing;
  s->owner = nullptr;
  s->in.clear();
  if (s->timer != 0) loop_.cancel_timer(s->timer);
  s->timer = loop_.add_timer(options_.close_linger_ms, this, static_cast<uint64_t>(id));
  mark_dirty(s);
  return 0;
}

int SocketManager::set_read_limit(SocketId id, size_t limit, size_t *previous) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  *previous = s->read_limit;
  s->read_limit = limit;
  if (s->read_paused && s->in.size() < s->pause_at()) resume_read(id, s->read_want);
  return 0;
}

int SocketManager::resume_read(SocketId id, size_t want) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  s->read_want = want;
  if (!s->read_paused || s->in.size() >= s->pause_at()) return 0;
  s->read_paused = false;
  // The edge that was left unread will not come again: read on the next turn.
  queue_reread(s);
  return 0;
}

int SocketManager::consumed(SocketId id) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  reclaim_ring(s->in);
  // Whoever took bytes was the reader waiting (one a socket), now served:
  // the socket is back to its own limit, not the size of that read.
  s->read_want = 0;
  return resume_read(id, 0);
}

bool SocketManager::peer_ended(SocketId id) const {
  Socket *s = find(id);
  return s != nullptr && s->peer_ended;
}

int SocketManager::set_send_limit(SocketId id, size_t limit) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  s->send_limit = limit;
  return 0;
}

int SocketManager::notify_drained(SocketId id) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  s->drain_wanted = true;
  return 0;
}

int SocketManager::state(SocketId id) const {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  switch (s->state) {
    case kOpen: return 0;
    case kPeerClosed: return kErrPeerClosed;
    case kBroken: return kErrBroken;
    default: return kErrClosing;
  }
}

RingBuffer *SocketManager::input(SocketId id) {
  Socket *s = find(id);
  return s == nullptr ? nullptr : &s->in;
}

size_t SocketManager::send_queue_size(SocketId id) const {
  Socket *s = find(id);
  return s == nullptr ? 0 : s->queued();
}

SocketManager::Census SocketManager::census() const {
  Census c;
  for (const auto &kv : sockets_) {
    const Socket *s = kv.second.get();
    switch (s->kind) {
      case kListen: c.listening++; break;
      case kConnecting: c.connecting++; break;
      case kUdp: c.udp++; break;
      case kStream: (s->tls ? c.tls_streams : c.streams)++; break;
    }
  }
  return c;
}

std::string SocketManager::local_address(SocketId id) const {
  Socket *s = find(id);
  if (s == nullptr || s->fd < 0) return "";
  SockAddr a;
  a.len = sizeof(a.storage);
  if (getsockname(s->fd, reinterpret_cast<struct sockaddr *>(&a.storage), &a.len) != 0) return "";
  return format_address(a.get());
}

// The stream failed: it keeps its id (the owner closes it) but no longer
// its descriptor.
void SocketManager::fail(Socket *s, int status) {
  SocketId id = s->id;
  if (s->state == kClosing) {
    destroy(id);
    return;
  }
  s->state = kBroken;
  s->out.clear();
  if (s->tls) s->tls->wire.clear();
  loop_.remove_fd(s->fd);
  ::close(s->fd);
  s->fd = -1;
  if (s->owner != nullptr) s->owner->on_close(id, status);
}

void SocketManager::on_ready(int, void *data, const PollEvent &ev) {
  auto *s = static_cast<Socket *>(data);
  switch (s->kind) {
    case kListen:
      if (ev.readable) do_accept(s);
      return;
    case kConnecting:
      if (ev.writable || ev.hangup) finish_connect(s);
      return;
    case kUdp:
      if (ev.readable) do_recvfrom(s);
      return;
    case kStream: break;
  }
  SocketId id = s->id;
  if (ev.writable && s->want_write) {
    s->want_write = false;
    do_write(s);
    s = find(id);
    if (s == nullptr) return;
  }
  if (ev.readable && s->state == kOpen && !s->read_paused) do_read(id, ev.hangup);
}

void SocketManager::on_timer(TimerId, uint64_t arg) {
  auto id = static_cast<SocketId>(arg);
  Socket *s = find(id);
  if (s == nullptr) return;
  s->timer = 0;
  if (s->kind == kConnecting) {
    SocketOwner *owner = s->owner;
    destroy(id);
    if (owner != nullptr) owner->on_connect(id, kErrConnectTimeout);
  } else if (s->handshaking()) {
    filter_failed(s, "TLS handshake timed out");
  } else if (s->state == kClosing) {
    close_log_.log(LogLevel::kWarn, "[socket] close: %zu queued bytes dropped, the peer stopped reading", s->queued());
    destroy(id);
  }
}

void SocketManager::flush_writes() {
  for (size_t i = 0; i < dirty_.size(); i++) {
    Socket *s = find(dirty_[i]);
    if (s == nullptr) continue;
    s->dirty = false;
    if (s->kind == kStream && !s->want_write && s->fd >= 0) do_write(s);
  }
  dirty_.clear();
}

// Every socket written to since the last turn gets one writev; reads cut
// short for fairness go on. True when work is left for the next turn.
bool SocketManager::before_wait() {
  flush_writes();
  if (reread_.empty()) return false;
  std::vector<SocketId> again;
  again.swap(reread_);
  for (SocketId id : again) {
    Socket *s = find(id);
    if (s == nullptr) continue;
    s->reread = false;
    if (s->state == kOpen && !s->read_paused) do_read(id);
  }
  return !reread_.empty() || !dirty_.empty();
}

}  // namespace silly
