#include "cluster/link.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "cluster/link_table.h"
#include "core/clock.h"
#include "core/log.h"

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

void Link::start() {
  if (options_.keepalive_s > 0) table_.sockets().set_keepalive(id_, options_.keepalive_s);
  if (initiator_ && options_.extended()) {
    HelloMessage hello;
    hello.features = options_.features();
    hello.max_payload = static_cast<uint32_t>(options_.max_payload);
    hello_session_ = table_.sessions().next_unregistered();
    hello_pending_ = queue_control(kHelloCmd, hello_session_, encode_hello(hello)) == 0;
    if (hello_pending_) hello_timer_ = table_.loop().add_timer(kHelloWaitMs, this, kHelloTimer);
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
    // Anything but an ack (an original node's error answer, say) leaves
    // the link on the base wire.
    if (decode_hello(f.payload, f.size, &ack)) {
      agreed_ = ack.features & options_.features();
      peer_max_ = ack.max_payload;
    }
    end_hello();
    return true;
  }
  return false;
}

void Link::on_timer(TimerId, uint64_t arg) {
  if (arg == kHelloTimer) {
    hello_timer_ = 0;
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
  uint32_t session = sessions.open(id_, timeout_ms);
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
  if (!table_.sessions().finish(f->session)) return false;
  if (f->size >= kRemoteErrorMarkerSize && std::memcmp(f->payload, kRemoteErrorMarker, kRemoteErrorMarkerSize) == 0) {
    f->remote_error = true;
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
  } else {
    // Its owner never had it: the connect failed.
    table_.sink().on_connect(id_, status != 0 ? status : -ECONNRESET);
  }
  release();
}

void Link::release() {
  if (in_batch_) return;
  table_.sockets().close(id_);
  table_.remove(id_);  // destroys this link
}

void Link::on_close(SocketId, int status) {
  end(status);
}

void Link::on_data(SocketId, RingBuffer &in) {
  heard_ = true;
  ping_unanswered_ = false;
  last_heard_us_ = monotonic_us();
  in_batch_ = true;
  read_batch(in);
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
      if (take_extension(f)) continue;
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
