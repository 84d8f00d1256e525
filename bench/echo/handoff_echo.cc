// The threading alternative, measured: an I/O thread that owns the sockets
// and a worker thread that owns the "script", with a queue and an eventfd
// wake-up in each direction (the original framework's layout). Same
// protocol as bare_echo, so bare_echo's client drives it.
//   handoff_echo PORT
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/support.h"

namespace {

struct Message {
  int fd;
  std::string bytes;
};

// A mutex-protected batch queue: the consumer swaps out everything queued.
class Queue {
 public:
  void push(Message m) {
    std::lock_guard<std::mutex> lock(mu_);
    items_.push_back(std::move(m));
  }
  std::vector<Message> take() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Message> out;
    out.swap(items_);
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<Message> items_;
};

void wake(int efd) {
  uint64_t one = 1;
  ssize_t r = write(efd, &one, sizeof(one));
  (void)r;
}

void drain(int efd) {
  uint64_t v;
  ssize_t r = read(efd, &v, sizeof(v));
  (void)r;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: handoff_echo PORT\n");
    return 2;
  }
  int lfd = bench::listen_loopback(std::atoi(argv[1]), 1024);
  if (lfd < 0) return 1;
  int on = 1;
  fcntl(lfd, F_SETFL, O_NONBLOCK);

  Queue to_worker, to_io;
  int worker_efd = eventfd(0, 0);         // blocking: the worker sleeps on it
  int io_efd = eventfd(0, EFD_NONBLOCK);  // polled by the I/O thread

  std::thread worker([&] {
    for (;;) {
      drain(worker_efd);
      auto batch = to_worker.take();
      if (batch.empty()) continue;
      for (auto &m : batch) to_io.push(std::move(m));  // the "script" echoes
      wake(io_efd);
    }
  });

  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  ev.data.fd = io_efd;
  epoll_ctl(ep, EPOLL_CTL_ADD, io_efd, &ev);
  epoll_event evs[256];
  char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    bool queued = false;
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept(lfd, nullptr, nullptr)) >= 0) {
          fcntl(c, F_SETFL, O_NONBLOCK);
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
      } else if (fd == io_efd) {
        drain(io_efd);
        for (auto &m : to_io.take()) {
          ssize_t w = write(m.fd, m.bytes.data(), m.bytes.size());
          (void)w;
        }
      } else {
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0) {
          close(fd);
          continue;
        }
        to_worker.push({fd, std::string(buf, static_cast<size_t>(r))});
        queued = true;
      }
    }
    if (queued) wake(worker_efd);  // one wake-up per batch of events
  }
}
