#include "silly/cluster/chunks.h"

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

}  // namespace cluster
}  // namespace silly
