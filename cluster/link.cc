#include "silly/cluster/link.h"

#include <sys/uio.h>

#include <cassert>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "silly/core/clock.h"
#include "silly/core/log.h"

namespace silly {
namespace cluster {

namespace {

LinkPhase first_phase(const LinkOptions &o, bool initiator) {
  if (o.secret != nullptr) return LinkPhase::kAuth;
  return initiator && o.features() != 0 ? LinkPhase::kHello : LinkPhase::kUp;
}

// A TLS ClientHello record (16 03 0x, length, type 01, a 24-bit length
// under 64 KiB, version 03 0x): what a TLS client sends first. Seven fixed
// bytes that a base-wire first frame would need a length of exactly 5635
// and a matching payload start to imitate.
bool looks_like_tls(const RingBuffer &in) {
  return in.size() >= 11 && in.at(0) == 0x16 && in.at(1) == 0x03 && in.at(2) <= 0x04 && in.at(5) == 0x01 &&
         in.at(6) == 0x00 && in.at(9) == 0x03 && in.at(10) <= 0x04;
}

}  // namespace

Link::Link(LinkContext &context, SocketId id, const LinkOptions &options, bool initiator)
    : ctx_(context),
      id_(id),
      handshake_(initiator, options.handshake()),
      phase_(first_phase(options, initiator)),
      initiator_(initiator),
      heartbeat_ms_(options.heartbeat_ms),
      keepalive_s_(options.keepalive_s),
      frame_timeout_ms_(options.frame_timeout_ms),
      last_heard_us_(monotonic_us()),
      reassembler_(options.max_payload + kDeadlineSize) {}

Link::~Link() {
  ctx_.deadlines.disarm(&heartbeat_);
  ctx_.deadlines.disarm(&handshake_clock_);
  ctx_.deadlines.disarm(&frame_clock_);
}

void Link::start() {
  if (keepalive_s_ > 0) ctx_.sockets.set_keepalive(id_, keepalive_s_);
  if (phase_ == LinkPhase::kAuth && !initiator_) {
    // Nothing but the handshake is read until it is through.
    size_t unlimited;
    ctx_.sockets.set_read_limit(id_, Handshake::max_frame(), &unlimited);
  }
  if (heartbeat_ms_ > 0) heartbeat_ = ctx_.deadlines.arm(id_, LinkClock::kHeartbeat, heartbeat_ms_);
  apply(handshake_.start(ctx_.sessions));
  int wait = handshake_.wait_ms();
  if (wait > 0 && phase_ != LinkPhase::kClosed) {
    handshake_clock_ = ctx_.deadlines.arm(id_, LinkClock::kHandshake, wait);
  }
}

void Link::apply(Handshake::Step step) {
  if (!step.out.empty()) send_raw(step.out);
  if (step.result == Handshake::Result::kUp) {
    go_up();
  } else if (step.result == Handshake::Result::kFail) {
    refuse(step.why, step.status);
  }
}

void Link::go_up() {
  ctx_.deadlines.disarm(&handshake_clock_);
  if (phase_ == LinkPhase::kUp) return;                               // a listener without a secret: up since start()
  assert(phase_ == LinkPhase::kHello || phase_ == LinkPhase::kAuth);  // a closed link stays closed
  if (phase_ == LinkPhase::kAuth && !initiator_) {
    size_t limited;
    ctx_.sockets.set_read_limit(id_, SIZE_MAX, &limited);
  }
  phase_ = LinkPhase::kUp;
  ctx_.events.link_up(*this);
}

void Link::refuse(const std::string &why, int status) {
  ctx_.deadlines.disarm(&handshake_clock_);
  ctx_.events.link_refused(*this, why, status);
  end(status);
}

int Link::send_raw(const std::string &frames) {
  if (phase_ == LinkPhase::kClosed) return kErrUnknownSocket;
  struct iovec iov = {const_cast<char *>(frames.data()), frames.size()};
  int rc = ctx_.sockets.sendv(id_, &iov, 1);
  if (rc == 0) stats_.bytes_out += frames.size();
  return rc;
}

int Link::queue_control(uint32_t cmd) {
  FrameParts parts;
  make_request(0, cmd, 0, 0, &parts);
  return queue(parts, nullptr, 0);
}

bool Link::take_own(const Frame &f) {
  if (handshake_.running()) {
    Handshake::Step step = handshake_.take(f, ctx_.sessions);
    bool consumed = step.consumed;
    apply(std::move(step));
    if (consumed || ending()) return true;
  }
  uint32_t agreed = handshake_.agreement().features;
  if (f.response || agreed == 0) return false;  // reserved cmds mean nothing on a base link
  if ((agreed & kFeatureLarge) != 0 && f.cmd == kChunkCmd) {
    take_chunk(f);
    return true;
  }
  if (f.cmd == kPingCmd) {
    queue_control(kPongCmd);
    return true;
  }
  return f.cmd == kPongCmd;
}

int Link::queue(const FrameParts &parts, const void *payload, size_t size) {
  if (phase_ == LinkPhase::kClosed) return kErrUnknownSocket;
  struct iovec iov[3] = {
      {const_cast<uint8_t *>(parts.head), kLengthSize},
      {const_cast<void *>(payload), size},
      {const_cast<uint8_t *>(parts.tail), parts.tail_size},
  };
  int rc = ctx_.sockets.sendv(id_, iov, 3);
  if (rc == 0) stats_.bytes_out += kLengthSize + size + parts.tail_size;
  return rc;
}

size_t Link::limit(bool response) const {
  const Agreement &a = handshake_.agreement();
  // A peer that takes large payloads takes its limit and a request's
  // deadline besides; in one base frame the deadline takes its room.
  if ((a.features & kFeatureLarge) != 0) return a.peer_max;
  size_t prefix = !response && (a.features & kFeatureDeadline) != 0 ? kDeadlineSize : 0;
  return response ? kMaxResponsePayload : kMaxRequestPayload - prefix;
}

int64_t Link::call(uint32_t cmd, uint64_t traceid, const void *payload, size_t size, int timeout_ms) {
  if (phase_ == LinkPhase::kClosed) return kErrUnknownSocket;
  if (size > limit(false)) return -EMSGSIZE;
  SessionTable &sessions = ctx_.sessions;
  uint32_t session = sessions.open(id_, timeout_ms, ctx_.observing ? monotonic_us() : 0);
  uint64_t deadline = 0;
  if ((agreed() & kFeatureDeadline) != 0) deadline = static_cast<uint64_t>(wall_us() / 1000 + timeout_ms);
  int rc = queue_request(session, cmd, traceid, deadline, payload, size);
  if (rc != 0) {
    sessions.finish(session);  // refused: nothing may stay pending
    return rc;
  }
  stats_.calls++;
  return session;
}

int Link::send(uint32_t cmd, uint64_t traceid, const void *payload, size_t size) {
  if (size > limit(false)) return -EMSGSIZE;
  return queue_request(ctx_.sessions.next_unregistered(), cmd, traceid, 0, payload, size);
}

int Link::queue_request(uint32_t session, uint32_t cmd, uint64_t traceid, uint64_t deadline_ms, const void *payload,
                        size_t size) {
  uint8_t prefix[kDeadlineSize];
  size_t prefix_size = 0;
  if ((agreed() & kFeatureDeadline) != 0) {
    for (size_t i = 0; i < kDeadlineSize; i++) prefix[i] = static_cast<uint8_t>(deadline_ms >> (8 * i));
    prefix_size = kDeadlineSize;
  }
  if (prefix_size + size > kMaxRequestPayload) {
    return queue_large(false, session, cmd, traceid, prefix, prefix_size, payload, size);
  }
  if (phase_ == LinkPhase::kClosed) return kErrUnknownSocket;
  FrameParts parts;
  make_request(session, cmd, traceid, prefix_size + size, &parts);
  struct iovec iov[4] = {
      {const_cast<uint8_t *>(parts.head), kLengthSize},
      {prefix, prefix_size},
      {const_cast<void *>(payload), size},
      {const_cast<uint8_t *>(parts.tail), parts.tail_size},
  };
  int rc = ctx_.sockets.sendv(id_, iov, 4);
  if (rc == 0) stats_.bytes_out += kLengthSize + prefix_size + size + parts.tail_size;
  return rc;
}

bool Link::admit_request(Frame *f) {
  return (agreed() & kFeatureDeadline) == 0 || admit(f, caller_gone_);
}

bool Link::admit(Frame *f, bool caller_gone) {
  if (f->size < kDeadlineSize) {
    log_line(LogLevel::kError, "[cluster] link %lld: a request without its deadline, closing it",
             static_cast<long long>(id_));
    end(-EPROTO);
    return false;
  }
  uint64_t deadline = 0;
  for (size_t i = 0; i < kDeadlineSize; i++) deadline |= static_cast<uint64_t>(f->payload[i]) << (8 * i);
  f->payload += kDeadlineSize;
  f->size -= kDeadlineSize;
  f->deadline_ms = deadline;
  if (deadline == 0) return true;  // a send: no one waits for it
  // The caller was told "timeout" or "closed" and reads no answer: what
  // the request would do now (a purchase, say) is not what it asked for.
  bool late = static_cast<int64_t>(deadline) < wall_us() / 1000;
  if (!late && !caller_gone) return true;
  stats_.expired++;
  ctx_.expired++;
  log_line(LogLevel::kDebug, "[cluster] link %lld: request cmd %u session %u not started: %s",
           static_cast<long long>(id_), f->cmd, f->session, late ? "its deadline passed" : "its caller's link is gone");
  return false;
}

int Link::respond(uint32_t session, const void *payload, size_t size) {
  FrameParts parts;
  if (size > limit(true)) return -EMSGSIZE;
  if (size > kMaxResponsePayload) return queue_large(true, session, 0, 0, nullptr, 0, payload, size);
  make_response(session, size, &parts);
  return queue(parts, payload, size);
}

int Link::queue_large(bool response, uint32_t session, uint32_t cmd, uint64_t traceid, const void *prefix,
                      size_t prefix_size, const void *payload, size_t size) {
  if (phase_ == LinkPhase::kClosed) return kErrUnknownSocket;
  outgoing_.push(response, session, cmd, traceid, prefix, prefix_size, payload, size);
  on_writable();
  return 0;
}

bool Link::accept_response(Frame *f) {
  // Late responses (timed out, or to a one-way send) end here.
  int64_t sent_us = 0;
  if (!ctx_.sessions.finish(f->session, &sent_us)) {
    stats_.late++;
    return false;
  }
  // The batch's arrival time stands for the response's: no clock read per
  // call. A call made before metrics were on has no send time.
  if (ctx_.observing && sent_us != 0) own_times().calls.add(last_heard_us_ - sent_us);
  if (f->size >= kRemoteErrorMarkerSize && std::memcmp(f->payload, kRemoteErrorMarker, kRemoteErrorMarkerSize) == 0) {
    f->remote_error = true;
    stats_.remote_errors++;
    f->payload += kRemoteErrorMarkerSize;
    f->size -= kRemoteErrorMarkerSize;
  }
  return true;
}

void Link::on_writable() {
  if (phase_ != LinkPhase::kClosed) stats_.bytes_out += outgoing_.pump(ctx_.sockets, id_);
}

bool Link::take_chunk(const Frame &f) {
  Reassembler::Result r = reassembler_.take(f);
  if (r == Reassembler::Result::kMore) return true;
  if (r == Reassembler::Result::kMessage) {
    completed_.push_back(reassembler_.release());
    Frame m = reassembler_.message();
    m.payload = reinterpret_cast<const uint8_t *>(completed_.back().data());
    if (m.response ? accept_response(&m) : admit_request(&m)) ctx_.batch.push_back(m);
    return true;
  }
  log_line(LogLevel::kError, "[cluster] link %lld: %s, closing it", static_cast<long long>(id_),
           reassembler_.error().c_str());
  end(r == Reassembler::Result::kTooLarge ? -EMSGSIZE : -EPROTO);
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
  return ctx_.sessions.pending_on(id_);
}

std::vector<uint32_t> Link::close() {
  if (phase_ == LinkPhase::kClosed) return {};
  phase_ = LinkPhase::kClosed;
  ctx_.deadlines.disarm(&heartbeat_);
  ctx_.deadlines.disarm(&handshake_clock_);
  ctx_.deadlines.disarm(&frame_clock_);
  return ctx_.sessions.fail_link(id_);
}

void Link::end(int status) {
  if (phase_ == LinkPhase::kClosed) return;
  if (in_batch_) {
    if (!end_status_) end_status_ = status;  // after the batch, which still reads the ring
    return;
  }
  LinkEnd e;
  e.status = status;
  e.was = phase_;
  e.failed = close();
  ctx_.events.link_ended(*this, e);
}

void Link::on_close(int status) {
  if (phase_ == LinkPhase::kAuth && !initiator_) {
    // The connecting side found our proof wrong (a different secret), or
    // gave up: either way it never got through.
    refuse("the peer left during the handshake (" + std::string(socket_strerror(status)) + ")");
    return;
  }
  end(status);
}

void Link::on_data(RingBuffer &in) {
  heard_ = true;
  ping_unanswered_ = false;
  last_heard_us_ = monotonic_us();
  if (!initiator_ && handshake_.awaiting_first() && looks_like_tls(in)) {
    log_line(LogLevel::kWarn, "[cluster] link %lld: a TLS client on a plaintext port, closing it",
             static_cast<long long>(id_));
    end(-EPROTO);
    return;
  }
  // As a batch: an end met while reading (a close from the sink, say)
  // waits for its end, since the sink may still hold payloads in the ring.
  in_batch_ = true;
  // The caller's end of the link already read with this data: its calls
  // were failed on its side, and their requests are not started here.
  caller_gone_ = (agreed() & kFeatureDeadline) != 0 && ctx_.sockets.peer_ended(id_);
  uint64_t before = stats_.bytes_in;
  if (!handshake_.exclusive() || read_handshake(in)) read_batch(in);
  in_batch_ = false;
  if (!ending()) note_partial(stats_.bytes_in != before, in.size());
  if (end_status_ && phase_ != LinkPhase::kClosed) end(*end_status_);
}

bool Link::read_handshake(RingBuffer &in) {
  assert(in_batch_);
  while (handshake_.exclusive() && !ending()) {
    if (in.size() < kLengthSize) return false;
    size_t body = static_cast<size_t>(in.at(0)) << 8 | in.at(1);
    if (body > Handshake::max_frame()) {
      refuse("a " + std::to_string(body) + "-byte frame before authentication");
      return false;
    }
    Frame f;
    std::string why;
    ParseStatus st = parse_frame(in, &f, &why);
    if (st == ParseStatus::kNeedMore) return false;  // the read limit bounds the wait
    if (st == ParseStatus::kMalformed) {
      refuse(why);
      return false;
    }
    // Only a ping or pong is not the handshake's here.
    if (!take_own(f) && !ending()) refuse("a frame before authentication");
    in.consume(f.wire_size);
  }
  return !ending();
}

void Link::read_batch(RingBuffer &in) {
  assert(in_batch_);  // an end met while reading must wait for the batch
  while (!ending()) {
    // All that was read, contiguous: payloads handed out stay put until
    // the chunk is consumed.
    size_t avail = in.size();
    const uint8_t *data = in.linearize(avail);
    size_t used = 0;
    std::string error;
    ParseStatus st = ParseStatus::kNeedMore;
    ctx_.batch.clear();
    while (ctx_.batch.size() < kFlushEvery) {
      Frame f;
      st = parse_frame(data + used, avail - used, &f, &error);
      if (st != ParseStatus::kFrame) break;
      used += f.wire_size;
      if (take_own(f)) {
        if (ending()) break;  // a handshake refused, a chunk broke the rules
        continue;
      }
      if (f.response ? accept_response(&f) : admit_request(&f)) {
        ctx_.batch.push_back(f);
      } else if (ending()) {
        break;  // a malformed request
      }
    }
    stats_.bytes_in += used;  // before the sink: a caller it resumes may look
    if (!ctx_.batch.empty()) ctx_.events.link_frames(*this, ctx_.batch.data(), ctx_.batch.size());
    completed_.clear();
    in.consume(used);
    if (ending()) return;
    if (st == ParseStatus::kMalformed) {
      log_line(LogLevel::kError, "[cluster] link %lld: malformed frame, closing it: %s", static_cast<long long>(id_),
               error.c_str());
      in.clear();
      end(-EPROTO);
      return;
    }
    if (st == ParseStatus::kNeedMore) return;
    // A long batch: what the handlers wrote so far leaves now. A write that
    // fails closes its link, perhaps this one (then on_close marks it).
    ctx_.sockets.flush_writes();
  }
}

}  // namespace cluster
}  // namespace silly
