// Shared-secret authentication of one link (docs/cluster-extensions.md):
// a challenge and response in the hello exchange, over fresh nonces from
// both ends, so that a recorded exchange proves nothing on a new link.
//
//   connecting side: hello  = hello(features | auth) + nonce_c
//   listening side:  ack    = hello(agreed) + nonce_s + proof_s
//   connecting side: kAuthCmd request, payload proof_c
//   listening side:  empty response to it: the link is up
//
// proof_x = HMAC-SHA256(secret, label_x + hello + ack without proof_s), with
// a label per side so that one side's proof is never the other's. The
// HMAC, the random nonces and the constant-time comparison are OpenSSL's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "silly/cluster/hello.h"

namespace silly {
namespace cluster {

constexpr size_t kNonceSize = 32;
constexpr size_t kProofSize = 32;
// No frame of the handshake is larger; a link still authenticating reads
// no more than this ahead.
constexpr size_t kMaxAuthFrame = 256;

using Secret = std::shared_ptr<const std::string>;

// The state of one handshake, either side. why() says what went wrong
// after a false.
class Authenticator {
 public:
  explicit Authenticator(Secret secret) : secret_(std::move(secret)) {}

  // Connecting side: the hello's payload, ending with a fresh nonce.
  std::string client_hello(const HelloMessage &offer);
  // Connecting side: checks the ack (its feature bit, size and the
  // listener's proof); *ack gets its fields and *proof the payload of the
  // kAuthCmd request that answers it.
  bool client_check_ack(const uint8_t *payload, size_t size, HelloMessage *ack, std::string *proof);

  // Listening side: takes the hello (which must ask for authentication)
  // and makes the ack, accepting `features` of what was offered.
  bool server_take_hello(const uint8_t *payload, size_t size, uint32_t features, uint32_t max_payload,
                         HelloMessage *offer, std::string *ack);
  // Listening side: the connecting side's proof.
  bool server_check_proof(const uint8_t *payload, size_t size);

  const std::string &why() const { return why_; }

 private:
  std::string proof(const char *label) const;
  bool fail(const char *why) {
    why_ = why;
    return false;
  }

  Secret secret_;
  std::string hello_;     // the hello's payload
  std::string ack_head_;  // the ack's payload without the listener's proof
  std::string why_;
};

}  // namespace cluster
}  // namespace silly
