// The ceiling for the cluster benchmarks: the same frames (16-byte
// payloads, 16-byte request trailer, 4-byte response trailer) over one
// loopback connection in plain C++ with epoll, no Lua and no framework.
//   bare_rpc server PORT
//   bare_rpc client PORT INFLIGHT SECONDS      -> calls/s
//   bare_rpc latency PORT CALLS [DUMP]         -> p50/p99 µs, one in flight
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench/support.h"

namespace {

constexpr size_t kPayload = 16;

void tune(int fd) {
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

void put_le(std::string *s, uint64_t v, int n) {
  for (int i = 0; i < n; i++) s->push_back(static_cast<char>(v >> (8 * i)));
}

void request(std::string *out, uint32_t session) {
  size_t body = kPayload + 16;
  out->push_back(static_cast<char>(body >> 8));
  out->push_back(static_cast<char>(body));
  out->append(kPayload, 'p');
  put_le(out, 0, 8);
  put_le(out, 1, 4);
  put_le(out, session, 4);
}

void write_all(int fd, const std::string &s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = write(fd, s.data() + off, s.size() - off);
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

// Calls fn(session, is_response) for every complete frame at the front of
// buf and erases them.
template <class F>
void frames(std::string *buf, F fn) {
  size_t at = 0;
  while (buf->size() - at >= 2) {
    size_t body = static_cast<size_t>(static_cast<uint8_t>((*buf)[at])) << 8 | static_cast<uint8_t>((*buf)[at + 1]);
    if (buf->size() - at < 2 + body) break;
    const char *t = buf->data() + at + 2 + body - 4;
    uint32_t s = 0;
    std::memcpy(&s, t, 4);
    fn(s & 0x7fffffffu, (s & 0x80000000u) != 0, buf->data() + at + 2, body);
    at += 2 + body;
  }
  buf->erase(0, at);
}

// With SPIN set, reads never sleep: the floor for latency on a machine
// where waking a sleeping thread is slow.
bool g_spin = false;

ssize_t read_some(int fd, char *buf, size_t n) {
  if (!g_spin) return read(fd, buf, n);
  for (;;) {
    ssize_t r = recv(fd, buf, n, MSG_DONTWAIT);
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) return r;
  }
}

int serve(int port) {
  int lfd = bench::listen_loopback(port, 128);
  if (lfd < 0) return 1;
  for (;;) {
    int fd = accept(lfd, nullptr, nullptr);
    if (fd < 0) continue;
    tune(fd);
    std::string in, out;
    char buf[65536];
    for (;;) {
      ssize_t r = read_some(fd, buf, sizeof(buf));
      if (r <= 0) break;
      in.append(buf, static_cast<size_t>(r));
      out.clear();
      frames(&in, [&](uint32_t session, bool, const char *body, size_t n) {
        size_t payload = n - 16;
        size_t rb = payload + 4;
        out.push_back(static_cast<char>(rb >> 8));
        out.push_back(static_cast<char>(rb));
        out.append(body, payload);
        put_le(&out, session | 0x80000000u, 4);
      });
      write_all(fd, out);  // one write per read, like a loop turn
    }
    close(fd);
  }
}

int dial(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = bench::loopback(port);
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0) return -1;
  tune(fd);
  return fd;
}

int client(int port, int inflight, int seconds) {
  int fd = dial(port);
  if (fd < 0) return 1;
  std::string out, in;
  uint32_t next = 0;
  for (int i = 0; i < inflight; i++) request(&out, next++);
  write_all(fd, out);
  long long done = 0;
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::seconds(seconds);
  char buf[65536];
  while (std::chrono::steady_clock::now() < end) {
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r <= 0) return 1;
    in.append(buf, static_cast<size_t>(r));
    out.clear();
    frames(&in, [&](uint32_t, bool, const char *, size_t) {
      done++;
      request(&out, next++ & 0x7fffffffu);
    });
    write_all(fd, out);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("calls_per_s=%.0f\n", static_cast<double>(done) / secs);
  return 0;
}

// dump: a file for every call's µs, sorted, or nullptr.
int latency(int port, int calls, const char *dump) {
  int fd = dial(port);
  if (fd < 0) return 1;
  std::vector<double> lat;
  std::string out, in;
  char buf[4096];
  for (int i = 0; i < calls + 2000; i++) {
    auto t0 = std::chrono::steady_clock::now();
    out.clear();
    request(&out, static_cast<uint32_t>(i));
    write_all(fd, out);
    bool got = false;
    while (!got) {
      ssize_t r = read_some(fd, buf, sizeof(buf));
      if (r <= 0) return 1;
      in.append(buf, static_cast<size_t>(r));
      frames(&in, [&](uint32_t, bool, const char *, size_t) { got = true; });
    }
    if (i >= 2000)
      lat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(lat.begin(), lat.end());
  std::printf("p50_us=%.1f p99_us=%.1f\n", lat[lat.size() / 2], lat[lat.size() * 99 / 100]);
  if (dump != nullptr) {
    if (FILE *f = std::fopen(dump, "w")) {
      for (double us : lat) std::fprintf(f, "%.1f\n", us);
      std::fclose(f);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  g_spin = std::getenv("SPIN") != nullptr;
  if (argc >= 3 && std::strcmp(argv[1], "server") == 0) return serve(std::atoi(argv[2]));
  if (argc >= 5 && std::strcmp(argv[1], "client") == 0)
    return client(std::atoi(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]));
  if (argc >= 4 && std::strcmp(argv[1], "latency") == 0) {
    return latency(std::atoi(argv[2]), std::atoi(argv[3]), argc >= 5 ? argv[4] : nullptr);
  }
  std::fprintf(stderr, "usage: bare_rpc server PORT | client PORT INFLIGHT SECONDS | latency PORT CALLS [DUMP]\n");
  return 2;
}
