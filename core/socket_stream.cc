// A connected stream's reads and writes: drain the kernel into the receive
// ring, hand it to the owner, and write the send ring out with writev.
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/socket_internal.h"
#include "silly/core/socket.h"

namespace silly {

void SocketManager::do_read(SocketId id, bool until_end) {
  Socket *s = find(id);
  if (s == nullptr) return;
  size_t got = 0;
  int end = 1;  // 1: still open; 0: orderly end; <0: -errno
  for (;;) {
    if (s->in.size() >= s->pause_at()) {
      s->read_paused = true;
      break;
    }
    if (got >= kReadQuantum) {
      queue_reread(s);
      break;
    }
    struct iovec iov[2];
    // Under a read limit, read no further than it.
    size_t room = s->pause_at() - s->in.size();
    int cnt;
    // A filtered stream always reads into the scratch: what it read is
    // ciphertext, which the filter turns into the ring's plaintext.
    // So does a socket whose ring has little room left: reading straight
    // into it would first grow it by a whole chunk (16 KiB for a few bytes),
    // which thousands of sockets holding a message each at once (a burst of
    // connects) turn into a hundred megabytes. A ring with room is read
    // into directly, no further than its room: it never grows to be read into.
    size_t ring_free = s->in.capacity() - s->in.size();
    bool scratch = s->tls || ring_free < kDirectReadMin;
    if (scratch) {
      // A socket with nothing buffered reads into the loop-wide buffer and
      // keeps only what arrived (Redis's shared query buffer): an idle
      // socket then holds no ring, a busy one a ring sized to its data.
      iov[0] = {read_buffer_.get(), kReadChunk};
      cnt = 1;
    } else {
      cnt = s->in.writable_spans(ring_free < kReadChunk ? ring_free : kReadChunk, iov);
    }
    if (iov[0].iov_len >= room) {
      iov[0].iov_len = room;
      cnt = 1;
    } else if (cnt > 1 && iov[0].iov_len + iov[1].iov_len > room) {
      iov[1].iov_len = room - iov[0].iov_len;
    }
    size_t want = iov[0].iov_len + (cnt > 1 ? iov[1].iov_len : 0);
    ssize_t n = ::readv(s->fd, iov, cnt);
    read_calls_++;
    if (n > 0) bytes_read_ += static_cast<uint64_t>(n);
    if (n > 0 && s->tls) {
      got += static_cast<size_t>(n);
      int rc = filter_input(id, read_buffer_.get(), static_cast<size_t>(n));
      if (rc == 0) return;
      s = find(id);
      if (rc < 0) {
        end = 0;
        break;
      }
      if (static_cast<size_t>(n) < want && !until_end) break;
      continue;
    }
    if (n > 0) {
      if (scratch) {
        s->in.append(read_buffer_.get(), static_cast<size_t>(n));
      } else {
        s->in.commit(static_cast<size_t>(n));
      }
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
    if (errno != EAGAIN && errno != EWOULDBLOCK) end = -errno;
    break;
  }
  if (s->handshaking()) {
    // The owner has not met this stream: it hears of a failure only as a
    // failed connect.
    if (end <= 0) {
      std::string why = std::string("the connection ended during the TLS handshake (") +
                        (end == 0 ? "closed by the peer" : socket_strerror(end)) + ")";
      if (s->tls->listener == 0) why += ": is the server's port TLS?";
      filter_failed(s, why);
    }
    return;
  }
  bool arrived = s->tls ? !s->in.empty() : got > 0;
  s->peer_ended = end <= 0;
  if (arrived && s->owner != nullptr) {
    s->owner->on_data(id, s->in);
    s = find(id);
    if (s == nullptr || s->state != kOpen) return;
  }
  reclaim_ring(s->in);  // the owner took it all: nothing to keep
  if (end == 0) {
    s->state = kPeerClosed;  // half-open: the owner may still write
    if (s->owner != nullptr) s->owner->on_close(id, 0);
  } else if (end < 0) {
    fail(s, end);
  }
}

void SocketManager::do_write(Socket *s) {
  if (s->sealing() && !s->out.empty()) {
    // Sealed here rather than at each send: the batch leaves in full records.
    lend_ring(s->tls->wire);
    s->tls->filter->seal(s->out, s->tls->wire);
    reclaim_ring(s->out);
  }
  RingBuffer &wire = s->wire();
  while (!wire.empty()) {
    struct iovec iov[2];
    int cnt = wire.readable_spans(iov);
    ssize_t n = ::writev(s->fd, iov, cnt);
    write_calls_++;
    if (n > 0) {
      bytes_written_ += static_cast<uint64_t>(n);
      wire.consume(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s->want_write = true;
      s->pushed_back = true;
      return;
    }
    fail(s, n < 0 ? -errno : -EPIPE);
    return;
  }
  reclaim_ring(wire);
  if (s->state == kClosing) {
    destroy(s->id);
    return;
  }
  if ((s->pushed_back || s->drain_wanted) && s->owner != nullptr) {
    s->pushed_back = s->drain_wanted = false;
    // The owner may queue more here; flush_writes and the next turn see it.
    s->owner->on_writable(s->id);
  }
}

}  // namespace silly
