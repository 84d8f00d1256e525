// The ceiling for the echo benchmark: a plain C++ epoll echo server and a
// ping-pong client, same shape as the Lua scripts (N connections, one
// 16-byte message in flight on each).
//   bare_echo server PORT
//   bare_echo client PORT CONNECTIONS SECONDS [latency]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/support.h"

namespace {

constexpr int kMsg = 16;

void nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

int serve(int port) {
  int lfd = bench::listen_loopback(port, 1024);
  if (lfd < 0) {
    perror("bare_echo: listen");
    return 1;
  }
  nonblock(lfd);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  epoll_event evs[256];
  char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept(lfd, nullptr, nullptr)) >= 0) {
          nonblock(c);
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0) {
        close(fd);
        continue;
      }
      ssize_t w = write(fd, buf, static_cast<size_t>(r));
      (void)w;  // loopback with tiny messages: the kernel takes it all
    }
  }
}

// With `latency`, also the p50 and p99 of one round trip in µs.
int client(int port, int conns, int seconds, bool latency) {
  int ep = epoll_create1(0);
  std::vector<int> fds;
  char msg[kMsg];
  std::memset(msg, 'x', sizeof(msg));
  std::vector<int> got(static_cast<size_t>(conns) + 1024, 0);
  using Clock = std::chrono::steady_clock;
  std::vector<Clock::time_point> sent(got.size());
  std::vector<int> samples;
  if (latency) samples.reserve(1u << 22);
  for (int i = 0; i < conns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = bench::loopback(port);
    if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) != 0) {
      perror("bare_echo: connect");
      return 1;
    }
    nonblock(fd);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    fds.push_back(fd);
    if (static_cast<size_t>(fd) >= got.size()) {
      got.resize(static_cast<size_t>(fd) + 1, 0);
      sent.resize(got.size());
    }
    sent[static_cast<size_t>(fd)] = Clock::now();
    ssize_t w = write(fd, msg, kMsg);
    (void)w;
  }
  // Told on stderr, so that a script can look at the server while every
  // connection is busy; then a second of warm-up before counting.
  std::fprintf(stderr, "connected\n");
  std::fflush(stderr);
  long long count = 0;
  auto start = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  auto end = start + std::chrono::seconds(seconds);
  epoll_event evs[256];
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r <= 0) return 1;
      got[static_cast<size_t>(fd)] += static_cast<int>(r);
      while (got[static_cast<size_t>(fd)] >= kMsg) {
        got[static_cast<size_t>(fd)] -= kMsg;
        auto now = Clock::now();
        bool counting = now >= start;
        if (counting) count++;
        if (latency) {
          if (counting && samples.size() < samples.capacity())
            samples.push_back(static_cast<int>(
                std::chrono::duration_cast<std::chrono::microseconds>(now - sent[static_cast<size_t>(fd)]).count()));
          sent[static_cast<size_t>(fd)] = now;
        }
        ssize_t w = write(fd, msg, kMsg);
        (void)w;
      }
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!latency || samples.empty()) {
    std::printf("%.0f\n", static_cast<double>(count) / secs);
    return 0;
  }
  std::sort(samples.begin(), samples.end());
  std::printf("%.0f %d %d\n", static_cast<double>(count) / secs, samples[samples.size() / 2],
              samples[samples.size() * 99 / 100]);
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc >= 3 && std::strcmp(argv[1], "server") == 0) return serve(std::atoi(argv[2]));
  if (argc >= 5 && std::strcmp(argv[1], "client") == 0) {
    bool latency = argc >= 6 && std::strcmp(argv[5], "latency") == 0;
    return client(std::atoi(argv[2]), std::atoi(argv[3]), std::atoi(argv[4]), latency);
  }
  std::fprintf(stderr, "usage: bare_echo server PORT | client PORT CONNECTIONS SECONDS [latency]\n");
  return 2;
}
