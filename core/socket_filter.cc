// Filtered (TLS) streams: the handshake before an owner meets the stream,
// and what happens when it fails. Records themselves are sealed in
// do_write and opened in do_read (socket_stream.cc).
#include <sys/uio.h>
#include <unistd.h>

#include "core/socket_internal.h"
#include "silly/core/log.h"
#include "silly/core/socket.h"

namespace silly {

void SocketManager::attach_filter(Socket *s, const FilterFactoryPtr &factory, SocketId listener,
                                  const std::string &peer) {
  s->tls = std::make_unique<FilterState>();
  s->tls->filter = factory->make_filter();
  s->tls->listener = listener;
  s->tls->peer = peer;
  if (listener != 0) {
    // Until the handshake is done the stream is the socket layer's own: a
    // peer that stalls costs one socket and the filter's bounded buffers.
    s->owner = nullptr;
    s->timer = loop_.add_timer(factory->handshake_timeout_ms(), this, static_cast<uint64_t>(s->id));
  }
}

int SocketManager::filter_input(SocketId id, const uint8_t *data, size_t n) {
  Socket *s = find(id);
  if (s == nullptr) return 0;
  FilterState &f = *s->tls;
  lend_ring(f.wire);
  int rc = f.filter->take(data, n, s->in, f.wire);
  if (!f.wire.empty()) {
    mark_dirty(s);
  } else {
    reclaim_ring(f.wire);
  }
  if (rc == kErrTls) {
    filter_failed(s, f.filter->reason());
    return 0;
  }
  if (rc == 1) {
    filter_established(s);
    s = find(id);
    if (s == nullptr || s->state != kOpen) return 0;
  }
  return rc == kErrPeerClosed || f.filter->peer_closed() ? -1 : 1;
}

void SocketManager::filter_established(Socket *s) {
  SocketId id = s->id;
  FilterState &f = *s->tls;
  if (s->timer != 0) {
    loop_.cancel_timer(s->timer);
    s->timer = 0;
  }
  if (!s->out.empty()) mark_dirty(s);  // queued while the handshake went on
  if (f.listener == 0) {
    if (s->owner != nullptr) s->owner->on_connect(id, 0);
    return;
  }
  Socket *listener = find(f.listener);
  if (listener == nullptr) {
    destroy(id);  // nobody is left to take it
    return;
  }
  std::string peer = std::move(f.peer);
  f.peer = std::string();
  s->owner = listener->owner;
  if (s->owner != nullptr) s->owner->on_accept(f.listener, id, peer);
}

void SocketManager::filter_failed(Socket *s, const std::string &why) {
  SocketId id = s->id;
  FilterState &f = *s->tls;
  // The filter's alert tells the peer why; one try, as the stream ends now.
  if (s->fd >= 0 && !f.wire.empty()) {
    struct iovec iov[2];
    int cnt = f.wire.readable_spans(iov);
    ssize_t ignored = ::writev(s->fd, iov, cnt);
    (void)ignored;
  }
  if (!s->handshaking()) {
    last_failure_ = why;
    fail(s, kErrTls);
    return;
  }
  if (f.listener != 0) {
    tls_log_.log(LogLevel::kWarn, "[tls] %s: handshake failed: %s", f.peer.c_str(), why.c_str());
    destroy(id);
    return;
  }
  SocketOwner *owner = s->owner;
  destroy(id);
  last_failure_ = why;
  if (owner != nullptr) owner->on_connect(id, kErrTls);
}

std::string SocketManager::protocol(SocketId id) const {
  Socket *s = find(id);
  if (s == nullptr || !s->tls || !s->tls->filter) return {};
  return s->tls->filter->protocol();
}

}  // namespace silly
