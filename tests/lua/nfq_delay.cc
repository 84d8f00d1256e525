// A network delayer for the fault tests, where the kernel has no netem:
// holds every packet that iptables sends to NFQUEUE queue Q for DELAY ms,
// plus up to JITTER ms more at random (so packets also come out of order),
// then lets it go on. libnetfilter_queue talks to the kernel; this program
// only keeps time. It runs for SECONDS, then lets everything held go and
// exits. Inside a test's own network namespace only (run_in_netns.sh).
//   nfq_delay Q DELAY_MS JITTER_MS SECONDS
#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <random>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace {

using Clock = std::chrono::steady_clock;

struct Held {
  Clock::time_point due;
  uint32_t id;
  bool operator>(const Held &o) const { return due > o.due; }
};

struct Delayer {
  int delay_ms;
  int jitter_ms;
  std::mt19937 rng{12345};
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held;
};

int on_packet(struct nfq_q_handle *, struct nfgenmsg *, struct nfq_data *nfa, void *data) {
  auto *d = static_cast<Delayer *>(data);
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == nullptr) return 0;
  int extra = d->jitter_ms > 0 ? static_cast<int>(d->rng() % static_cast<unsigned>(d->jitter_ms + 1)) : 0;
  d->held.push(Held{Clock::now() + std::chrono::milliseconds(d->delay_ms + extra), ntohl(ph->packet_id)});
  return 0;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: nfq_delay QUEUE DELAY_MS JITTER_MS SECONDS\n");
    return 2;
  }
  int queue = std::atoi(argv[1]);
  Delayer d;
  d.delay_ms = std::atoi(argv[2]);
  d.jitter_ms = std::atoi(argv[3]);
  auto end = Clock::now() + std::chrono::seconds(std::atoi(argv[4]));
  struct nfq_handle *h = nfq_open();
  if (h == nullptr) {
    std::perror("nfq_open");
    return 1;
  }
  struct nfq_q_handle *qh = nfq_create_queue(h, static_cast<uint16_t>(queue), on_packet, &d);
  if (qh == nullptr || nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0) {
    std::perror("nfq_create_queue");
    return 1;
  }
  nfq_set_queue_maxlen(qh, 65536);
  int fd = nfq_fd(h);
  std::printf("ready\n");
  std::fflush(stdout);
  std::vector<char> buf(65536);
  while (Clock::now() < end) {
    int wait_ms = 50;
    if (!d.held.empty()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(d.held.top().due - Clock::now()).count();
      wait_ms = until < 0 ? 0 : until < wait_ms ? static_cast<int>(until) : wait_ms;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, wait_ms) > 0) {
      ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n > 0) nfq_handle_packet(h, buf.data(), static_cast<int>(n));
    }
    while (!d.held.empty() && d.held.top().due <= Clock::now()) {
      nfq_set_verdict(qh, d.held.top().id, NF_ACCEPT, 0, nullptr);
      d.held.pop();
    }
  }
  while (!d.held.empty()) {
    nfq_set_verdict(qh, d.held.top().id, NF_ACCEPT, 0, nullptr);
    d.held.pop();
  }
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
