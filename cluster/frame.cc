#include "silly/cluster/frame.h"

#include <cstring>

namespace silly {
namespace cluster {

namespace {

void put_u16_be(uint8_t *p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void put_u32_le(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void put_u64_le(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t get_u32_le(const uint8_t *p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

uint64_t get_u64_le(const uint8_t *p) {
  return static_cast<uint64_t>(get_u32_le(p)) | static_cast<uint64_t>(get_u32_le(p + 4)) << 32;
}

}  // namespace

bool make_request(uint32_t session, uint32_t cmd, uint64_t traceid, size_t payload_size, FrameParts *out) {
  if (payload_size > kMaxRequestPayload) return false;
  put_u16_be(out->head, static_cast<uint16_t>(payload_size + kRequestTrailer));
  put_u64_le(out->tail, traceid);
  put_u32_le(out->tail + 8, cmd);
  put_u32_le(out->tail + 12, session & ~kResponseBit);
  out->tail_size = kRequestTrailer;
  return true;
}

bool make_response(uint32_t session, size_t payload_size, FrameParts *out) {
  if (payload_size > kMaxResponsePayload) return false;
  put_u16_be(out->head, static_cast<uint16_t>(payload_size + kResponseTrailer));
  put_u32_le(out->tail, session | kResponseBit);
  out->tail_size = kResponseTrailer;
  return true;
}

static void append_parts(RingBuffer &out, const FrameParts &parts, const void *payload, size_t size) {
  out.append(parts.head, kLengthSize);
  out.append(payload, size);
  out.append(parts.tail, parts.tail_size);
}

bool append_request(RingBuffer &out, uint32_t session, uint32_t cmd, uint64_t traceid, const void *payload,
                    size_t size) {
  FrameParts parts;
  if (!make_request(session, cmd, traceid, size, &parts)) return false;
  append_parts(out, parts, payload, size);
  return true;
}

bool append_response(RingBuffer &out, uint32_t session, const void *payload, size_t size) {
  FrameParts parts;
  if (!make_response(session, size, &parts)) return false;
  append_parts(out, parts, payload, size);
  return true;
}

ParseStatus parse_frame(const uint8_t *data, size_t avail, Frame *frame, std::string *error) {
  if (avail < kLengthSize) return ParseStatus::kNeedMore;
  size_t body = static_cast<size_t>(data[0]) << 8 | data[1];
  // Checked before waiting for the body: a frame too short to hold its own
  // trailer can never become valid.
  if (body < kResponseTrailer) {
    *error = "frame length " + std::to_string(body) + " is shorter than any trailer";
    return ParseStatus::kMalformed;
  }
  if (avail < kLengthSize + body) return ParseStatus::kNeedMore;
  const uint8_t *p = data + kLengthSize;
  uint32_t last = get_u32_le(p + body - 4);
  frame->wire_size = kLengthSize + body;
  frame->payload = p;
  if ((last & kResponseBit) != 0) {
    frame->response = true;
    frame->session = last & ~kResponseBit;
    frame->cmd = 0;
    frame->traceid = 0;
    frame->size = body - kResponseTrailer;
    return ParseStatus::kFrame;
  }
  if (body < kRequestTrailer) {
    *error = "request frame length " + std::to_string(body) + " is shorter than its 16-byte trailer";
    return ParseStatus::kMalformed;
  }
  const uint8_t *t = p + body - kRequestTrailer;
  frame->response = false;
  frame->traceid = get_u64_le(t);
  frame->cmd = get_u32_le(t + 8);
  frame->session = last;
  frame->size = body - kRequestTrailer;
  return ParseStatus::kFrame;
}

ParseStatus parse_frame(RingBuffer &in, Frame *frame, std::string *error) {
  size_t avail = in.size();
  if (avail < kLengthSize) return ParseStatus::kNeedMore;
  size_t body = static_cast<size_t>(in.at(0)) << 8 | in.at(1);
  size_t whole = kLengthSize + body;
  // Only a frame that is all there is made contiguous.
  if (body < kResponseTrailer || avail < whole) {
    uint8_t head[kLengthSize] = {in.at(0), in.at(1)};
    return parse_frame(head, avail < whole ? kLengthSize : whole, frame, error);
  }
  return parse_frame(in.linearize(whole), whole, frame, error);
}

}  // namespace cluster
}  // namespace silly
