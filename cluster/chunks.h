// Large payloads on a link that agreed to them (kFeatureLarge): a message
// too large for one base frame goes as a run of chunk frames, each a base
// request frame with cmd kChunkCmd and the message's session:
//
//   trailer traceid field: flags, bit 0 first, bit 1 last, bit 2 response
//   first chunk payload:   [total u32 LE][cmd u32 LE][traceid u64 LE] data...
//   later chunk payloads:  data...
//
// Chunks of one message come in order; chunks of different messages and
// whole base frames may come between them. The receiver keeps each message
// until its last chunk, and never holds more than its own limit for one
// message, in all open messages together.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "silly/cluster/frame.h"

namespace silly {
namespace cluster {

constexpr uint64_t kChunkFirst = 1u << 0;
constexpr uint64_t kChunkLast = 1u << 1;
constexpr uint64_t kChunkResponse = 1u << 2;
constexpr size_t kChunkHeader = 16;
// Data in one chunk frame, header included.
constexpr size_t kChunkFrameData = kMaxRequestPayload;
// Messages being reassembled on one link at once, at most.
constexpr size_t kMaxOpenMessages = 64;

// The first chunk's header.
std::string encode_chunk_header(uint32_t total, uint32_t cmd, uint64_t traceid);

// Takes a link's chunk frames and gives back whole messages.
class Reassembler {
 public:
  enum class Result {
    kMore,      // taken; the message is not whole yet
    kMessage,   // the message is whole: message() holds it
    kTooLarge,  // over the limit (EMSGSIZE): the link must close
    kMalformed  // out of order, a bad header, too many open (EPROTO)
  };
  explicit Reassembler(size_t limit) : limit_(limit) {}

  // `frame` is a chunk frame (cmd kChunkCmd). On kMessage, message() is
  // the whole message as a Frame whose payload points into release()'s
  // string; on an error, error() says why.
  Result take(const Frame &frame);
  const Frame &message() const { return done_; }
  // The whole message's bytes, moved out (message().payload points there).
  std::string release() { return std::move(done_data_); }
  const std::string &error() const { return error_; }
  size_t open() const { return open_.size(); }
  size_t buffered() const { return buffered_; }

 private:
  struct Open {
    std::string data;
    uint32_t total = 0;
    uint32_t cmd = 0;
    uint64_t traceid = 0;
  };
  Result fail(Result r, std::string why);

  size_t limit_;
  size_t buffered_ = 0;
  std::map<uint64_t, Open> open_;  // by (response bit << 32 | session)
  std::string done_data_;
  Frame done_;
  std::string error_;
};

}  // namespace cluster
}  // namespace silly
