// Non-blocking TCP and UDP sockets owned by one loop thread.
//
// Sockets are named by ids that are never reused within a process, so a
// stale id held by a script can only miss, never hit a later socket. Reads
// drain the kernel into each socket's receive ring; writes are queued and
// flushed once per loop turn with one writev per socket, so that many small
// writes made while handling one batch of events leave in one system call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/address.h"
#include "core/poller.h"
#include "core/ring_buffer.h"
#include "core/timer.h"

namespace silly {

using SocketId = int64_t;

// Errors are errno values, or one of these for conditions errno cannot name.
enum SocketErrorCode : int {
  kErrUnknownSocket = -1,   // no such id (never opened, or closed locally)
  kErrSendQueueFull = -2,   // the peer is not reading fast enough
  kErrNoFreeSocket = -3,    // the socket table is full
  kErrInvalidAddress = -4,  // not a numeric address
  kErrClosing = -5,         // closed locally, still flushing
  kErrBroken = -6,          // the connection failed earlier
  kErrTimedOut = -7,        // connect did not finish in time
};
const char *socket_strerror(int code);

class SocketHandler {
 public:
  virtual ~SocketHandler() = default;
  virtual void on_accept(SocketId listener, SocketId conn, const std::string &peer) = 0;
  // err == 0: connected. Otherwise the id is already gone.
  virtual void on_connect(SocketId id, int err) = 0;
  // Bytes arrived; the handler consumes what it can use from `in`.
  virtual void on_data(SocketId id, RingBuffer &in) = 0;
  // The peer ended the stream (err == 0) or the connection failed. The id
  // stays valid until close(id).
  virtual void on_close(SocketId id, int err) = 0;
  virtual void on_datagram(SocketId id, const uint8_t *data, size_t n, const SockAddr &from) = 0;
};

struct SocketOptions {
  size_t send_queue_limit = 64u << 20;  // bytes queued per socket, at most
  int close_linger_ms = 10000;          // how long close() waits to flush
  int max_sockets = 65535;
};

class SocketManager {
 public:
  SocketManager(Poller &poller, TimerQueue &timers, uint8_t timer_kind, SocketOptions options = {});
  ~SocketManager();
  SocketManager(const SocketManager &) = delete;
  SocketManager &operator=(const SocketManager &) = delete;

  void set_handler(SocketHandler *handler) { handler_ = handler; }

  // Each returns the new id, or 0 with *err set.
  SocketId listen(const SockAddr &addr, int backlog, int *err);
  // The result arrives through on_connect; timeout_ms <= 0 waits for the OS.
  SocketId connect(const SockAddr &addr, const SockAddr *bind, int timeout_ms, int *err);
  SocketId udp_bind(const SockAddr &addr, int *err);
  SocketId udp_connect(const SockAddr &addr, int *err);

  // 0, or an error code. Bytes are queued and leave on flush().
  int send(SocketId id, const void *data, size_t n);
  // The pieces are queued together or not at all (one frame, one limit check).
  int sendv(SocketId id, const struct iovec *parts, int count);
  int sendto(SocketId id, const void *data, size_t n, const SockAddr *to);
  // Closes after queued bytes are flushed. No on_close follows.
  int close(SocketId id);

  // Pauses reading while `limit` or more bytes wait in the receive ring.
  // Returns the previous limit, or -1 for an unknown id.
  long long set_read_limit(SocketId id, size_t limit);
  // Reads again now if reading was paused by the limit.
  void resume_read(SocketId id);
  bool set_send_limit(SocketId id, size_t limit);

  RingBuffer *input(SocketId id);
  size_t send_queue_size(SocketId id) const;
  // 1 open, 0 ended by the peer or failed, -1 unknown or closing.
  int alive(SocketId id) const;
  bool exists(SocketId id) const { return sockets_.count(id) != 0; }
  size_t count() const { return sockets_.size(); }
  // The socket's own address ("ip:port"), e.g. the port a listener got
  // for port 0; empty for an unknown id.
  std::string local_address(SocketId id) const;

  // System calls made, for tests and benchmarks that check batching.
  uint64_t read_calls() const { return read_calls_; }
  uint64_t write_calls() const { return write_calls_; }

  // Driven by the event loop.
  void handle(const PollEvent &ev);
  void on_timer(uint64_t payload);
  // Writes every socket written to since the last flush; true when some
  // reads were cut short for fairness and should be retried without waiting.
  bool flush();
  // Writes what is queued now, without the re-reads flush() also does;
  // safe to call while handling a read.
  void flush_writes();
  bool has_backlog() const { return !reread_.empty(); }

 private:
  struct Socket;
  Socket *find(SocketId id) const;
  SocketId track(int fd, int kind);
  void destroy(SocketId id);
  void fail(Socket *s, int err);
  void do_accept(Socket *s);
  // until_end: the edge said the peer shut down; read to EOF, not just
  // to the first short read.
  void do_read(SocketId id, bool until_end = true);
  void do_recvfrom(Socket *s);
  void do_write(Socket *s);
  void finish_connect(Socket *s);
  void mark_dirty(Socket *s);

  Poller &poller_;
  TimerQueue &timers_;
  uint8_t timer_kind_;
  SocketOptions options_;
  SocketHandler *handler_ = nullptr;
  std::unordered_map<SocketId, std::unique_ptr<Socket>> sockets_;
  std::vector<SocketId> dirty_;
  std::vector<SocketId> reread_;
  // Ids start high and only grow: scripts key Lua tables by them, and
  // sparse keys keep those tables in their hash part, sized by the sockets
  // alive rather than by how many ids were ever handed out.
  SocketId next_id_ = SocketId{1} << 20;
  int spare_fd_ = -1;
  uint64_t read_calls_ = 0;
  uint64_t write_calls_ = 0;  // given up to accept and shed a connection at EMFILE
};

}  // namespace silly
