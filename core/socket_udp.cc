// Datagram sockets: bound or connected, each datagram handed to the owner
// as it is read.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "core/socket_internal.h"
#include "silly/core/socket.h"

namespace silly {

namespace {

// A datagram socket bound to addr, or connected to it; fd or -errno.
int datagram_socket(const SockAddr &addr, bool connect_to) {
  int fd = open_socket(addr.family(), SOCK_DGRAM);
  if (fd < 0) return -errno;
  int rc = connect_to ? ::connect(fd, addr.get(), addr.len) : ::bind(fd, addr.get(), addr.len);
  return rc == 0 ? fd : close_with_error(fd);
}

}  // namespace

SocketId SocketManager::udp_bind(const SockAddr &addr, SocketOwner *owner) {
  int fd = datagram_socket(addr, false);
  return fd < 0 ? fd : track(fd, kUdp, owner);
}

SocketId SocketManager::udp_connect(const SockAddr &addr, SocketOwner *owner) {
  int fd = datagram_socket(addr, true);
  return fd < 0 ? fd : track(fd, kUdp, owner);
}

int SocketManager::sendto(SocketId id, const void *data, size_t n, const SockAddr *to) {
  Socket *s = find(id);
  if (s == nullptr) return kErrUnknownSocket;
  if (s->kind != kUdp) return -EOPNOTSUPP;
  return send_datagram(s, data, n, to);
}

int SocketManager::send_datagram(Socket *s, const void *data, size_t n, const SockAddr *to) {
  ssize_t r = to != nullptr ? ::sendto(s->fd, data, n, 0, to->get(), to->len) : ::send(s->fd, data, n, 0);
  // A datagram that finds the kernel's queue full is lost, as UDP allows.
  if (r < 0) return -errno;
  bytes_written_ += static_cast<uint64_t>(r);
  return 0;
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
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      // ECONNREFUSED on a connected UDP socket: an ICMP error for an earlier
      // send. It is reported as a close event, and the socket stays usable.
      if (s->owner != nullptr) s->owner->on_close(id, -errno);
      return;
    }
    bytes_read_ += static_cast<uint64_t>(n);
    if (s->owner != nullptr) s->owner->on_datagram(id, buf.get(), static_cast<size_t>(n), from);
    s = find(id);
    if (s == nullptr) return;
  }
}

}  // namespace silly
