// The ceiling for bulk cluster calls: the same bytes as a 1 MiB call and its
// 1 MiB answer, over one loopback connection in plain blocking C++.
//   bare_bulk server PORT
//   bare_bulk client PORT BYTES SECONDS   -> MB/s (both directions counted)
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/support.h"

namespace {

bool read_all(int fd, void *buf, size_t n) {
  auto *p = static_cast<char *>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool write_all(int fd, const void *buf, size_t n) {
  const auto *p = static_cast<const char *>(buf);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void tune(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

// Echoes length-prefixed messages, one connection at a time.
int serve(int port) {
  int lfd = bench::listen_loopback(port, 16);
  if (lfd < 0) return 1;
  std::vector<char> buf;
  for (;;) {
    int fd = accept(lfd, nullptr, nullptr);
    if (fd < 0) continue;
    tune(fd);
    uint64_t n;
    while (read_all(fd, &n, sizeof(n))) {
      buf.resize(n);
      if (!read_all(fd, buf.data(), n) || !write_all(fd, &n, sizeof(n)) || !write_all(fd, buf.data(), n)) break;
    }
    close(fd);
  }
}

int client(int port, size_t bytes, int seconds) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = bench::loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0) return 1;
  tune(fd);
  std::vector<char> out(bytes, 'b'), in(bytes);
  uint64_t n = bytes;
  auto t0 = std::chrono::steady_clock::now();
  auto until = t0 + std::chrono::seconds(seconds);
  uint64_t calls = 0;
  while (std::chrono::steady_clock::now() < until) {
    uint64_t back;
    if (!write_all(fd, &n, sizeof(n)) || !write_all(fd, out.data(), bytes) || !read_all(fd, &back, sizeof(back)) ||
        !read_all(fd, in.data(), back)) {
      return 1;
    }
    calls++;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("mb_per_s=%.1f calls=%llu\n", 2.0 * bytes * calls / secs / 1e6, static_cast<unsigned long long>(calls));
  close(fd);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc >= 3 && std::strcmp(argv[1], "server") == 0) return serve(std::atoi(argv[2]));
  if (argc >= 5 && std::strcmp(argv[1], "client") == 0) {
    return client(std::atoi(argv[2]), std::strtoull(argv[3], nullptr, 10), std::atoi(argv[4]));
  }
  std::fprintf(stderr, "usage: bare_bulk server PORT | client PORT BYTES SECONDS\n");
  return 2;
}
