#include "silly/cluster/handshake.h"

#include <cassert>
#include <cerrno>
#include <utility>

namespace silly {
namespace cluster {

namespace {

void append(std::string *out, const FrameParts &parts, const std::string &payload) {
  out->append(reinterpret_cast<const char *>(parts.head), kLengthSize);
  out->append(payload);
  out->append(reinterpret_cast<const char *>(parts.tail), parts.tail_size);
}

// A handshake frame is a few dozen bytes; the frame functions refuse only
// payloads beyond a frame's limit.
void append_request(std::string *out, uint32_t cmd, uint32_t session, const std::string &payload) {
  FrameParts parts;
  bool ok = make_request(session, cmd, 0, payload.size(), &parts);
  assert(ok);
  (void)ok;
  append(out, parts, payload);
}

void append_response(std::string *out, uint32_t session, const std::string &payload) {
  FrameParts parts;
  bool ok = make_response(session, payload.size(), &parts);
  assert(ok);
  (void)ok;
  append(out, parts, payload);
}

bool is_request(const Frame &f, uint32_t cmd) {
  return !f.response && f.cmd == cmd;
}

}  // namespace

Handshake::Handshake(bool initiator, HandshakeConfig config) : config_(std::move(config)), initiator_(initiator) {
  // The auth bit and the secret come together, or the hello would promise
  // proofs that no one can make.
  assert(((config_.features & kFeatureAuth) != 0) == (config_.secret != nullptr));
}

Handshake::~Handshake() = default;
Handshake::Handshake(Handshake &&) noexcept = default;
Handshake &Handshake::operator=(Handshake &&) noexcept = default;

int Handshake::wait_ms() const {
  if (!running() || state_ == State::kMaybeHello) return 0;
  return auth_ != nullptr ? config_.handshake_ms : kHelloWaitMs;
}

void Handshake::agree(uint32_t theirs, uint32_t peer_max) {
  agreement_.features = theirs & config_.features;
  agreement_.peer_max = peer_max;
}

Handshake::Step Handshake::up(bool consumed) {
  state_ = State::kUp;
  auth_.reset();
  Step s;
  s.result = Result::kUp;
  s.consumed = consumed;
  return s;
}

Handshake::Step Handshake::fail(std::string why, int status) {
  state_ = State::kFailed;
  auth_.reset();
  Step s;
  s.result = Result::kFail;
  s.why = std::move(why);
  s.status = status;
  return s;
}

Handshake::Step Handshake::start(SessionTable &sessions) {
  assert(state_ == State::kIdle);
  if (config_.secret != nullptr) auth_ = std::make_unique<Authenticator>(config_.secret);
  Step s;
  if (!initiator_) {
    state_ = auth_ != nullptr ? State::kAwaitHello : State::kMaybeHello;
    // Without a secret the link is up at once; a hello may still come first.
    if (auth_ == nullptr) s.result = Result::kUp;
    return s;
  }
  if (config_.features == 0) return up();  // the base wire: nothing to ask
  HelloMessage hello;
  hello.features = config_.features;
  hello.max_payload = config_.max_payload;
  session_ = sessions.next_unregistered();
  append_request(&s.out, kHelloCmd, session_, auth_ != nullptr ? auth_->client_hello(hello) : encode_hello(hello));
  state_ = State::kAwaitAck;
  return s;
}

Handshake::Step Handshake::take(const Frame &f, SessionTable &sessions) {
  switch (state_) {
    case State::kMaybeHello: return take_hello(f);
    case State::kAwaitHello: return take_hello(f);
    case State::kAwaitProof: return take_proof(f);
    case State::kAwaitAck:
    case State::kAwaitConfirm:
      if (f.response && f.session == session_) return take_ack(f, sessions);
      break;
    default: assert(!"a frame after the handshake ended"); return Step();
  }
  // Not the awaited answer. Without a secret it is the Link's; with one,
  // only the heartbeat of an agreed link may come before the confirmation.
  Step s;
  s.consumed = false;
  if (auth_ == nullptr) return s;
  if (state_ == State::kAwaitConfirm && (is_request(f, kPingCmd) || is_request(f, kPongCmd))) return s;
  return fail("a frame before authentication");
}

Handshake::Step Handshake::take_ack(const Frame &f, SessionTable &sessions) {
  HelloMessage ack;
  if (state_ == State::kAwaitConfirm) return up();  // the listener's word that our proof was right
  if (auth_ != nullptr) {
    std::string proof;
    if (!auth_->client_check_ack(f.payload, f.size, &ack, &proof)) return fail(auth_->why());
    agree(ack.features, ack.max_payload);
    session_ = sessions.next_unregistered();  // what the confirmation answers
    Step s;
    append_request(&s.out, kAuthCmd, session_, proof);
    state_ = State::kAwaitConfirm;
    return s;
  }
  // Anything but an ack (an original node's error answer, say) leaves the
  // link on the base wire.
  if (decode_hello(f.payload, f.size, &ack)) {
    if ((ack.features & kFeatureAuth) != 0) return fail("the peer requires a secret");
    agree(ack.features, ack.max_payload);
  }
  return up();
}

Handshake::Step Handshake::take_hello(const Frame &f) {
  if (state_ == State::kMaybeHello) {
    state_ = State::kUp;
    if (!is_request(f, kHelloCmd)) return up(false);  // a base-wire peer's first frame
    HelloMessage offer;
    if (!decode_hello(f.payload, f.size, &offer)) return up();  // not ours to answer
    // Answered even by a listener that offers nothing (it accepts no
    // feature then), so that the other side knows this one is alive.
    agree(offer.features, offer.max_payload);
    HelloMessage ack;
    ack.features = agreement_.features;
    ack.max_payload = config_.max_payload;
    Step s = up();
    append_response(&s.out, f.session, encode_hello(ack));
    return s;
  }
  if (!is_request(f, kHelloCmd)) return fail("the peer sent no hello (a node without the secret, or on the base wire)");
  HelloMessage offer;
  std::string ack;
  if (!auth_->server_take_hello(f.payload, f.size, config_.features, config_.max_payload, &offer, &ack)) {
    // An ack that asks for a secret lets a connecting node say why.
    HelloMessage refusal;
    refusal.features = kFeatureAuth;
    Step s = fail(auth_->why());
    append_response(&s.out, f.session, encode_hello(refusal));
    return s;
  }
  agree(offer.features, offer.max_payload);
  Step s;
  append_response(&s.out, f.session, ack);
  state_ = State::kAwaitProof;
  return s;
}

Handshake::Step Handshake::take_proof(const Frame &f) {
  if (!is_request(f, kAuthCmd)) return fail("no proof after the hello");
  if (!auth_->server_check_proof(f.payload, f.size)) return fail(auth_->why());
  Step s = up();
  append_response(&s.out, f.session, std::string());
  return s;
}

Handshake::Step Handshake::expire() {
  if (!running() || state_ == State::kMaybeHello) return Step();
  if (auth_ == nullptr && config_.require_ack) {
    return fail("no answer to the hello within " + std::to_string(kHelloWaitMs) + " ms", -ETIMEDOUT);
  }
  if (auth_ == nullptr) return up();  // no answer: a peer on the base wire
  return fail("not through within " + std::to_string(config_.handshake_ms) + " ms");
}

}  // namespace cluster
}  // namespace silly
