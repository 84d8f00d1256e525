// Non-blocking TCP and UDP sockets owned by one loop thread.
//
// Every socket is created with its owner, which receives its events; an
// accepted connection starts with its listener's owner and may be handed to
// another with set_owner(). Ids are never reused within a process, so a
// stale id held by a script can only miss, never hit a later socket. Reads
// drain the kernel into each socket's receive ring; writes are queued and
// flushed in the loop's before-wait hook with one writev per socket, so the
// many small writes made while handling one batch of events leave together.
//
// Results follow one convention: 0 (or an id, which is positive) on
// success, a negative error code otherwise: -errno, or one of the kErr*
// below for the conditions errno cannot name.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "silly/core/address.h"
#include "silly/core/event_loop.h"
#include "silly/core/log.h"
#include "silly/core/ring_buffer.h"

struct iovec;

namespace silly {

using SocketId = int64_t;

// Below any -errno, as libuv keeps its own codes.
enum SocketError : int {
  kErrUnknownSocket = -4001,   // no such id (never opened, or closed locally)
  kErrSendQueueFull = -4002,   // the peer is not reading fast enough
  kErrNoFreeSocket = -4003,    // the socket table is full
  kErrInvalidAddress = -4004,  // not a numeric address
  kErrClosing = -4005,         // closed locally, still flushing
  kErrBroken = -4006,          // the connection failed earlier
  kErrConnectTimeout = -4007,  // connect did not finish in time
  kErrPeerClosed = -4008,      // the peer ended the stream (from state())
  kErrTls = -4009,             // a TLS handshake or record failed (last_failure())
};
// Text for a result code; 0 reads "end of file", as a close status.
const char *socket_strerror(int code);

// Receives the events of the sockets it owns. Each status is 0 or a
// negative error code. An owner outlives its sockets or closes them first.
class SocketOwner {
 public:
  // `conn` came in on `listener`; it is owned by this owner until
  // set_owner() gives it to another.
  virtual void on_accept(SocketId listener, SocketId conn, const std::string &peer);
  // status 0: connected. Otherwise the id is already gone.
  virtual void on_connect(SocketId id, int status);
  // Bytes arrived; the owner consumes what it can use from `in`.
  virtual void on_data(SocketId id, RingBuffer &in);
  virtual void on_datagram(SocketId id, const uint8_t *data, size_t n, const SockAddr &from);
  // The send queue emptied after the kernel had pushed back, or after the
  // owner asked with notify_drained().
  virtual void on_writable(SocketId id);
  // The peer ended the stream (status 0) or the connection failed. The id
  // stays valid until close(id). Never called for a local close().
  virtual void on_close(SocketId id, int status) = 0;

 protected:
  ~SocketOwner() = default;
};

// Transforms one stream's bytes between the kernel and its rings: TLS
// (core/tls.h). The socket layer feeds it what it reads and hands it what
// the owner queued; it never sees a descriptor. An owner meets a filtered
// stream only once its handshake is done: on_accept and on_connect wait
// for it, and a failed or late handshake is logged (accepted side) or
// reported as kErrTls (connecting side).
class StreamFilter {
 public:
  virtual ~StreamFilter() = default;
  // `n` bytes came from the peer (n may be 0: move the handshake on).
  // What they decrypt to is appended to `plain`, what the peer must get
  // (handshake records, alerts) to `wire`. Returns 1 when the handshake
  // completed in this call, 0 otherwise, kErrPeerClosed once the peer
  // ended the session, or kErrTls (reason() says why). A peer may finish
  // the handshake and end the session in the same bytes: take() returns 1
  // then, and peer_closed() says the rest.
  virtual int take(const uint8_t *data, size_t n, RingBuffer &plain, RingBuffer &wire) = 0;
  // The peer ended the session (its close_notify came).
  virtual bool peer_closed() const = 0;
  // Moves all of `plain` into `wire` as records; only once established.
  virtual int seal(RingBuffer &plain, RingBuffer &wire) = 0;
  // The record that tells the peer the session ends, before a close.
  virtual void shutdown(RingBuffer &wire) = 0;
  virtual bool established() const = 0;
  virtual std::string reason() const = 0;
  // The application protocol agreed in the handshake (ALPN); empty: none.
  virtual std::string protocol() const { return {}; }
};

// Makes the filter of each stream a listener accepts or a connect opens.
class StreamFilterFactory {
 public:
  virtual ~StreamFilterFactory() = default;
  virtual std::unique_ptr<StreamFilter> make_filter() = 0;
  // A handshake not done by then fails.
  virtual int handshake_timeout_ms() const = 0;
};
using FilterFactoryPtr = std::shared_ptr<StreamFilterFactory>;

struct SocketOptions {
  size_t send_queue_limit = 64u << 20;  // bytes queued per socket, at most
  int close_linger_ms = 10000;          // how long close() waits to flush
  int max_sockets = 65535;
};

class SocketManager : private FdHandler, private TimerOwner, private BeforeWait {
 public:
  explicit SocketManager(EventLoop &loop, SocketOptions options = {});
  ~SocketManager();
  SocketManager(const SocketManager &) = delete;
  SocketManager &operator=(const SocketManager &) = delete;

  // Each returns the new id, or a negative error code.
  // With a filter factory, each accepted stream is filtered (TLS) and
  // reaches the owner once its handshake is done.
  SocketId listen(const SockAddr &addr, int backlog, SocketOwner *owner, FilterFactoryPtr filter = nullptr);
  // The result arrives through on_connect; timeout_ms <= 0 waits for the OS
  // (and, with a filter, its handshake timeout). A filtered connect reports
  // success once its handshake is done.
  SocketId connect(const SockAddr &addr, const SockAddr *bind, int timeout_ms, SocketOwner *owner,
                   FilterFactoryPtr filter = nullptr);
  SocketId udp_bind(const SockAddr &addr, SocketOwner *owner);
  SocketId udp_connect(const SockAddr &addr, SocketOwner *owner);
  int set_owner(SocketId id, SocketOwner *owner);
  // The socket's events are served ahead of others in a busy turn
  // (EventLoop::set_urgent); a listener's connections inherit it. For
  // traffic between servers, which must not queue behind every client.
  int set_urgent(SocketId id);

  // Bytes are queued and leave before the loop next waits.
  int send(SocketId id, const void *data, size_t n);
  // The pieces are queued together or not at all (one frame, one limit check).
  int sendv(SocketId id, const struct iovec *parts, int count);
  int sendto(SocketId id, const void *data, size_t n, const SockAddr *to);
  // Closes after queued bytes are flushed. No event follows.
  int close(SocketId id);

  // Pauses reading while `limit` or more bytes wait in the receive ring;
  // *previous gets the old limit (SIZE_MAX: none).
  int set_read_limit(SocketId id, size_t limit, size_t *previous);
  // A reader waits for `want` bytes in the receive ring: reading goes on
  // until the ring holds that many, even past the read limit.
  int resume_read(SocketId id, size_t want = 0);
  // The owner took bytes out of the receive ring, serving the reader that
  // waited: reading resumes if the ring is now below the limit.
  int consumed(SocketId id);
  int set_send_limit(SocketId id, size_t limit);
  // The stream's end (or a failure) was read along with the data on_data
  // is handing over now: on_close follows it.
  bool peer_ended(SocketId id) const;
  // on_writable follows the next time the send queue empties.
  int notify_drained(SocketId id);
  // TCP keepalive probes after `idle_s` idle seconds, then every idle_s/3
  // (at least 1), and a dead peer after three unanswered.
  int set_keepalive(SocketId id, int idle_s);

  // 0 when open both ways; kErrPeerClosed or kErrBroken once the stream
  // ended; kErrUnknownSocket or kErrClosing when it is not ours to use.
  int state(SocketId id) const;
  RingBuffer *input(SocketId id);
  size_t send_queue_size(SocketId id) const;
  size_t count() const { return sockets_.size(); }
  // The most sockets open at once since the previous call (or since the
  // start); the next call starts from today's count. Sampling count() once
  // a second misses a wave shorter than that.
  // Bytes of large buffers (a ring of kBigRing or more) given back since
  // the last call: a read of a big message has ended, and the runtime may
  // hand the pages back to the system now rather than at the allocator's
  // next decay, which an idle process never reaches.
  static constexpr size_t kBigRing = 8u << 20;
  size_t take_big_released() {
    size_t n = big_released_;
    big_released_ = 0;
    return n;
  }
  size_t take_peak() {
    size_t p = peak_;
    peak_ = sockets_.size();
    return p;
  }
  // Gives back the room the socket table, the work lists and the loop's
  // descriptor table kept from their peak (after a wave of closes).
  void trim();
  // Why the latest kErrTls happened; read it in the on_connect or on_close
  // that reported the code.
  const std::string &last_failure() const { return last_failure_; }
  // The socket's own address ("ip:port"), e.g. the port a listener got
  // for port 0; empty for an unknown id.
  std::string local_address(SocketId id) const;
  // The protocol a TLS stream's handshake agreed through ALPN; empty for
  // none, a stream without TLS, or an unknown id.
  std::string protocol(SocketId id) const;

  // System calls made, for tests and benchmarks that check batching.
  uint64_t read_calls() const { return read_calls_; }
  // Connections accepted only to be closed: out of descriptors, or the
  // socket table full.
  uint64_t shed_connections() const { return shed_total_; }
  uint64_t write_calls() const { return write_calls_; }
  // Bytes the kernel gave and took, every socket together (metrics).
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t bytes_written() const { return bytes_written_; }
  // Open sockets by kind: listeners, connects in progress, streams, UDP.
  struct Census {
    size_t listening = 0, connecting = 0, streams = 0, tls_streams = 0, udp = 0;
  };
  Census census() const;

  // Writes what is queued now; safe to call while handling a read (the
  // cluster link flushes within a long batch with it).
  void flush_writes();

  struct Socket;  // socket_internal.h

 private:
  Socket *find(SocketId id) const;
  SocketId track(int fd, int kind, SocketOwner *owner);
  void destroy(SocketId id);
  void fail(Socket *s, int status);
  void mark_dirty(Socket *s);
  // send and sendv on a socket already found: queue on a stream
  // (socket.cc), or send a datagram now (socket_udp.cc).
  int queue_stream(Socket *s, const struct iovec *parts, int count);
  int send_datagram(Socket *s, const void *data, size_t n, const SockAddr *to);
  void queue_reread(Socket *s);
  // socket_filter.cc: a filtered stream's handshake and records.
  void attach_filter(Socket *s, const FilterFactoryPtr &factory, SocketId listener, const std::string &peer);
  // Feeds bytes read (or none) to the filter: 1 to read on, 0 when the
  // socket is gone, failed or no longer open (its owner was told), -1 when
  // the peer ended the session.
  int filter_input(SocketId id, const uint8_t *data, size_t n);
  void filter_failed(Socket *s, const std::string &why);
  void filter_established(Socket *s);
  // An idle socket keeps no ring. Reads into an empty ring go through
  // read_buffer_ (socket_stream.cc); a send ring is lent from a small pool
  // of empty ones, and every ring is taken back once it is empty.
  void lend_ring(RingBuffer &ring);
  void reclaim_ring(RingBuffer &ring);
  // FdHandler, TimerOwner, BeforeWait
  void on_ready(int fd, void *data, const PollEvent &ev) override;
  void on_timer(TimerId id, uint64_t arg) override;
  bool before_wait() override;

  // socket_tcp.cc
  void do_accept(Socket *s);
  void finish_connect(Socket *s);
  // socket_stream.cc; until_end: the edge said the peer shut down, so read
  // to EOF, not just to the first short read.
  void do_read(SocketId id, bool until_end = true);
  void do_write(Socket *s);
  // socket_udp.cc
  void do_recvfrom(Socket *s);

  EventLoop &loop_;
  SocketOptions options_;
  std::unordered_map<SocketId, std::unique_ptr<Socket>> sockets_;
  size_t peak_ = 0;          // see take_peak()
  size_t big_released_ = 0;  // see take_big_released()
  std::vector<SocketId> dirty_;
  std::vector<SocketId> reread_;
  std::vector<RingBuffer> spare_rings_;
  // Where a socket with an empty receive ring reads (kReadChunk bytes).
  std::unique_ptr<uint8_t[]> read_buffer_;
  // Ids start high and only grow: scripts key Lua tables by them, and
  // sparse keys keep those tables in their hash part, sized by the sockets
  // alive rather than by how many ids were ever handed out.
  SocketId next_id_ = SocketId{1} << 20;
  // Given up to accept and shed a connection at EMFILE.
  int spare_fd_ = -1;
  uint64_t shed_total_ = 0;  // connections accepted only to be closed
  LogRateLimit shed_log_;
  LogRateLimit close_log_;
  LogRateLimit tls_log_;
  std::string last_failure_;
  uint64_t read_calls_ = 0;
  uint64_t write_calls_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t bytes_written_ = 0;
};

}  // namespace silly
