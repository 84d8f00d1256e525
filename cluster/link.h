// One cluster connection as an object: it parses frames out of its
// socket's receive ring, runs its handshake (cluster/handshake.h), keeps
// the calls made on it and its heartbeat, flushes its writes within a long
// batch, and closes. It knows the rest of the process only through a
// LinkContext: the sockets, the session table, the cluster's timers
// (cluster/deadlines.h) and the LinkEvents it reports to. The LinkTable
// owns every Link, routes its socket's and clocks' events to it, tells the
// sink what it reports, and destroys it once it is closed.
#pragma once

#include <cassert>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "silly/cluster/auth.h"
#include "silly/cluster/chunks.h"
#include "silly/cluster/deadlines.h"
#include "silly/cluster/frame.h"
#include "silly/cluster/handshake.h"
#include "silly/cluster/hello.h"
#include "silly/cluster/latency.h"
#include "silly/core/socket.h"
namespace silly {
namespace cluster {

class Link;

// Per instance, opt-in; all zero (the default) is the base wire exactly.
struct LinkOptions {
  // Ping a link silent for this long, close one silent three times as long
  // (ETIMEDOUT). 0: off.
  int heartbeat_ms = 0;
  // The kernel's TCP keepalive: first probe after this many idle seconds.
  // 0: the system's default.
  int keepalive_s = 0;
  // The largest payload this side takes in one message. Beyond the base
  // frame's limit, larger ones go as chunk frames where both ends agreed.
  size_t max_payload = kMaxRequestPayload;
  // A secret both ends prove they know before anything else crosses the
  // link (cluster/auth.h); none: no authentication.
  Secret secret;
  // How long a link with a secret may take to authenticate.
  int handshake_ms = 5000;
  // A frame begun but not finished within this long closes the link
  // (ETIMEDOUT): a peer that sends half a frame and goes silent holds
  // nothing for ever. On every link, the base wire's too; 0: off.
  int frame_timeout_ms = 30000;
  // A connecting link's hello must be answered (HandshakeConfig).
  bool require_ack = false;
  // Requests carry their caller's deadline where both ends agree
  // (kFeatureDeadline), and a request whose caller has given up is not
  // started. Offered and accepted beside any other feature: a side
  // without options stays on the base wire (and its payload limits).
  bool deadline = true;
  // Offered in a hello (the connecting side) or accepted in one (the
  // listening side). A side with none of them never sends a hello; it
  // answers one with an ack that accepts nothing.
  uint32_t features() const {
    return (heartbeat_ms > 0 ? kFeatureHeartbeat : 0) | (max_payload > kMaxRequestPayload ? kFeatureLarge : 0) |
           (secret != nullptr ? kFeatureAuth : 0);
  }
  HandshakeConfig handshake() const {
    uint32_t f = features();
    if (deadline && f != 0) f |= kFeatureDeadline;
    return HandshakeConfig{f, static_cast<uint32_t>(max_payload), secret, handshake_ms, require_ack};
  }
};

// Where links deliver; the Lua binding in the runtime, a recorder in tests.
// Only the LinkTable calls it.
class LinkSink {
 public:
  // `link` came in on `listener` and is up (with a secret: authenticated).
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

// A link's life. Only kUp is known to the sink; a link leaves kHello or
// kAuth for kUp or kClosed.
enum class LinkPhase : uint8_t {
  kHello,   // connecting with extensions: the hello awaits its ack
  kAuth,    // with a secret: nothing but the handshake crosses the link
  kUp,      // the sink knows it; calls may go
  kClosed,  // ended; the LinkTable destroys it once no batch reads its ring
};

// How a link ended, for LinkEvents::link_ended.
struct LinkEnd {
  int status = 0;  // 0, -errno, -EPROTO, -EACCES (a refused handshake)
  LinkPhase was = LinkPhase::kUp;
  std::vector<uint32_t> failed;  // the calls that were pending on it
};

// What a Link reports; the LinkTable, which passes it on to the sink.
class LinkEvents {
 public:
  virtual void link_up(Link &link) = 0;
  virtual void link_frames(Link &link, const Frame *frames, size_t n) = 0;
  // The handshake was refused (why, for the log) and the link ends with
  // status (-EACCES: authentication); link_ended follows.
  virtual void link_refused(Link &link, const std::string &why, int status) = 0;
  // The link ended by itself (not by close()).
  virtual void link_ended(Link &link, const LinkEnd &end) = 0;

 protected:
  ~LinkEvents() = default;
};

// What a Link may use of the process; one per LinkTable, shared by its links.
struct LinkContext {
  SocketManager &sockets;
  SessionTable &sessions;
  Deadlines &deadlines;
  LinkEvents &events;
  // Where a link puts the frames of the chunk it is reading: one array for
  // all, as only one link reads at a time (an idle link keeps none).
  std::vector<Frame> &batch;
  // Links keep time histograms (Link::times) while set.
  bool observing = false;
  // Requests not started by any link, ever: their callers had given up.
  uint64_t expired = 0;
};

class Link final {
 public:
  // Within a long read batch, queued writes leave every this many frames,
  // so the peer works on the answers while this side reads on.
  static constexpr size_t kFlushEvery = 32;

  // `initiator`: this side connected (and so speaks first in a hello).
  Link(LinkContext &context, SocketId id, const LinkOptions &options, bool initiator);
  ~Link();
  Link(const Link &) = delete;
  Link &operator=(const Link &) = delete;

  SocketId id() const { return id_; }
  LinkPhase phase() const { return phase_; }
  bool initiator() const { return initiator_; }
  // The extensions both ends agreed to (kFeature* bits); 0 on a base link.
  uint32_t agreed() const { return handshake_.agreement().features; }
  // Turns on keepalive and the heartbeat and starts the handshake; the
  // phase says where it stands after (kUp at once for a base link).
  void start();

  // The largest payload the peer takes now: its own limit once it agreed
  // to large payloads, the base frame's otherwise.
  size_t limit(bool response) const;

  // A call that gives up after timeout_ms: its session number (0 or more),
  // or a negative error code; nothing stays pending on error.
  int64_t call(uint32_t cmd, uint64_t traceid, const void *payload, size_t size, int timeout_ms);
  // A one-way request; 0 or a negative error code.
  int send(uint32_t cmd, uint64_t traceid, const void *payload, size_t size);
  int respond(uint32_t session, const void *payload, size_t size);
  // Tells the caller its call failed here, with (the start of) `text`.
  int respond_error(uint32_t session, const char *text, size_t size);
  // Ends the link from this side: fails the pending calls and returns
  // their sessions; no event is reported. Through LinkTable::close, which
  // then destroys it (after the batch, inside one).
  std::vector<uint32_t> close();
  // Closed, no batch reads its ring and no event of the LinkTable's is
  // being handled: the LinkTable may destroy it.
  bool finished() const { return phase_ == LinkPhase::kClosed && !in_batch_ && pins_ == 0; }
  // The LinkTable holds the link in place while it hands it an event.
  void pin(int delta) {
    pins_ += delta;
    assert(pins_ >= 0);
  }

  size_t pending() const;

  // What cluster.stats() reports per link.
  struct Stats {
    uint64_t bytes_in = 0;   // frames read, whole
    uint64_t bytes_out = 0;  // frames queued, whole
    uint64_t timeouts = 0;   // calls on this link that ran out of time
    uint64_t pings_sent = 0;
    uint64_t pings_missed = 0;   // heartbeat intervals a ping went unanswered
    uint64_t late = 0;           // responses dropped: their call had ended
    uint64_t calls = 0;          // calls sent (session opened, frame queued)
    uint64_t remote_errors = 0;  // responses saying the peer's handler failed
    uint64_t expired = 0;        // requests not started: their caller had given up
  };
  const Stats &stats() const { return stats_; }
  // Milliseconds since anything arrived on the link (since it came up, if
  // nothing has).
  int64_t idle_ms() const;
  void count_timeout() { stats_.timeouts++; }
  // Time histograms once metrics are on (LinkContext::observing), or
  // nullptr. A request handled here that arrived at start_us (its batch's
  // time, last_heard_us()) is counted with handled().
  const LinkTimes *times() const { return times_.get(); }
  void handled(int64_t start_us);
  int64_t last_heard_us() const { return last_heard_us_; }

  // The socket's and the clocks' events, routed here by the LinkTable.
  void on_data(RingBuffer &in);
  void on_close(int status);
  void on_writable();
  void on_deadline(LinkClock clock);

 private:
  // Sends what a handshake step returned and acts on its result.
  void apply(Handshake::Step step);
  // The handshake is through: the heartbeat's and the sink's link now.
  void go_up();
  // Logs (through the table) why the handshake was refused, and ends.
  void refuse(const std::string &why, int status = -EACCES);
  // While the handshake is exclusive, frame by frame, none larger than it
  // allows: true once through (the rest of `in` is ordinary frames).
  bool read_handshake(RingBuffer &in);
  // Hands what the ring holds to the table, kFlushEvery frames at a time.
  void read_batch(RingBuffer &in);
  // A frame of this link's own (hello, ping, pong, a chunk), handled here;
  // false for a frame the sink should see.
  bool take_own(const Frame &f);
  void heartbeat();
  // After a read: whether a frame is left unfinished in the ring, and
  // since when; arms the frame clock for it.
  void note_partial(bool progress, size_t left);
  void frame_deadline();
  int send_raw(const std::string &frames);
  int queue_control(uint32_t cmd);
  // A payload too large for one frame: copied, then sent chunk by chunk as
  // the socket drains, so frames queued later are not held behind it.
  int queue_large(bool response, uint32_t session, uint32_t cmd, uint64_t traceid, const void *prefix,
                  size_t prefix_size, const void *payload, size_t size);
  // A response to a pending call (marking a remote error); false for a late
  // one, which is dropped.
  bool accept_response(Frame *f);
  // A chunk frame; false once the link must end (end_status_ set).
  bool take_chunk(const Frame &f);
  int queue(const FrameParts &parts, const void *payload, size_t size);
  // A request (a call's, or a send's with deadline 0), with the deadline
  // in front of its payload where the link agreed to carry it.
  int queue_request(uint32_t session, uint32_t cmd, uint64_t traceid, uint64_t deadline_ms, const void *payload,
                    size_t size);
  // A request read on a link that agreed to deadlines: takes its deadline
  // out of the payload; false for one not to start (its deadline passed,
  // or its caller's link is already gone) or a malformed one (the link
  // then ends).
  bool admit(Frame *f, bool caller_gone);
  bool admit_request(Frame *f);
  // The link ended by itself: reported now, or after the batch that reads
  // its ring.
  void end(int status);
  bool ending() const { return phase_ == LinkPhase::kClosed || end_status_.has_value(); }
  LinkTimes &own_times();  // made on first use

  LinkContext &ctx_;
  SocketId id_;
  Handshake handshake_;
  LinkPhase phase_;
  bool initiator_;
  bool in_batch_ = false;
  bool caller_gone_ = false;  // during a batch: the peer's end was read with it
  int8_t pins_ = 0;
  bool heard_ = false;  // anything at all arrived
  bool ping_unanswered_ = false;
  int heartbeat_ms_;
  int keepalive_s_;
  int frame_timeout_ms_;
  TimerId heartbeat_ = 0;
  TimerId handshake_clock_ = 0;
  TimerId frame_clock_ = 0;
  // When the oldest unfinished frame in the ring began; 0: none.
  int64_t partial_since_us_ = 0;
  // Set by end() while a batch reads the ring: the end comes after it.
  std::optional<int> end_status_;
  int64_t last_heard_us_ = 0;
  Stats stats_;
  ChunkQueue outgoing_;
  Reassembler reassembler_;
  std::list<std::string> completed_;  // reassembled payloads of this chunk
  std::unique_ptr<LinkTimes> times_;
};

}  // namespace cluster
}  // namespace silly
