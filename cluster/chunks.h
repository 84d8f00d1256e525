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
#include <list>
#include <map>
#include <string>

#include "silly/cluster/frame.h"
#include "silly/cluster/hello.h"
#include "silly/core/socket.h"

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

// A link's large payloads on their way out: each copied (the codec's
// buffer may change before its last chunk leaves), then queued chunk by
// chunk as the socket drains, so that frames queued later are not held
// behind all of them.
class ChunkQueue {
 public:
  // At most this much of the large payloads waits in the send queue.
  static constexpr size_t kWindow = 256u << 10;

  // prefix (prefix_size bytes) goes before the payload, as part of it.
  void push(bool response, uint32_t session, uint32_t cmd, uint64_t traceid, const void *prefix, size_t prefix_size,
            const void *payload, size_t size);
  // Queues chunks on socket `id` while its send queue is under kWindow and
  // asks to hear when it drains if any are left; the bytes it queued.
  uint64_t pump(SocketManager &sockets, SocketId id);
  bool empty() const { return queue_.empty(); }

 private:
  struct Outgoing {
    std::string payload;
    std::string header;
    uint64_t flags;
    uint32_t session;
    size_t sent = 0;
  };
  // A list, not a deque: an empty one allocates nothing, and most links
  // never send a large payload.
  std::list<Outgoing> queue_;
};

}  // namespace cluster
}  // namespace silly
