#include "silly/cluster/chunks.h"

#include <sys/uio.h>

namespace silly {
namespace cluster {

namespace {

uint32_t get_u32(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

void put_u32(std::string *out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}

}  // namespace

std::string encode_chunk_header(uint32_t total, uint32_t cmd, uint64_t traceid) {
  std::string h;
  put_u32(&h, total);
  put_u32(&h, cmd);
  put_u32(&h, static_cast<uint32_t>(traceid));
  put_u32(&h, static_cast<uint32_t>(traceid >> 32));
  return h;
}

Reassembler::Result Reassembler::fail(Result r, std::string why) {
  error_ = std::move(why);
  return r;
}

Reassembler::Result Reassembler::take(const Frame &f) {
  uint64_t flags = f.traceid;
  bool response = (flags & kChunkResponse) != 0;
  uint64_t key = (static_cast<uint64_t>(response) << 32) | f.session;
  const uint8_t *data = f.payload;
  size_t size = f.size;
  auto it = open_.find(key);
  if ((flags & kChunkFirst) != 0) {
    if (it != open_.end()) return fail(Result::kMalformed, "a message began twice");
    if (size < kChunkHeader) return fail(Result::kMalformed, "a first chunk without its header");
    if (open_.size() >= kMaxOpenMessages) return fail(Result::kMalformed, "too many messages open at once");
    Open m;
    m.total = get_u32(data);
    m.cmd = get_u32(data + 4);
    m.traceid = static_cast<uint64_t>(get_u32(data + 8)) | static_cast<uint64_t>(get_u32(data + 12)) << 32;
    if (m.total > limit_) {
      return fail(Result::kTooLarge,
                  "a message of " + std::to_string(m.total) + " bytes, over the limit of " + std::to_string(limit_));
    }
    data += kChunkHeader;
    size -= kChunkHeader;
    // Reserved as it grows, never from the peer's word alone.
    it = open_.emplace(key, std::move(m)).first;
  } else if (it == open_.end()) {
    return fail(Result::kMalformed, "a chunk of no message");
  }
  Open &m = it->second;
  if (m.data.size() + size > m.total) return fail(Result::kTooLarge, "chunks beyond the size the message announced");
  if (buffered_ + size > limit_) {
    return fail(Result::kTooLarge, "messages open at once over the limit of " + std::to_string(limit_));
  }
  m.data.append(reinterpret_cast<const char *>(data), size);
  buffered_ += size;
  if ((flags & kChunkLast) == 0) return Result::kMore;
  if (m.data.size() != m.total) return fail(Result::kMalformed, "a message that ended short of its size");
  buffered_ -= m.data.size();
  done_data_ = std::move(m.data);
  done_ = Frame{};
  done_.response = response;
  done_.session = f.session;
  done_.cmd = m.cmd;
  done_.traceid = m.traceid;
  done_.payload = reinterpret_cast<const uint8_t *>(done_data_.data());
  done_.size = done_data_.size();
  open_.erase(it);
  return Result::kMessage;
}

void ChunkQueue::push(bool response, uint32_t session, uint32_t cmd, uint64_t traceid, const void *prefix,
                      size_t prefix_size, const void *payload, size_t size) {
  Outgoing m;
  m.payload.reserve(prefix_size + size);
  if (prefix_size > 0) m.payload.append(static_cast<const char *>(prefix), prefix_size);
  m.payload.append(static_cast<const char *>(payload), size);
  m.header = encode_chunk_header(static_cast<uint32_t>(m.payload.size()), cmd, traceid);
  m.flags = response ? kChunkResponse : 0;
  m.session = session;
  queue_.push_back(std::move(m));
}

uint64_t ChunkQueue::pump(SocketManager &sockets, SocketId id) {
  uint64_t queued = 0;
  while (!queue_.empty() && sockets.send_queue_size(id) < kWindow) {
    Outgoing &m = queue_.front();
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
    if (sockets.sendv(id, iov, 4) != 0) return queued;  // the link is failing; its close follows
    queued += kLengthSize + (first ? kChunkHeader : 0) + n + parts.tail_size;
    m.sent += n;
    if (last) queue_.pop_front();
  }
  if (!queue_.empty()) sockets.notify_drained(id);
  return queued;
}

}  // namespace cluster
}  // namespace silly
