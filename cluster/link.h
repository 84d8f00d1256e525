// One cluster connection as an object: it owns its socket (as the socket's
// SocketOwner), parses frames out of the receive ring, keeps the session
// entries and deadlines of the calls made on it, flushes its writes within
// a long batch, and closes. Everything it receives goes to a LinkSink:
// frames, a call's timeout, and the close, all by the same route.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "silly/cluster/auth.h"
#include "silly/cluster/chunks.h"
#include "silly/cluster/frame.h"
#include "silly/cluster/hello.h"
#include "silly/cluster/latency.h"
#include "silly/core/socket.h"

namespace silly {
namespace cluster {

class Link;
class LinkTable;

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
  // Offered in a hello (the connecting side) or accepted in one (the
  // listening side). A side with none of them never sends a hello; it
  // answers one with an ack that accepts nothing.
  bool extended() const { return heartbeat_ms > 0 || max_payload > kMaxRequestPayload || secret != nullptr; }
  uint32_t features() const {
    return (heartbeat_ms > 0 ? kFeatureHeartbeat : 0) | (max_payload > kMaxRequestPayload ? kFeatureLarge : 0) |
           (secret != nullptr ? kFeatureAuth : 0);
  }
};

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

class Link final : public SocketOwner, private TimerOwner {
 public:
  // Within a long read batch, queued writes leave every this many frames,
  // so the peer works on the answers while this side reads on.
  static constexpr size_t kFlushEvery = 32;

  // `initiator`: this side connected (and so speaks first in a hello).
  Link(LinkTable &table, SocketId id, const LinkOptions &options, bool initiator);
  ~Link();
  Link(const Link &) = delete;
  Link &operator=(const Link &) = delete;

  SocketId id() const { return id_; }
  bool closed() const { return closed_; }
  // The extensions both ends agreed to (kFeature* bits); 0 on a base link.
  uint32_t agreed() const { return agreed_; }
  // Sends the hello (initiator) and arms the heartbeat; LinkTable calls it
  // once the link is up. An accepted link with a secret is told to the sink
  // as coming from `listener` and `peer` once it authenticated.
  void start(SocketId listener = 0, const std::string &peer = std::string());
  // Up for its owner: a connecting link with extensions is, once its hello
  // is answered (or kHelloWaitMs passed without an answer: a peer that
  // knows no hello); a link with a secret once the peer proved it knows
  // it. LinkTable tells the sink on_connect (or on_accept) then.
  bool ready() const { return !hello_pending_ && auth_ == nullptr; }
  static constexpr int kHelloWaitMs = 1000;

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
  // Closes from this side: fails the pending calls and returns their
  // sessions; the sink is not told. Safe inside on_frames.
  std::vector<uint32_t> close();

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
  };
  const Stats &stats() const { return stats_; }
  // Milliseconds since anything arrived on the link (since it came up, if
  // nothing has).
  int64_t idle_ms() const;
  void count_timeout() { stats_.timeouts++; }
  // Time histograms once metrics are on (LinkTable::set_observing), or
  // nullptr. A request handled here that arrived at start_us (its batch's
  // time, last_heard_us()) is counted with handled().
  const LinkTimes *times() const { return times_.get(); }
  void handled(int64_t start_us);
  int64_t last_heard_us() const { return last_heard_us_; }

  // SocketOwner
  void on_data(SocketId id, RingBuffer &in) override;
  void on_close(SocketId id, int status) override;
  void on_writable(SocketId id) override;

 private:
  // TimerOwner: the heartbeat (every options_.heartbeat_ms) and the wait
  // for the hello's answer (or, with a secret, for the whole handshake).
  void on_timer(TimerId id, uint64_t arg) override;
  // The listening side of the secret's handshake, before any frame reaches
  // the batch: true once through (the rest of `in` is ordinary frames).
  bool authenticate(RingBuffer &in);
  bool take_auth_frame(const Frame &f, std::string *why);
  // Logs why and closes: an initiator's connect fails with EACCES, an
  // accepted link goes without its owner ever hearing of it.
  void fail_auth(const std::string &why);
  // The hello was answered, or its wait ran out: the link is up.
  void end_hello();
  // A frame of the extensions, handled here and never passed to the sink;
  // false for a frame the sink should see.
  bool take_extension(const Frame &f);
  int queue_control(uint32_t cmd, uint32_t session, const std::string &payload);
  // A payload too large for one frame: copied, then sent chunk by chunk as
  // the socket drains, so frames queued later are not held behind it.
  int queue_large(bool response, uint32_t session, uint32_t cmd, uint64_t traceid, const void *payload, size_t size);
  void pump();
  // A response to a pending call (marking a remote error); false for a late
  // one, which is dropped.
  bool accept_response(Frame *f);
  // A chunk frame; false once the link must close (pending_status_ set).
  bool take_chunk(const Frame &f);
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
  LinkOptions options_;
  bool initiator_;
  bool closed_ = false;
  bool seen_first_ = false;     // the first frame decides whether a hello came
  bool heard_ = false;          // anything at all arrived
  bool hello_pending_ = false;  // our hello awaits its ack
  TimerId hello_timer_ = 0;
  uint32_t hello_session_ = 0;
  uint32_t agreed_ = 0;
  int64_t last_heard_us_ = 0;
  TimerId heartbeat_ = 0;
  bool ping_unanswered_ = false;
  Stats stats_;
  size_t peer_max_ = kMaxRequestPayload;
  struct Outgoing {
    std::string payload;
    std::string header;
    uint64_t flags;
    uint32_t session;
    size_t sent = 0;
  };
  // Lists, not deques: an empty one allocates nothing, and most links
  // never send or receive a large payload.
  std::list<Outgoing> outgoing_;
  Reassembler reassembler_;
  std::list<std::string> completed_;  // reassembled payloads of this chunk
  // While a link with a secret authenticates; gone once it did.
  struct AuthState {
    explicit AuthState(Secret s) : auth(std::move(s)) {}
    Authenticator auth;
    bool done_hello = false;  // the hello was acked; the proof comes next
    SocketId listener = 0;    // the listening side: told to the sink once through
    std::string peer;
  };
  std::unique_ptr<AuthState> auth_;
  std::unique_ptr<LinkTimes> times_;
  LinkTimes &own_times();  // made on first use
  bool in_batch_ = false;
  int pending_status_ = 1;  // set while a batch runs: end(status) after it
  // The frames of the chunk being read: the table's, as only one link
  // reads at a time (a link keeps no array of its own while idle).
  std::vector<Frame> &frames_;
};

}  // namespace cluster
}  // namespace silly
