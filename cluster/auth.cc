#include "silly/cluster/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

namespace silly {
namespace cluster {

namespace {

// Each side's label; the NUL keeps a label from running into the hello.
constexpr char kListenerLabel[] = "silly auth listener";
constexpr char kConnectorLabel[] = "silly auth connector";

bool same_proof(const uint8_t *a, const std::string &b) {
  return b.size() == kProofSize && CRYPTO_memcmp(a, b.data(), kProofSize) == 0;
}

std::string nonce() {
  std::string n(kNonceSize, '\0');
  // RAND_bytes fails only with no entropy source at all; a hello without
  // its nonce is then refused, never sent with a guessable one.
  if (RAND_bytes(reinterpret_cast<unsigned char *>(&n[0]), static_cast<int>(n.size())) != 1) n.clear();
  return n;
}

}  // namespace

std::string Authenticator::proof(const char *label) const {
  std::string message(label, std::char_traits<char>::length(label) + 1);
  message += hello_;
  message += ack_head_;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret_->data(), static_cast<int>(secret_->size()),
           reinterpret_cast<const unsigned char *>(message.data()), message.size(), out, &len) == nullptr) {
    return std::string();
  }
  return std::string(reinterpret_cast<char *>(out), len);
}

std::string Authenticator::client_hello(const HelloMessage &offer) {
  HelloMessage m = offer;
  m.features |= kFeatureAuth;
  hello_ = encode_hello(m) + nonce();
  return hello_;
}

bool Authenticator::client_check_ack(const uint8_t *payload, size_t size, HelloMessage *ack, std::string *out) {
  if (!decode_hello(payload, size, ack)) return fail("the peer knows no authentication (no ack to the hello)");
  if ((ack->features & kFeatureAuth) == 0) return fail("the peer has no secret");
  if (ack->tail_size != kNonceSize + kProofSize) return fail("malformed ack");
  ack_head_.assign(reinterpret_cast<const char *>(payload), size - kProofSize);
  if (!same_proof(payload + size - kProofSize, proof(kListenerLabel))) {
    return fail("the peer's proof does not match (a different secret)");
  }
  *out = proof(kConnectorLabel);
  return !out->empty() || fail("HMAC failed");
}

bool Authenticator::server_take_hello(const uint8_t *payload, size_t size, uint32_t features, uint32_t max_payload,
                                      HelloMessage *offer, std::string *ack) {
  if (!decode_hello(payload, size, offer)) return fail("malformed hello");
  if ((offer->features & kFeatureAuth) == 0) return fail("the peer offered no secret");
  if (offer->tail_size != kNonceSize) return fail("malformed hello");
  hello_.assign(reinterpret_cast<const char *>(payload), size);
  HelloMessage m;
  m.features = (offer->features & features) | kFeatureAuth;
  m.max_payload = max_payload;
  std::string n = nonce();
  if (n.empty()) return fail("no random bytes for a nonce");
  ack_head_ = encode_hello(m) + n;
  std::string p = proof(kListenerLabel);
  if (p.empty()) return fail("HMAC failed");
  *ack = ack_head_ + p;
  return true;
}

bool Authenticator::server_check_proof(const uint8_t *payload, size_t size) {
  if (ack_head_.empty()) return fail("a proof before the hello");
  if (size != kProofSize || !same_proof(payload, proof(kConnectorLabel))) {
    return fail("wrong proof (a different secret, or a replayed exchange)");
  }
  return true;
}

}  // namespace cluster
}  // namespace silly
