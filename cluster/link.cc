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
    : table_(table), id_(id), options_(options), initiator_(initiator), last_heard_us_(monotonic_us()) {
  frames_.reserve(kFlushEvery);
}

Link::~Link() {
  if (heartbeat_ != 0) table_.loop().cancel_timer(heartbeat_);
}

void Link::start() {
  if (options_.keepalive_s > 0) table_.sockets().set_keepalive(id_, options_.keepalive_s);
  if (initiator_ && options_.extended()) {
    HelloMessage hello;
    hello.features = options_.heartbeat_ms > 0 ? kFeatureHeartbeat : 0;
    hello.max_payload = kMaxRequestPayload;
    hello_session_ = table_.sessions().next_unregistered();
    hello_pending_ = queue_control(kHelloCmd, hello_session_, encode_hello(hello)) == 0;
  }
  if (options_.heartbeat_ms > 0) heartbeat_ = table_.loop().add_timer(options_.heartbeat_ms, this, 0);
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
      ack.features = offer.features & (options_.heartbeat_ms > 0 ? kFeatureHeartbeat : 0);
      ack.max_payload = kMaxRequestPayload;
      std::string payload = encode_hello(ack);
      FrameParts parts;
      make_response(f.session, payload.size(), &parts);
      if (queue(parts, payload.data(), payload.size()) == 0) agreed_ = ack.features;
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
    hello_pending_ = false;
    HelloMessage ack;
    // Anything but an ack (an original node's error answer, say) leaves
    // the link on the base wire.
    if (decode_hello(f.payload, f.size, &ack)) agreed_ = ack.features & kFeatureKnown;
    return true;
  }
  return false;
}

void Link::on_timer(TimerId, uint64_t) {
  heartbeat_ = 0;
  int64_t silent_ms = (monotonic_us() - last_heard_us_) / 1000;
  // Judged only where a silence means something: the peer agreed to answer
  // pings, or it has sent nothing at all since we connected.
  // A peer that never answered our hello is judged only while calls wait
  // on it: an idle link to a node that knows no hello is not dead.
  bool judged = (agreed_ & kFeatureHeartbeat) != 0 || (initiator_ && !heard_ && pending() > 0);
  if (judged && silent_ms >= 3 * static_cast<int64_t>(options_.heartbeat_ms)) {
    log_line(LogLevel::kWarn, "[cluster] link %lld: nothing heard for %lld ms, closing it", static_cast<long long>(id_),
             static_cast<long long>(silent_ms));
    end(-ETIMEDOUT);  // destroys this link
    return;
  }
  if ((agreed_ & kFeatureHeartbeat) != 0 && silent_ms >= options_.heartbeat_ms) {
    queue_control(kPingCmd, 0, std::string());
    pings_sent_++;
  }
  heartbeat_ = table_.loop().add_timer(options_.heartbeat_ms, this, 0);
}

int Link::queue(const FrameParts &parts, const void *payload, size_t size) {
  if (closed_) return kErrUnknownSocket;
  struct iovec iov[3] = {
      {const_cast<uint8_t *>(parts.head), kLengthSize},
      {const_cast<void *>(payload), size},
      {const_cast<uint8_t *>(parts.tail), parts.tail_size},
  };
  return table_.sockets().sendv(id_, iov, 3);
}

int64_t Link::call(uint32_t cmd, uint64_t traceid, const void *payload, size_t size, int timeout_ms) {
  FrameParts parts;
  if (closed_) return kErrUnknownSocket;
  if (size > kMaxRequestPayload) return -EMSGSIZE;
  SessionTable &sessions = table_.sessions();
  uint32_t session = sessions.open(id_, timeout_ms);
  make_request(session, cmd, traceid, size, &parts);
  int rc = queue(parts, payload, size);
  if (rc != 0) {
    sessions.finish(session);  // refused: nothing may stay pending
    return rc;
  }
  return session;
}

int Link::send(uint32_t cmd, uint64_t traceid, const void *payload, size_t size) {
  FrameParts parts;
  if (!make_request(table_.sessions().next_unregistered(), cmd, traceid, size, &parts)) return -EMSGSIZE;
  return queue(parts, payload, size);
}

int Link::respond(uint32_t session, const void *payload, size_t size) {
  FrameParts parts;
  if (!make_response(session, size, &parts)) return -EMSGSIZE;
  return queue(parts, payload, size);
}

int Link::respond_error(uint32_t session, const char *text, size_t size) {
  std::string payload(kRemoteErrorMarker, kRemoteErrorMarkerSize);
  payload.append(text, size < kMaxRemoteErrorText ? size : kMaxRemoteErrorText);
  return respond(session, payload.data(), payload.size());
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
  table_.sink().on_close(*this, status, failed);
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
  SessionTable &sessions = table_.sessions();
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
      if (take_extension(f)) continue;
      if (f.response) {
        // Late responses (timed out, or to a one-way send) end here.
        if (!sessions.finish(f.session)) continue;
        if (f.size >= kRemoteErrorMarkerSize &&
            std::memcmp(f.payload, kRemoteErrorMarker, kRemoteErrorMarkerSize) == 0) {
          f.remote_error = true;
          f.payload += kRemoteErrorMarkerSize;
          f.size -= kRemoteErrorMarkerSize;
        }
      }
      frames_.push_back(f);
    }
    if (!frames_.empty()) table_.sink().on_frames(*this, frames_.data(), frames_.size());
    in.consume(used);
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
