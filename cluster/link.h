// One cluster connection as an object: it owns its socket (as the socket's
// SocketOwner), parses frames out of the receive ring, keeps the session
// entries and deadlines of the calls made on it, flushes its writes within
// a long batch, and closes. Everything it receives goes to a LinkSink:
// frames, a call's timeout, and the close, all by the same route.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cluster/frame.h"
#include "core/socket.h"

namespace silly {
namespace cluster {

class Link;
class LinkTable;

// Where links deliver; the Lua binding in the runtime, a recorder in tests.
class LinkSink {
 public:
  // `link` came in on `listener`.
  virtual void on_accept(SocketId listener, Link &link, const std::string &peer) = 0;
  // A connect() finished; status 0: the link is up, otherwise it is gone.
  virtual void on_connect(SocketId id, int status) = 0;
  // Up to Link::kFlushEvery frames of one read, in order: requests, and
  // responses to calls still pending (late ones are dropped before). A
  // response marked as a remote error has remote_error set and its text as
  // payload. Payloads point into the receive ring and are valid during this
  // call only; the link stays usable (and its ring in place) throughout,
  // even if the sink closes it.
  virtual void on_frames(Link &link, const Frame *frames, size_t n) = 0;
  // A call's deadline passed; its session is no longer pending.
  virtual void on_timeout(Link &link, uint32_t session) = 0;
  // The link ended by itself: the peer closed it (status 0), it failed
  // (-errno), or it sent a malformed frame (-EPROTO). `failed` lists the
  // calls that were pending on it. The link is destroyed after this.
  virtual void on_close(Link &link, int status, const std::vector<uint32_t> &failed) = 0;

 protected:
  ~LinkSink() = default;
};

class Link final : public SocketOwner {
 public:
  // Within a long read batch, queued writes leave every this many frames,
  // so the peer works on the answers while this side reads on.
  static constexpr size_t kFlushEvery = 32;

  Link(LinkTable &table, SocketId id);
  ~Link();
  Link(const Link &) = delete;
  Link &operator=(const Link &) = delete;

  SocketId id() const { return id_; }
  bool closed() const { return closed_; }

  // A call that gives up after timeout_ms: its session number (0 or more),
  // or a negative error code; nothing stays pending on error.
  int64_t call(uint32_t cmd, uint64_t traceid, const void *payload, size_t size, int timeout_ms);
  // A one-way request; 0 or a negative error code.
  int send(uint32_t cmd, uint64_t traceid, const void *payload, size_t size);
  int respond(uint32_t session, const void *payload, size_t size);
  // Tells the caller its call failed here, with (the start of) `text`.
  int respond_error(uint32_t session, const char *text, size_t size);
  // Closes from this side: fails the pending calls and returns their
  // sessions; the sink is not told. Safe inside on_frames.
  std::vector<uint32_t> close();

  size_t pending() const;

  // SocketOwner
  void on_data(SocketId id, RingBuffer &in) override;
  void on_close(SocketId id, int status) override;

 private:
  int queue(const FrameParts &parts, const void *payload, size_t size);
  // Hands what the ring holds to the sink, kFlushEvery frames at a time.
  void read_batch(RingBuffer &in);
  // The link ended by itself: tell the sink, then go.
  void end(int status);
  // Closes the socket and leaves the table, unless a batch is still
  // reading the ring (then the batch does it when it ends).
  void release();

  LinkTable &table_;
  SocketId id_;
  bool closed_ = false;
  bool in_batch_ = false;
  int pending_status_ = 1;  // set while a batch runs: end(status) after it
  std::vector<Frame> frames_;
};

}  // namespace cluster
}  // namespace silly
