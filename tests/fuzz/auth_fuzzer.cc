// Fuzz target: the secret's handshake as a listener and as a connecting
// node meets it, on messages a peer controls. The input is cut into base
// frames, offered in turn as the hello, the proof and an ack. Without the
// secret no input may pass a proof check, and nothing may crash or read
// out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "silly/cluster/auth.h"
#include "silly/cluster/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace silly::cluster;
  auto secret = std::make_shared<const std::string>("fuzzing secret");
  Authenticator listener(secret), connector(secret);
  HelloMessage offer;
  connector.client_hello(offer);
  size_t used = 0;
  std::string error;
  for (int i = 0;; i++) {
    Frame f;
    if (parse_frame(data + used, size - used, &f, &error) != ParseStatus::kFrame) break;
    used += f.wire_size;
    HelloMessage fields;
    std::string out;
    switch (i % 3) {
      case 0: listener.server_take_hello(f.payload, f.size, kFeatureKnown, 1000, &fields, &out); break;
      case 1:
        if (listener.server_check_proof(f.payload, f.size)) std::abort();
        break;
      default:
        if (connector.client_check_ack(f.payload, f.size, &fields, &out)) std::abort();
        break;
    }
  }
  return 0;
}
