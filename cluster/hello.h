// The cluster wire's extensions (docs/cluster-extensions.md): what a link
// may use beyond the base framing once both ends agreed to it in a hello.
//
// Every extension frame has the shape of a base request frame, with one of
// the reserved cmd values below. A link that did not agree to extensions
// treats them as any other request, so the base wire is unchanged.
//   hello:  request, cmd kHelloCmd, payload = HelloMessage
//   ack:    the response to the hello's session, payload = HelloMessage
//   ping:   request, cmd kPingCmd, session 0, empty payload
//   pong:   request, cmd kPongCmd, session 0, empty payload
//   chunk:  request, cmd kChunkCmd: a piece of one large payload
//           (cluster/chunks.h)
//   deadline: with kFeatureDeadline, a prefix of every request's payload
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace silly {
namespace cluster {

constexpr uint32_t kHelloCmd = 0xfffffff0u;
constexpr uint32_t kPingCmd = 0xfffffff1u;
constexpr uint32_t kPongCmd = 0xfffffff2u;
constexpr uint32_t kChunkCmd = 0xfffffff3u;
constexpr uint32_t kAuthCmd = 0xfffffff4u;  // the connecting side's proof (cluster/auth.h)

// Feature bits a hello offers and an ack accepts.
constexpr uint32_t kFeatureHeartbeat = 1u << 0;  // ping and pong
constexpr uint32_t kFeatureLarge = 1u << 1;      // payloads beyond one frame
constexpr uint32_t kFeatureAuth = 1u << 2;       // shared-secret proofs follow the hello
constexpr uint32_t kFeatureDeadline = 1u << 3;   // requests carry their caller's deadline
constexpr uint32_t kFeatureKnown = kFeatureHeartbeat | kFeatureLarge | kFeatureAuth | kFeatureDeadline;

// On a link that agreed to kFeatureDeadline, the payload of every request
// (not of the extension frames) starts with its deadline: u64 LE, ms since
// the Unix epoch on the caller's wall clock, 0 for none (a one-way send).
// The payload the handler sees follows it.
constexpr size_t kDeadlineSize = 8;

// "\xffSILLY" + version + features + max payload: 14 bytes, which the
// authentication's nonce and proof may follow (cluster/auth.h).
constexpr char kHelloMagic[] = "\xffSILLY";
constexpr size_t kHelloMagicSize = sizeof(kHelloMagic) - 1;
constexpr uint8_t kHelloVersion = 1;
constexpr size_t kHelloSize = kHelloMagicSize + 1 + 4 + 4;

struct HelloMessage {
  uint8_t version = kHelloVersion;
  uint32_t features = 0;
  uint32_t max_payload = 0;  // the largest payload this side accepts
  // What follows the 14 bytes, pointing into the decoded payload.
  const uint8_t *tail = nullptr;
  size_t tail_size = 0;
};

// The 14 bytes of a hello or an ack (the tail is not written).
std::string encode_hello(const HelloMessage &m);
// False when the payload is not a hello (too short, wrong magic or
// version); unknown feature bits are dropped, so a newer peer still agrees
// on the ones both know. Bytes past the 14 are the tail.
bool decode_hello(const uint8_t *payload, size_t size, HelloMessage *out);

}  // namespace cluster
}  // namespace silly
