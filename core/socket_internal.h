// What the socket_*.cc files share: the per-socket record and the system
// call wrappers. Not part of the socket API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "silly/core/ring_buffer.h"
#include "silly/core/socket.h"

namespace silly {

enum SocketKind { kListen, kConnecting, kStream, kUdp };
enum SocketState { kOpen, kPeerClosed, kBroken, kClosing };

// Bytes one socket may read in one turn before others get theirs.
constexpr size_t kReadQuantum = 1u << 20;
constexpr size_t kReadChunk = 16u << 10;
// A ring with at least this much room is read into directly; one with less
// (or none) is read through the loop's buffer and grows only by what came.
constexpr size_t kDirectReadMin = 4u << 10;
// Empty rings up to this size wait in a pool for the next socket that
// needs one; larger ones are freed. An idle socket holds no ring at all.
constexpr size_t kPooledRingMax = 64u << 10;
constexpr size_t kPooledRings = 16;
constexpr int kMaxDatagram = 65536;

// What a filtered (TLS) stream keeps beside the socket record; a listener
// keeps only the factory for the streams it accepts.
struct FilterState {
  FilterFactoryPtr factory;
  std::unique_ptr<StreamFilter> filter;
  RingBuffer wire;        // sealed bytes waiting for the kernel
  SocketId listener = 0;  // accepted here: told to its owner once established
  std::string peer;       // for that report and for the failure log
};

struct SocketManager::Socket {
  SocketId id = 0;
  int fd = -1;
  SocketKind kind = kStream;
  SocketState state = kOpen;
  SocketOwner *owner = nullptr;
  bool dirty = false;         // in dirty_, waiting for the before-wait flush
  bool want_write = false;    // the kernel said EAGAIN; wait for writable
  bool peer_ended = false;    // the end of the stream was read (told after the data)
  bool pushed_back = false;   // EAGAIN since the queue was last empty
  bool drain_wanted = false;  // notify_drained() was asked
  bool read_paused = false;   // the read limit was reached
  bool reread = false;        // in reread_
  bool urgent = false;        // EventLoop::set_urgent (a listener: its connections)
  size_t read_limit = SIZE_MAX;
  size_t read_want = 0;  // a reader waits for this many bytes
  // Reading pauses once the ring holds this much.
  size_t pause_at() const { return read_limit > read_want ? read_limit : read_want; }
  size_t send_limit = 0;
  TimerId timer = 0;  // connect timeout or close linger
  RingBuffer in;
  RingBuffer out;  // plaintext, for a filtered stream
  std::unique_ptr<FilterState> tls;
  // Where bytes wait for the kernel: `out`, or the filter's sealed records.
  RingBuffer &wire() { return tls ? tls->wire : out; }
  size_t queued() const { return out.size() + (tls ? tls->wire.size() : 0); }
  // A filtered stream before, and after, its handshake (a listener is neither).
  bool handshaking() const { return tls && tls->filter && !tls->filter->established(); }
  bool sealing() const { return tls && tls->filter && tls->filter->established(); }
};

// Non-blocking, close-on-exec; -1 with errno set.
int open_socket(int family, int type);
// Closes a socket whose setup failed and returns -errno as it was before.
int close_with_error(int fd);
// TCP_NODELAY and SO_KEEPALIVE on a new stream socket.
void tune_stream(int fd);

}  // namespace silly
