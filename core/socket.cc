#include "core/socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/log.h"

namespace silly {

namespace {

enum Kind { kListen, kConnecting, kStream, kUdp };
enum State { kOpen, kPeerClosed, kBroken, kClosing };

constexpr uint64_t kPayloadMask = (uint64_t{1} << 56) - 1;
// Bytes one socket may read in one turn before others get theirs.
constexpr size_t kReadQuantum = 1u << 20;
constexpr size_t kReadChunk = 16u << 10;
constexpr int kMaxDatagram = 65536;

void tune_stream(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
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

int accept_socket(int lfd, struct sockaddr_storage *ss, socklen_t *len) {
#ifdef SOCK_NONBLOCK
  return ::accept4(lfd, reinterpret_cast<struct sockaddr *>(ss), len, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
  int fd = ::accept(lfd, reinterpret_cast<struct sockaddr *>(ss), len);
  if (fd >= 0) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return fd;
#endif
}

}  // namespace

struct SocketManager::Socket {
  SocketId id = 0;
  int fd = -1;
  int kind = kStream;
  int state = kOpen;
  int error = 0;
  bool dirty = false;        // in dirty_, waiting for flush()
  bool want_write = false;   // the kernel said EAGAIN; wait for writable
  bool read_paused = false;  // the read limit was reached
  bool reread = false;       // in reread_
  size_t read_limit = SIZE_MAX;
  size_t send_limit = 0;
  TimerQueue::Id timer = 0;  // connect timeout or close linger
  RingBuffer in;
  RingBuffer out;
};

const char *socket_strerror(int code) {
  switch (code) {
    case 0: return "end of file";
    case kErrUnknownSocket: return "socket closed";
    case kErrSendQueueFull: return "send queue full";
    case kErrNoFreeSocket: return "no free socket";
    case kErrInvalidAddress: return "invalid address";
    case kErrClosing: return "socket is closing";
    case kErrBroken: return "socket is closed";
    case kErrTimedOut: return "connect timeout";
    default: return std::strerror(code);
  }
}

SocketManager::SocketManager(Poller &poller, TimerQueue &timers, uint8_t timer_kind, SocketOptions options)
    : poller_(poller), timers_(timers), timer_kind_(timer_kind), options_(options) {
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

SocketManager::~SocketManager() {
  for (auto &kv : sockets_) {
    if (kv.second->fd >= 0) ::close(kv.second->fd);
  }
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

SocketManager::Socket *SocketManager::find(SocketId id) const {
  auto it = sockets_.find(id);
  return it == sockets_.end() ? nullptr : it->second.get();
}

SocketId SocketManager::track(int fd, int kind) {
  auto s = std::make_unique<Socket>();
  SocketId id = next_id_++;
  s->id = id;
  s->fd = fd;
  s->kind = kind;
  s->send_limit = options_.send_queue_limit;
  if (!poller_.add(fd, static_cast<uint64_t>(id))) {
    int err = errno;
    ::close(fd);
    errno = err;
    return 0;
  }
  sockets_.emplace(id, std::move(s));
  return id;
}

void SocketManager::destroy(SocketId id) {
  auto it = sockets_.find(id);
  if (it == sockets_.end()) return;
  Socket *s = it->second.get();
  if (s->timer != 0) timers_.cancel(s->timer);
  if (s->fd >= 0) {
    poller_.remove(s->fd);
    ::close(s->fd);
  }
  sockets_.erase(it);
}

SocketId SocketManager::listen(const SockAddr &addr, int backlog, int *err) {
  if (static_cast<int>(sockets_.size()) >= options_.max_sockets) {
    *err = kErrNoFreeSocket;
    return 0;
  }
  int fd = open_socket(addr.family(), SOCK_STREAM);
  if (fd < 0) {
    *err = errno;
    return 0;
  }
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (addr.family() == AF_INET6) {
    int off = 0;  // "::" serves IPv4 too
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (::bind(fd, addr.get(), addr.len) != 0 || ::listen(fd, backlog) != 0) {
    *err = errno;
    ::close(fd);
    return 0;
  }
  SocketId id = track(fd, kListen);
  if (id == 0) *err = errno;
  return id;
}

SocketId SocketManager::connect(const SockAddr &addr, const SockAddr *bind, int timeout_ms, int *err) {
  if (static_cast<int>(sockets_.size()) >= options_.max_sockets) {
    *err = kErrNoFreeSocket;
    return 0;
  }
  int fd = open_socket(addr.family(), SOCK_STREAM);
  if (fd < 0) {
    *err = errno;
    return 0;
  }
  tune_stream(fd);
  if (bind != nullptr) {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, bind->get(), bind->len) != 0) {
      *err = errno;
      ::close(fd);
      return 0;
    }
  }
  if (::connect(fd, addr.get(), addr.len) != 0 && errno != EINPROGRESS) {
    *err = errno;
    ::close(fd);
    return 0;
  }
  // Even an immediate success is reported through on_connect: the first
  // writable edge after registration delivers it.
  SocketId id = track(fd, kConnecting);
  if (id == 0) {
    *err = errno;
    return 0;
  }
  if (timeout_ms > 0) {
    Socket *s = find(id);
    uint64_t cookie = (static_cast<uint64_t>(timer_kind_) << 56) | static_cast<uint64_t>(id);
    s->timer = timers_.add(monotonic_us() + static_cast<int64_t>(timeout_ms) * 1000, cookie);
  }
  return id;
}

SocketId SocketManager::udp_bind(const SockAddr &addr, int *err) {
  int fd = open_socket(addr.family(), SOCK_DGRAM);
  if (fd < 0) {
    *err = errno;
    return 0;
  }
  if (::bind(fd, addr.get(), addr.len) != 0) {
    *err = errno;
    ::close(fd);
    return 0;
  }
  SocketId id = track(fd, kUdp);
  if (id == 0) *err = errno;
  return id;
}

SocketId SocketManager::udp_connect(const SockAddr &addr, int *err) {
  int fd = open_socket(addr.family(), SOCK_DGRAM);
  if (fd < 0) {
    *err = errno;
    return 0;
  }
  if (::connect(fd, addr.get(), addr.len) != 0) {
    *err = errno;
    ::close(fd);
    return 0;
  }
  SocketId id = track(fd, kUdp);
  if (id == 0) *err = errno;
  return id;
}

void SocketManager::mark_dirty(Socket *s) {
  if (!s->dirty) {
    s->dirty = true;
    dirty_.push_back(s->id);
  }
}

int SocketManager::send(SocketId id, const void *data, size_t n) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  if (s->state == kClosing) return kErrClosing;
  if (s->state == kBroken) return kErrBroken;
  if (s->kind == kListen) return EOPNOTSUPP;
  if (s->kind == kUdp) return sendto(id, data, n, nullptr);
  if (n == 0) return 0;
  if (s->out.size() + n > s->send_limit) return kErrSendQueueFull;
  s->out.append(data, n);
  if (s->kind == kStream) mark_dirty(s);
  return 0;
}

int SocketManager::sendv(SocketId id, const struct iovec *parts, int count) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  if (s->state == kClosing) return kErrClosing;
  if (s->state == kBroken) return kErrBroken;
  if (s->kind != kStream && s->kind != kConnecting) return EOPNOTSUPP;
  size_t total = 0;
  for (int i = 0; i < count; i++) total += parts[i].iov_len;
  if (s->out.size() + total > s->send_limit) return kErrSendQueueFull;
  for (int i = 0; i < count; i++) s->out.append(parts[i].iov_base, parts[i].iov_len);
  if (s->kind == kStream) mark_dirty(s);
  return 0;
}

int SocketManager::sendto(SocketId id, const void *data, size_t n, const SockAddr *to) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  if (s->kind != kUdp) return EOPNOTSUPP;
  ssize_t r = to != nullptr ? ::sendto(s->fd, data, n, 0, to->get(), to->len) : ::send(s->fd, data, n, 0);
  // A datagram that finds the kernel's queue full is lost, as UDP allows.
  return r < 0 ? errno : 0;
}

int SocketManager::close(SocketId id) {
  Socket *s = find(id);
  if (s == nullptr || s->state == kClosing) return kErrUnknownSocket;
  if (s->kind != kStream || s->state == kBroken || s->out.empty()) {
    destroy(id);
    return 0;
  }
  // Flush what the script queued before it closed, but not forever.
  s->state = kClosing;
  s->in.clear();
  if (s->timer != 0) timers_.cancel(s->timer);
  uint64_t cookie = (static_cast<uint64_t>(timer_kind_) << 56) | static_cast<uint64_t>(id);
  s->timer = timers_.add(monotonic_us() + static_cast<int64_t>(options_.close_linger_ms) * 1000, cookie);
  mark_dirty(s);
  return 0;
}

long long SocketManager::set_read_limit(SocketId id, size_t limit) {
  Socket *s = find(id);
  if (s == nullptr) return -1;
  size_t old = s->read_limit;
  s->read_limit = limit;
  if (s->read_paused && s->in.size() < limit) resume_read(id);
  return old == SIZE_MAX ? 0x7fffffffLL : static_cast<long long>(old);
}

void SocketManager::resume_read(SocketId id) {
  Socket *s = find(id);
  if (s == nullptr || !s->read_paused) return;
  s->read_paused = false;
  // The edge that was left unread will not come again: read on the next turn.
  if (!s->reread) {
    s->reread = true;
    reread_.push_back(id);
  }
}

bool SocketManager::set_send_limit(SocketId id, size_t limit) {
  Socket *s = find(id);
  if (s == nullptr) return false;
  s->send_limit = limit;
  return true;
}

RingBuffer *SocketManager::input(SocketId id) {
  Socket *s = find(id);
  return s == nullptr ? nullptr : &s->in;
}

size_t SocketManager::send_queue_size(SocketId id) const {
  Socket *s = find(id);
  return s == nullptr ? 0 : s->out.size();
}

int SocketManager::alive(SocketId id) const {
  Socket *s = find(id);
  if (s == nullptr || s->state == kClosing) return -1;
  return s->state == kOpen ? 1 : 0;
}

std::string SocketManager::local_address(SocketId id) const {
  Socket *s = find(id);
  if (s == nullptr || s->fd < 0) return "";
  SockAddr a;
  a.len = sizeof(a.storage);
  if (getsockname(s->fd, reinterpret_cast<struct sockaddr *>(&a.storage), &a.len) != 0) return "";
  return format_address(a.get());
}

void SocketManager::fail(Socket *s, int err) {
  SocketId id = s->id;
  if (s->state == kClosing) {
    destroy(id);
    return;
  }
  s->state = kBroken;
  s->error = err;
  s->out.clear();
  poller_.remove(s->fd);
  ::close(s->fd);
  s->fd = -1;
  if (handler_ != nullptr) handler_->on_close(id, err);
}

void SocketManager::handle(const PollEvent &ev) {
  SocketId id = static_cast<SocketId>(ev.token);
  Socket *s = find(id);
  if (s == nullptr) return;
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
    default: break;
  }
  if (ev.writable && s->want_write) {
    s->want_write = false;
    do_write(s);
    s = find(id);
    if (s == nullptr) return;
  }
  if (ev.readable && s->state == kOpen && !s->read_paused) do_read(id, ev.hangup);
}

void SocketManager::finish_connect(Socket *s) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  SocketId id = s->id;
  if (err != 0) {
    destroy(id);
    if (handler_ != nullptr) handler_->on_connect(id, err);
    return;
  }
  if (s->timer != 0) {
    timers_.cancel(s->timer);
    s->timer = 0;
  }
  s->kind = kStream;
  if (!s->out.empty()) mark_dirty(s);
  if (handler_ != nullptr) handler_->on_connect(id, 0);
  // Bytes may have come with the connect edge; edges do not repeat.
  s = find(id);
  if (s != nullptr && s->state == kOpen) do_read(id);
}

void SocketManager::do_accept(Socket *listener) {
  SocketId lid = listener->id;
  int lfd = listener->fd;
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept_socket(lfd, &ss, &len);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_ >= 0) {
        // Out of descriptors: shed this connection rather than spin on an
        // edge that keeps the backlog full.
        ::close(spare_fd_);
        int shed = ::accept(lfd, nullptr, nullptr);
        if (shed >= 0) ::close(shed);
        spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        log_line(LogLevel::kError, "[socket] accept: out of file descriptors, connection dropped");
        continue;
      }
      return;  // EAGAIN: drained
    }
    if (static_cast<int>(sockets_.size()) >= options_.max_sockets) {
      ::close(fd);
      log_line(LogLevel::kError, "[socket] accept: socket table full, connection dropped");
      continue;
    }
    tune_stream(fd);
    SocketId id = track(fd, kStream);
    if (id == 0) continue;
    std::string peer = format_address(reinterpret_cast<struct sockaddr *>(&ss));
    if (handler_ != nullptr) handler_->on_accept(lid, id, peer);
    if (find(lid) == nullptr) return;  // the handler closed the listener
    // Data may already be waiting, and its edge fired before we registered.
    Socket *c = find(id);
    if (c != nullptr && c->state == kOpen) do_read(id);
  }
}

void SocketManager::do_read(SocketId id, bool until_end) {
  Socket *s = find(id);
  if (s == nullptr) return;
  size_t got = 0;
  int end = -1;  // -1: still open; 0: orderly end; >0: errno
  for (;;) {
    if (s->in.size() >= s->read_limit) {
      s->read_paused = true;
      break;
    }
    if (got >= kReadQuantum) {
      if (!s->reread) {
        s->reread = true;
        reread_.push_back(id);
      }
      break;
    }
    struct iovec iov[2];
    int cnt = s->in.writable_spans(kReadChunk, iov);
    size_t want = iov[0].iov_len + (cnt > 1 ? iov[1].iov_len : 0);
    ssize_t n = ::readv(s->fd, iov, cnt);
    read_calls_++;
    if (n > 0) {
      s->in.commit(static_cast<size_t>(n));
      got += static_cast<size_t>(n);
      // A short read of a stream socket means its queue is empty now; a
      // later arrival raises a new edge. Not so for a shutdown that came
      // with this edge: it must be read now or never.
      if (static_cast<size_t>(n) < want && !until_end) break;
      continue;
    }
    if (n == 0) {
      end = 0;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) end = errno;
    break;
  }
  if (got > 0 && handler_ != nullptr) {
    handler_->on_data(id, s->in);
    s = find(id);
    if (s == nullptr || s->state != kOpen) return;
  }
  if (end == 0) {
    s->state = kPeerClosed;  // half-open: the script may still write
    if (handler_ != nullptr) handler_->on_close(id, 0);
  } else if (end > 0) {
    fail(s, end);
  }
}

void SocketManager::do_recvfrom(Socket *s) {
  SocketId id = s->id;
  auto buf = std::make_unique<uint8_t[]>(kMaxDatagram);
  for (;;) {
    SockAddr from;
    from.len = sizeof(from.storage);
    ssize_t n =
        ::recvfrom(s->fd, buf.get(), kMaxDatagram, 0, reinterpret_cast<struct sockaddr *>(&from.storage), &from.len);
    if (n < 0) {
      if (errno == EINTR) continue;
      // ECONNREFUSED on a connected UDP socket: an ICMP error for an earlier
      // send. It is reported on the next receive, never as a close.
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      if (handler_ != nullptr) handler_->on_close(id, errno);
      return;
    }
    if (handler_ != nullptr) handler_->on_datagram(id, buf.get(), static_cast<size_t>(n), from);
    s = find(id);
    if (s == nullptr) return;
  }
}

void SocketManager::do_write(Socket *s) {
  while (!s->out.empty()) {
    struct iovec iov[2];
    int cnt = s->out.readable_spans(iov);
    ssize_t n = ::writev(s->fd, iov, cnt);
    write_calls_++;
    if (n > 0) {
      s->out.consume(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s->want_write = true;
      return;
    }
    fail(s, n < 0 ? errno : EPIPE);
    return;
  }
  s->out.shrink_if_idle(64u << 10);
  if (s->state == kClosing) destroy(s->id);
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

bool SocketManager::flush() {
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

void SocketManager::on_timer(uint64_t payload) {
  SocketId id = static_cast<SocketId>(payload & kPayloadMask);
  Socket *s = find(id);
  if (s == nullptr) return;
  s->timer = 0;
  if (s->kind == kConnecting) {
    destroy(id);
    if (handler_ != nullptr) handler_->on_connect(id, kErrTimedOut);
  } else if (s->state == kClosing) {
    log_line(LogLevel::kWarn, "[socket] close: %zu queued bytes dropped, the peer stopped reading", s->out.size());
    destroy(id);
  }
}

}  // namespace silly
