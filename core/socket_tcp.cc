// TCP's setup: listening, accepting, and connecting with a timeout.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/socket_internal.h"
#include "silly/core/log.h"
#include "silly/core/socket.h"

namespace silly {

namespace {

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

SocketId SocketManager::listen(const SockAddr &addr, int backlog, SocketOwner *owner, FilterFactoryPtr filter) {
  if (static_cast<int>(sockets_.size()) >= options_.max_sockets) return kErrNoFreeSocket;
  int fd = open_socket(addr.family(), SOCK_STREAM);
  if (fd < 0) return -errno;
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (addr.family() == AF_INET6) {
    int off = 0;  // "::" serves IPv4 too
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  }
  if (::bind(fd, addr.get(), addr.len) != 0 || ::listen(fd, backlog) != 0) return close_with_error(fd);
  SocketId id = track(fd, kListen, owner);
  if (id > 0 && filter) {
    Socket *s = find(id);
    s->tls = std::make_unique<FilterState>();
    s->tls->factory = std::move(filter);
  }
  return id;
}

SocketId SocketManager::connect(const SockAddr &addr, const SockAddr *bind, int timeout_ms, SocketOwner *owner,
                                FilterFactoryPtr filter) {
  if (static_cast<int>(sockets_.size()) >= options_.max_sockets) return kErrNoFreeSocket;
  int fd = open_socket(addr.family(), SOCK_STREAM);
  if (fd < 0) return -errno;
  tune_stream(fd);
  if (bind != nullptr) {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, bind->get(), bind->len) != 0) return close_with_error(fd);
  }
  if (::connect(fd, addr.get(), addr.len) != 0 && errno != EINPROGRESS) return close_with_error(fd);
  // Even an immediate success is reported through on_connect: the first
  // writable edge after registration delivers it.
  SocketId id = track(fd, kConnecting, owner);
  if (id <= 0) return id;
  Socket *s = find(id);
  // A filtered connect's timeout runs until its handshake is done.
  if (filter) {
    attach_filter(s, filter, 0, "");
    if (timeout_ms <= 0) timeout_ms = filter->handshake_timeout_ms();
  }
  if (timeout_ms > 0) s->timer = loop_.add_timer(timeout_ms, this, static_cast<uint64_t>(id));
  return id;
}

int SocketManager::set_keepalive(SocketId id, int idle_s) {
  Socket *s = find(id);
  if (s == nullptr || s->fd < 0) return kErrUnknownSocket;
  int on = 1;
  int interval = idle_s / 3 > 0 ? idle_s / 3 : 1;
  int count = 3;
  if (setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) != 0) return -errno;
#ifdef TCP_KEEPIDLE
  if (setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s)) != 0 ||
      setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof(interval)) != 0 ||
      setsockopt(s->fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof(count)) != 0) {
    return -errno;
  }
#else
  (void)interval;
  (void)count;
#endif
  return 0;
}

namespace {

// A connect to a port of this host's ephemeral range where nothing listens
// can be given that very port as its source and "succeed" connected to
// itself (TCP simultaneous open). A peer that reconnects to a dead node on
// loopback meets it; it is a refusal.
bool connected_to_itself(int fd, const struct sockaddr_storage &peer, socklen_t plen) {
  struct sockaddr_storage self;
  socklen_t slen = sizeof(self);
  if (getsockname(fd, reinterpret_cast<struct sockaddr *>(&self), &slen) != 0) return false;
  return slen == plen && std::memcmp(&self, &peer, plen) == 0;
}

}  // namespace

void SocketManager::finish_connect(Socket *s) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0) {
    // A stale event for a descriptor number reused within one batch is not
    // a connect: only a socket that has a peer is connected.
    struct sockaddr_storage peer;
    socklen_t plen = sizeof(peer);
    if (getpeername(s->fd, reinterpret_cast<struct sockaddr *>(&peer), &plen) != 0) {
      if (errno == ENOTCONN) return;
    } else if (connected_to_itself(s->fd, peer, plen)) {
      err = ECONNREFUSED;
    }
  }
  SocketId id = s->id;
  SocketOwner *owner = s->owner;
  if (err != 0) {
    destroy(id);
    if (owner != nullptr) owner->on_connect(id, -err);
    return;
  }
  s->kind = kStream;
  if (s->tls) {
    // The owner hears of it once the handshake is done.
    if (filter_input(id, nullptr, 0) > 0) do_read(id);
    return;
  }
  if (s->timer != 0) {
    loop_.cancel_timer(s->timer);
    s->timer = 0;
  }
  if (!s->out.empty()) mark_dirty(s);
  if (owner != nullptr) owner->on_connect(id, 0);
  // Bytes may have come with the connect edge; edges do not repeat.
  s = find(id);
  if (s != nullptr && s->state == kOpen) do_read(id);
}

void SocketManager::do_accept(Socket *listener) {
  SocketId lid = listener->id;
  int lfd = listener->fd;
  // The spare is given up to shed a connection when descriptors run out;
  // take it back as soon as one is free again.
  if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  for (;;) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept_socket(lfd, &ss, &len);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EMFILE && errno != ENFILE) return;  // EAGAIN: drained
      // Out of descriptors. Linux says so before it looks at the backlog,
      // so the edge says nothing of waiting connections: shed them one by
      // one through the spare descriptor until the backlog is empty, and
      // go back to the loop. Without a spare the backlog waits for the
      // next connection's edge, when a descriptor may be free again.
      if (spare_fd_ < 0) {
        shed_log_.log(LogLevel::kError, "[socket] accept: out of file descriptors, connections wait in the backlog");
        return;
      }
      ::close(spare_fd_);
      int shed = ::accept(lfd, nullptr, nullptr);
      if (shed >= 0) ::close(shed);
      spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (shed < 0) return;  // the backlog is empty
      shed_total_++;
      shed_log_.log(LogLevel::kError, "[socket] accept: out of file descriptors, connection dropped");
      continue;
    }
    if (static_cast<int>(sockets_.size()) >= options_.max_sockets) {
      ::close(fd);
      shed_total_++;
      shed_log_.log(LogLevel::kError, "[socket] accept: socket table full, connection dropped");
      continue;
    }
    tune_stream(fd);
    SocketOwner *owner = listener->owner;
    SocketId id = track(fd, kStream, owner);
    if (id < 0) continue;
    if (listener->urgent) set_urgent(id);
    std::string peer = format_address(reinterpret_cast<struct sockaddr *>(&ss));
    if (listener->tls) {
      attach_filter(find(id), listener->tls->factory, lid, peer);  // on_accept once established
    } else if (owner != nullptr) {
      owner->on_accept(lid, id, peer);
    }
    listener = find(lid);
    if (listener == nullptr) return;  // the owner closed the listener
    // Data may already be waiting, and its edge fired before we registered.
    Socket *c = find(id);
    if (c != nullptr && c->state == kOpen) do_read(id);
  }
}

}  // namespace silly
