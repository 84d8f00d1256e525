// The start of one link as a machine with no socket and no timer: the
// hello that agrees on extensions and, with a secret, the proofs of
// cluster/auth.h (docs/cluster-extensions.md has the wire). A Link feeds it
// every frame it reads while the handshake runs, sends the bytes each step
// returns, and arms the wait that wait_ms() names; everything else about a
// link (reading, calls, heartbeats) lives in the Link.
//
//   connecting side, extensions, no secret:  hello -> ack            -> up
//   connecting side, secret:                 hello -> ack, proof -> empty response -> up
//   listening side, no secret:               up at once; a hello as the first frame is acked
//   listening side, secret:                  hello -> ack, proof -> empty response -> up
//   a side with no option:                   up at once, never sends a hello
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "silly/cluster/auth.h"
#include "silly/cluster/frame.h"
#include "silly/cluster/hello.h"
#include "silly/cluster/session.h"

namespace silly {
namespace cluster {

// What the two ends of a link agreed to. A base link agrees to nothing and
// takes the base frame's limits.
struct Agreement {
  uint32_t features = 0;                 // kFeature* bits both ends accepted
  size_t peer_max = kMaxRequestPayload;  // the peer's largest payload, once it agreed to kFeatureLarge
};

// What one side offers; LinkOptions makes it (cluster/link.h).
struct HandshakeConfig {
  uint32_t features = 0;  // kFeature*; kFeatureAuth exactly when secret is set
  uint32_t max_payload = static_cast<uint32_t>(kMaxRequestPayload);
  Secret secret;
  int handshake_ms = 5000;  // the whole handshake, with a secret
  // Connecting side: the hello must be answered within kHelloWaitMs, or
  // the link fails (-ETIMEDOUT) instead of falling back to the base wire.
  // For a peer known to answer hellos: its process may be stopped, with
  // only the kernel's backlog taking connections.
  bool require_ack = false;
};

class Handshake {
 public:
  // Without an answer to its hello within this long, a connecting side
  // without a secret takes its peer for one on the base wire.
  static constexpr int kHelloWaitMs = 1000;

  enum class Result {
    kContinue,  // still running
    kUp,        // through: agreement() holds; the link may carry calls
    kFail,      // refused: why; the link closes with status (-EACCES, or
                // -ETIMEDOUT for a hello that had to be answered)
  };
  struct Step {
    Result result = Result::kContinue;
    // False for a frame that is not the handshake's: the Link handles it as
    // any other frame.
    bool consumed = true;
    std::string out;  // whole frames to send now, in order
    std::string why;  // with kFail
    int status = 0;   // with kFail
  };

  Handshake(bool initiator, HandshakeConfig config);
  ~Handshake();
  Handshake(Handshake &&) noexcept;
  Handshake &operator=(Handshake &&) noexcept;

  // The first step, before any frame: the connecting side's hello (its
  // session from `sessions`), or kUp for a side that has nothing to ask.
  Step start(SessionTable &sessions);
  // A frame read while running(). Session numbers of requests it sends
  // come from `sessions` (never registered: their answers are its own).
  Step take(const Frame &f, SessionTable &sessions);
  // The wait of wait_ms() ran out: a connecting side without a secret is
  // up on the base wire, one with a secret fails.
  Step expire();

  // Still takes frames: before kUp or kFail, and on a listening side
  // without a secret until the first frame (which may be a hello).
  bool running() const { return state_ != State::kUp && state_ != State::kFailed; }
  // Until kUp nothing but the handshake may cross the link: the Link reads
  // frame by frame, none larger than max_frame().
  bool exclusive() const { return auth_ != nullptr && running(); }
  static constexpr size_t max_frame() { return kMaxAuthFrame; }
  // A listening side that has seen no frame yet.
  bool awaiting_first() const { return state_ == State::kMaybeHello || state_ == State::kAwaitHello; }
  // How long the Link waits for the next step; 0: no wait.
  int wait_ms() const;
  const Agreement &agreement() const { return agreement_; }

 private:
  enum class State : uint8_t {
    kIdle,          // not started
    kMaybeHello,    // listening, no secret: the first frame may be a hello
    kAwaitAck,      // connecting: the hello is out
    kAwaitConfirm,  // connecting with a secret: the proof is out
    kAwaitHello,    // listening with a secret
    kAwaitProof,    // listening with a secret: the ack is out
    kUp,
    kFailed,
  };
  Step up(bool consumed = true);
  Step fail(std::string why, int status = -EACCES);
  Step take_ack(const Frame &f, SessionTable &sessions);
  Step take_hello(const Frame &f);
  Step take_proof(const Frame &f);
  void agree(uint32_t offered_or_acked, uint32_t peer_max);

  HandshakeConfig config_;
  bool initiator_;
  State state_ = State::kIdle;
  uint32_t session_ = 0;  // what the awaited response answers
  Agreement agreement_;
  std::unique_ptr<Authenticator> auth_;  // with a secret, until the end
};

}  // namespace cluster
}  // namespace silly
