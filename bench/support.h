// Small helpers the bench programs share.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdint>

namespace bench {

// 127.0.0.1:port.
inline sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Average ns of fn() over n calls, after n / 10 calls of warm-up.
template <class F>
double ns_per_op(int n, F fn) {
  for (int i = 0; i < n / 10; i++) fn();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; i++) fn();
  return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
}

}  // namespace bench
