#include "silly/cluster/link.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "silly/cluster/link_table.h"
#include "silly/core/clock.h"
#include "silly/core/log.h"

namespace silly {
namespace cluster {

Link::Link(LinkTable &table, SocketId id, const LinkOptions &options, bool initiator)
    : table_(table),
      id_(id),
      options_(options),
      initiator_(initiator),
      last_heard_us_(monotonic_us()),
      reassembler_(options.max_payload),
      frames_(table.batch_frames()) {}

namespace {
constexpr uint64_t kHeartbeatTimer = 0;
constexpr uint64_t kHelloTimer = 1;
}  // namespace

Link::~Link() {
  if (heartbeat_ != 0) table_.loop().cancel_timer(heartbeat_);
  if (hello_timer_ != 0) table_.loop().cancel_timer(hello_timer_);
}

// A TLS ClientHello record (16 03 0x, length, type 01, a 24-bit length
// under 64 KiB, version 03 0x): what a TLS client sends first. Seven fixed
// bytes that a base-wire first frame would need a length of exactly 5635
// and a matching payload start to imitate.
static bool looks_like_tls(const RingBuffer &in) {
  return in.size() >= 11 && in.at(0) == 0x16 && in.at(1) == 0x03 && in.at(2) <= 0x04 && in.at(5) == 0x01 &&
         in.at(6) == 0x00 && in.at(9) == 0x03 && in.at(10) <= 0x04;
}

void Link::start(SocketId listener, const std::string &peer) {
  if (options_.keepalive_s > 0) table_.sockets().set_keepalive(id_, options_.keepalive_s);
  if (options_.secret != nullptr) auth_ = std::make_unique<AuthState>(options_.secret);
  if (initiator_ && options_.extended()) {
    HelloMessage hello;
    hello.features = options_.features();
    hello.max_payload = static_cast<uint32_t>(options_.max_payload);
    hello_session_ = table_.sessions().next_unregistered();
    std::string payload = auth_ != nullptr ? auth_->auth.client_hello(hello) : encode_hello(hello);
    hello_pending_ = queue_control(kHelloCmd, hello_session_, payload) == 0;
    int wait_ms = auth_ != nullptr ? options_.handshake_ms : kHelloWaitMs;
    if (hello_pending_) hello_timer_ = table_.loop().add_timer(wait_ms, this, kHelloTimer);
  } else if (auth_ != nullptr) {
    // Nothing but the handshake is read until it is through, and not for
    // longer than handshake_ms.
    auth_->listener = listener;
    auth_->peer = peer;
    size_t unlimited;
    table_.sockets().set_read_limit(id_, kMaxAuthFrame, &unlimited);
    hello_timer_ = table_.loop().add_timer(options_.handshake_ms, this, kHelloTimer);
  }
  if (options_.heartbeat_ms > 0) heartbeat_ = table_.loop().add_timer(options_.heartbeat_ms, this, kHeartbeatTimer);
}

void Link::end_hello() {
  if (!hello_pending_) return;
  hello_pending_ = false;
  if (hello_timer_ != 0) table_.loop().cancel_timer(hello_timer_);
  hello_timer_ = 0;
  table_.sink().on_connect(id_, 0);
}

int Link::queue_control(uint32_t cmd, uint32_t session, const std::string &payload) {
  FrameParts parts;
  make_request(session, cmd, 0, payload.size(), &parts);
  return queue(parts, payload.data(), payload.size());
}

bool Link::take_extension(const Frame &f) {
  bool first = !seen_first_;
  seen_first_ = true;
  if (!f.response) {
    if (first && !initiator_ && f.cmd == kHelloCmd) {
      HelloMessage offer;
      if (!decode_hello(f.payload, f.size, &offer)) return true;
      // Answered even by a listener that offers nothing (it accepts no
      // feature then), so that the other side knows this one is alive.
      HelloMessage ack;
      ack.features = offer.features & options_.features();
      ack.max_payload = static_cast<uint32_t>(options_.max_payload);
      peer_max_ = offer.max_payload;
      std::string payload = encode_hello(ack);
      if (respond(f.session, payload.data(), payload.size()) == 0) agreed_ = ack.features;
      return true;
    }
    if (agreed_ == 0) return false;  // reserved cmds mean nothing on a base link
    if (f.cmd == kPingCmd) {
      queue_control(kPongCmd, 0, std::string());
      return true;
    }
    return f.cmd == kPongCmd;
  }
  if (hello_pending_ && f.session == hello_session_) {
    HelloMessage ack;
    if (auth_ != nullptr && auth_->done_hello) {
      // The listener's word that our proof was right: the link is up.
      auth_.reset();
      end_hello();
      return true;
    }
    if (auth_ != nullptr) {
      std::string proof;
      if (!auth_->auth.client_check_ack(f.payload, f.size, &ack, &proof)) {
        fail_auth(auth_->auth.why());
        return true;
      }
      agreed_ = ack.features & options_.features();
      peer_max_ = ack.max_payload;
      auth_->done_hello = true;
      hello_session_ = table_.sessions().next_unregistered();  // what the confirmation answers
      queue_control(kAuthCmd, hello_session_, proof);
      return true;
    }
    // Anything but an ack (an original node's error answer, say) leaves
    // the link on the base wire.
    if (decode_hello(f.payload, f.size, &ack)) {
      if ((ack.features & kFeatureAuth) != 0) {
        fail_auth("the peer requires a secret");
        return true;
      }
      agreed_ = ack.features & options_.features();
      peer_max_ = ack.max_payload;
    }
    end_hello();
    return true;
  }
  return false;
}

bool Link::authenticate(RingBuffer &in) {
  while (auth_ != nullptr && !closed_ && pending_status_ > 0) {
    if (in.size() < kLengthSize) return false;
    size_t body = static_cast<size_t>(in.at(0)) << 8 | in.at(1);
    if (body > kMaxAuthFrame) {
      fail_auth("a " + std::to_string(body) + "-byte frame before authentication");
      return false;
    }
    Frame f;
    std::string why;
    ParseStatus st = parse_frame(in, &f, &why);
    if (st == ParseStatus::kNeedMore) return false;  // the read limit bounds the wait
    if (st == ParseStatus::kMalformed || !take_auth_frame(f, &why)) {
      fail_auth(why);
      return false;
    }
    seen_first_ = true;
    in.consume(f.wire_size);
  }
  return !closed_ && pending_status_ > 0;
}

bool Link::take_auth_frame(const Frame &f, std::string *why) {
  Authenticator &a = auth_->auth;
  if (!auth_->done_hello) {
    if (f.response || f.cmd != kHelloCmd) {
      *why = "the peer sent no hello (a node without the secret, or on the base wire)";
      return false;
    }
    HelloMessage offer;
    std::string ack;
    if (!a.server_take_hello(f.payload, f.size, options_.features(), static_cast<uint32_t>(options_.max_payload),
                             &offer, &ack)) {
      // An ack that asks for a secret lets a connecting node say why.
      HelloMessage refusal;
      refusal.features = kFeatureAuth;
      std::string payload = encode_hello(refusal);
      respond(f.session, payload.data(), payload.size());
      *why = a.why();
      return false;
    }
    agreed_ = offer.features & options_.features();
    peer_max_ = offer.max_payload;
    auth_->done_hello = true;
    if (respond(f.session, ack.data(), ack.size()) != 0) {
      *why = "cannot answer the hello";
      return false;
    }
    return true;
  }
  if (f.response || f.cmd != kAuthCmd) {
    *why = "no proof after the hello";
    return false;
  }
  if (!a.server_check_proof(f.payload, f.size)) {
    *why = a.why();
    return false;
  }
  respond(f.session, nullptr, 0);
  SocketId listener = auth_->listener;
  std::string peer = std::move(auth_->peer);
  auth_.reset();
  if (hello_timer_ != 0) table_.loop().cancel_timer(hello_timer_);
  hello_timer_ = 0;
  size_t limited;
  table_.sockets().set_read_limit(id_, SIZE_MAX, &limited);
  table_.sink().on_accept(listener, *this, peer);
  return true;
}

void Link::fail_auth(const std::string &why) {
  if (initiator_) {
    log_line(LogLevel::kWarn, "[cluster] link %lld: authentication failed: %s", static_cast<long long>(id_),
             why.c_str());
  } else {
    log_line(LogLevel::kWarn, "[cluster] link from %s: authentication failed: %s, closing it",
             auth_ != nullptr ? auth_->peer.c_str() : "?", why.c_str());
  }
  end(-EACCES);
}

void Link::on_timer(TimerId, uint64_t arg) {
  if (arg == kHelloTimer) {
    hello_timer_ = 0;
    if (auth_ != nullptr) {
      fail_auth("not through within " + std::to_string(options_.handshake_ms) + " ms");
      return;
    }
    end_hello();  // no answer: a peer on the base wire
    return;
  }
  heartbeat_ = 0;
  int64_t silent_ms = idle_ms();
  // Judged only where a silence means something: the peer agreed to answer
  // pings, or it has sent nothing at all since we connected and calls wait
  // on it (an idle link to a node that knows no hello is not dead).
  bool judged = (agreed_ & kFeatureHeartbeat) != 0 || (initiator_ && !heard_ && pending() > 0);
  if (ping_unanswered_) stats_.pings_missed++;
  ping_unanswered_ = false;
  if (judged && silent_ms >= 3 * static_cast<int64_t>(options_.heartbeat_ms)) {
    log_line(LogLevel::kWarn, "[cluster] link %lld: nothing heard for %lld ms, closing it", static_cast<long long>(id_),
             static_cast<long long>(silent_ms));
    end(-ETIMEDOUT);  // destroys this link
    return;
  }
  if ((agreed_ & kFeatureHeartbeat) != 0 && silent_ms >= options_.heartbeat_ms) {
    queue_control(kPingCmd, 0, std::string());
    stats_.pings_sent++;
    ping_unanswered_ = true;
  }
  heartbeat_ = table_.loop().add_timer(options_.heartbeat_ms, this, kHeartbeatTimer);
}

int Link::queue(const FrameParts &parts, const void *payload, size_t size) {
  if (closed_) return kErrUnknownSocket;
  struct iovec iov[3] = {
      {const_cast<uint8_t *>(parts.head), kLengthSize},
      {const_cast<void *>(payload), size},
      {const_cast<uint8_t *>(parts.tail), parts.tail_size},
  };
  int rc = table_.sockets().sendv(id_, iov, 3);
  if (rc == 0) stats_.bytes_out += kLengthSize + size + parts.tail_size;
  return rc;
}

size_t Link::limit(bool response) const {
  if ((agreed_ & kFeatureLarge) != 0) return peer_max_;
  return response ? kMaxResponsePayload : kMaxRequestPayload;
}

int64_t Link::call(uint32_t cmd, uint64_t traceid, const void *payload, size_t size, int timeout_ms) {
  FrameParts parts;
  if (closed_) return kErrUnknownSocket;
  if (size > limit(false)) return -EMSGSIZE;
  SessionTable &sessions = table_.sessions();
  uint32_t session = sessions.open(id_, timeout_ms, table_.observing() ? monotonic_us() : 0);
  int rc;
  if (size > kMaxRequestPayload) {
    rc = queue_large(false, session, cmd, traceid, payload, size);
  } else {
    make_request(session, cmd, traceid, size, &parts);
    rc = queue(parts, payload, size);
  }
  if (rc != 0) {
    sessions.finish(session);  // refused: nothing may stay pending
    return rc;
  }
  stats_.calls++;
  return session;
}

int Link::send(uint32_t cmd, uint64_t traceid, const void *payload, size_t size) {
  FrameParts parts;
  if (size > limit(false)) return -EMSGSIZE;
  uint32_t session = table_.sessions().next_unregistered();
  if (size > kMaxRequestPayload) return queue_large(false, session, cmd, traceid, payload, size);
  make_request(session, cmd, traceid, size, &parts);
  return queue(parts, payload, size);
}

int Link::respond(uint32_t session, const void *payload, size_t size) {
  FrameParts parts;
  if (size > limit(true)) return -EMSGSIZE;
  if (size > kMaxResponsePayload) return queue_large(true, session, 0, 0, payload, size);
  make_response(session, size, &parts);
  return queue(parts, payload, size);
}

int Link::queue_large(bool response, uint32_t session, uint32_t cmd, uint64_t traceid, const void *payload,
                      size_t size) {
  if (closed_) return kErrUnknownSocket;
  Outgoing m;
  m.payload.assign(static_cast<const char *>(payload), size);
  m.header = encode_chunk_header(static_cast<uint32_t>(size), cmd, traceid);
  m.flags = response ? kChunkResponse : 0;
  m.session = session;
  outgoing_.push_back(std::move(m));
  pump();
  return 0;
}

void Link::pump() {
  // At most this much of the large payloads waits in the send queue, so a
  // small frame queued now leaves after it, not after all of them.
  constexpr size_t kWindow = 256u << 10;
  SocketManager &sm = table_.sockets();
  while (!outgoing_.empty() && !closed_ && sm.send_queue_size(id_) < kWindow) {
    Outgoing &m = outgoing_.front();
    bool first = m.sent == 0;
    size_t room = kChunkFrameData - (first ? kChunkHeader : 0);
    size_t n = m.payload.size() - m.sent < room ? m.payload.size() - m.sent : room;
    bool last = m.sent + n == m.payload.size();
    uint64_t flags = m.flags | (first ? kChunkFirst : 0) | (last ? kChunkLast : 0);
    FrameParts parts;
    make_request(m.session, kChunkCmd, flags, (first ? kChunkHeader : 0) + n, &parts);
    struct iovec iov[4] = {
        {const_cast<uint8_t *>(parts.head), kLengthSize},
        {const_cast<char *>(m.header.data()), first ? kChunkHeader : 0},
        {const_cast<char *>(m.payload.data()) + m.sent, n},
        {const_cast<uint8_t *>(parts.tail), parts.tail_size},
    };
    if (sm.sendv(id_, iov, 4) != 0) return;  // the link is failing; its close follows
    stats_.bytes_out += kLengthSize + (first ? kChunkHeader : 0) + n + parts.tail_size;
    m.sent += n;
    if (last) outgoing_.pop_front();
  }
  if (!outgoing_.empty()) sm.notify_drained(id_);
}

bool Link::accept_response(Frame *f) {
  // Late responses (timed out, or to a one-way send) end here.
  int64_t sent_us = 0;
  if (!table_.sessions().finish(f->session, &sent_us)) {
    stats_.late++;
    return false;
  }
  // The batch's arrival time stands for the response's: no clock read per
  // call. A call made before metrics were on has no send time.
  if (table_.observing() && sent_us != 0) own_times().calls.add(last_heard_us_ - sent_us);
  if (f->size >= kRemoteErrorMarkerSize && std::memcmp(f->payload, kRemoteErrorMarker, kRemoteErrorMarkerSize) == 0) {
    f->remote_error = true;
    stats_.remote_errors++;
    f->payload += kRemoteErrorMarkerSize;
    f->size -= kRemoteErrorMarkerSize;
  }
  return true;
}

void Link::on_writable(SocketId) {
  pump();
}

bool Link::take_chunk(const Frame &f) {
  Reassembler::Result r = reassembler_.take(f);
  if (r == Reassembler::Result::kMore) return true;
  if (r == Reassembler::Result::kMessage) {
    completed_.push_back(reassembler_.release());
    Frame m = reassembler_.message();
    m.payload = reinterpret_cast<const uint8_t *>(completed_.back().data());
    if (!m.response || accept_response(&m)) frames_.push_back(m);
    return true;
  }
  log_line(LogLevel::kError, "[cluster] link %lld: %s, closing it", static_cast<long long>(id_),
           reassembler_.error().c_str());
  pending_status_ = r == Reassembler::Result::kTooLarge ? -EMSGSIZE : -EPROTO;
  return false;
}

int Link::respond_error(uint32_t session, const char *text, size_t size) {
  std::string payload(kRemoteErrorMarker, kRemoteErrorMarkerSize);
  payload.append(text, size < kMaxRemoteErrorText ? size : kMaxRemoteErrorText);
  return respond(session, payload.data(), payload.size());
}

LinkTimes &Link::own_times() {
  if (times_ == nullptr) times_ = std::make_unique<LinkTimes>();
  return *times_;
}

void Link::handled(int64_t start_us) {
  own_times().handled.add(monotonic_us() - start_us);
}

int64_t Link::idle_ms() const {
  return (monotonic_us() - last_heard_us_) / 1000;
}

size_t Link::pending() const {
  return table_.sessions().pending_on(id_);
}

std::vector<uint32_t> Link::close() {
  if (closed_) return {};
  closed_ = true;
  std::vector<uint32_t> failed = table_.sessions().fail_link(id_);
  release();
  return failed;
}

void Link::end(int status) {
  if (closed_) return;
  if (in_batch_) {
    pending_status_ = status;  // after the batch, which still reads the ring
    return;
  }
  closed_ = true;
  std::vector<uint32_t> failed = table_.sessions().fail_link(id_);
  if (ready()) {
    table_.sink().on_close(*this, status, failed);
  } else if (initiator_) {
    // Its owner never had it: the connect failed. With a secret, any end
    // before the listener's confirmation is a refusal.
    table_.sink().on_connect(id_, auth_ != nullptr ? -EACCES : status != 0 ? status : -ECONNRESET);
  }  // an accepted link that never authenticated: nobody knew of it
  release();
}

void Link::release() {
  if (in_batch_) return;
  table_.sockets().close(id_);
  table_.remove(id_);  // destroys this link
}

void Link::on_close(SocketId, int status) {
  if (auth_ != nullptr && !initiator_) {
    // The connecting side found our proof wrong (a different secret), or
    // gave up: either way it never got through.
    fail_auth("the peer left during the handshake (" + std::string(socket_strerror(status)) + ")");
    return;
  }
  end(status);
}

void Link::on_data(SocketId, RingBuffer &in) {
  heard_ = true;
  ping_unanswered_ = false;
  last_heard_us_ = monotonic_us();
  if (!initiator_ && !seen_first_ && looks_like_tls(in)) {
    log_line(LogLevel::kWarn, "[cluster] link %lld: a TLS client on a plaintext port, closing it",
             static_cast<long long>(id_));
    if (auth_ != nullptr) auth_.reset();
    end(-EPROTO);
    return;
  }
  // As a batch: a close from the sink (in on_accept, say) waits for its end.
  in_batch_ = true;
  if (auth_ == nullptr || initiator_ || authenticate(in)) read_batch(in);
  in_batch_ = false;
  if (!closed_ && pending_status_ <= 0) {
    end(pending_status_);
  } else if (closed_) {
    release();
  }
}

void Link::read_batch(RingBuffer &in) {
  while (!closed_ && pending_status_ > 0) {
    // All that was read, contiguous: payloads handed out stay put until
    // the chunk is consumed.
    size_t avail = in.size();
    const uint8_t *data = in.linearize(avail);
    size_t used = 0;
    std::string error;
    ParseStatus st = ParseStatus::kNeedMore;
    frames_.clear();
    while (frames_.size() < kFlushEvery) {
      Frame f;
      st = parse_frame(data + used, avail - used, &f, &error);
      if (st != ParseStatus::kFrame) break;
      used += f.wire_size;
      if ((agreed_ & kFeatureLarge) != 0 && !f.response && f.cmd == kChunkCmd) {
        if (take_chunk(f)) continue;
        break;
      }
      if (take_extension(f)) {
        if (pending_status_ <= 0) break;  // an authentication failed
        continue;
      }
      if (auth_ != nullptr) {
        // The listener speaks before it proved it knows the secret.
        fail_auth("a frame before authentication");
        break;
      }
      if (!f.response || accept_response(&f)) frames_.push_back(f);
    }
    stats_.bytes_in += used;  // before the sink: a caller it resumes may look
    if (!frames_.empty()) table_.sink().on_frames(*this, frames_.data(), frames_.size());
    completed_.clear();
    in.consume(used);
    if (pending_status_ <= 0) return;  // a chunk broke the rules
    if (st == ParseStatus::kMalformed) {
      log_line(LogLevel::kError, "[cluster] link %lld: malformed frame, closing it: %s", static_cast<long long>(id_),
               error.c_str());
      in.clear();
      if (!closed_) pending_status_ = -EPROTO;
      return;
    }
    if (st == ParseStatus::kNeedMore) return;
    // A long batch: what the handlers wrote so far leaves now. A write that
    // fails closes its link, perhaps this one (then on_close marks it).
    table_.sockets().flush_writes();
  }
}

}  // namespace cluster
}  // namespace silly
