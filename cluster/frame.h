// The cluster wire format, byte for byte compatible with the original
// framework's netpacket:
//
//   request:  [u16 BE length][payload][traceid u64 LE][cmd u32 LE][session u32 LE]
//   response: [u16 BE length][payload][session | 0x80000000, u32 LE]
//
// The length counts payload plus trailer. Bit 31 of the last four bytes is
// the only thing that tells a response from a request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "silly/core/ring_buffer.h"

namespace silly {
namespace cluster {

constexpr size_t kLengthSize = 2;
constexpr size_t kRequestTrailer = 16;
constexpr size_t kResponseTrailer = 4;
constexpr size_t kMaxBody = 65535;
constexpr size_t kMaxRequestPayload = kMaxBody - kRequestTrailer;    // 65519
constexpr size_t kMaxResponsePayload = kMaxBody - kResponseTrailer;  // 65531
constexpr uint32_t kResponseBit = 0x80000000u;

struct Frame {
  bool response = false;
  uint32_t session = 0;  // bit 31 cleared
  uint32_t cmd = 0;      // requests only
  uint64_t traceid = 0;  // requests only
  const uint8_t *payload = nullptr;
  size_t size = 0;
  size_t wire_size = 0;  // bytes the whole frame took, length field included
  // Set by a Link on a response carrying kRemoteErrorMarker; the payload is
  // then the error text after the marker.
  bool remote_error = false;
  // A request's deadline (ms since the Unix epoch), set by a Link that
  // agreed to kFeatureDeadline (cluster/hello.h); 0: none.
  uint64_t deadline_ms = 0;
};

// Builds frames in a caller's buffer: the length and trailer go into
// `head`/`tail`, the payload is used where it is, so a frame is sent as
// three iovecs with no copy of the payload before the socket's own.
struct FrameParts {
  uint8_t head[kLengthSize];
  uint8_t tail[kRequestTrailer];
  size_t tail_size;
};

// False when the payload is too large for one frame.
bool make_request(uint32_t session, uint32_t cmd, uint64_t traceid, size_t payload_size, FrameParts *out);
bool make_response(uint32_t session, size_t payload_size, FrameParts *out);

// Appends a whole frame to a buffer (tests, the netpacket module).
bool append_request(RingBuffer &out, uint32_t session, uint32_t cmd, uint64_t traceid, const void *payload,
                    size_t size);
bool append_response(RingBuffer &out, uint32_t session, const void *payload, size_t size);

enum class ParseStatus { kFrame, kNeedMore, kMalformed };

// Takes the next frame from the front of `in`. On kFrame the payload points
// into `in` and stays valid until the caller consumes frame.wire_size bytes
// or writes to `in`. On kMalformed, `error` says why; the stream cannot be
// resynchronised and the link should be closed.
ParseStatus parse_frame(RingBuffer &in, Frame *frame, std::string *error);
// The same on bytes already contiguous: the frame at the front of
// data[0, avail). The payload points into `data`.
ParseStatus parse_frame(const uint8_t *data, size_t avail, Frame *frame, std::string *error);

// A response whose payload starts with this marker tells the caller that
// the handler failed; the text after it is the reason. Nodes of the
// original framework see an undecodable payload, which fails their call too.
constexpr char kRemoteErrorMarker[] = "\0silly:error\0";
constexpr size_t kRemoteErrorMarkerSize = sizeof(kRemoteErrorMarker) - 1;
// At most this much of a handler's error text is sent.
constexpr size_t kMaxRemoteErrorText = 1024;

}  // namespace cluster
}  // namespace silly
