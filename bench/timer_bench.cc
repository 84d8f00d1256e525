// TimerQueue against the obvious baseline: std::priority_queue with lazy
// cancellation through a hash set. Same workload, same run.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <queue>
#include <unordered_set>
#include <vector>

#include "silly/core/timer.h"

namespace {

constexpr int kTimers = 10000;

// Deadlines spread like a game server's: many short sleeps, some long.
std::vector<int64_t> deadlines() {
  std::vector<int64_t> d(kTimers);
  uint64_t x = 88172645463325252ull;
  for (auto &v : d) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v = static_cast<int64_t>(x % 100000);
  }
  return d;
}

void BM_TimerQueue_AddFire(benchmark::State &state) {
  auto d = deadlines();
  silly::TimerQueue q;
  for (auto _ : state) {
    for (int i = 0; i < kTimers; i++) q.add(d[i], nullptr, static_cast<uint64_t>(i));
    silly::TimerQueue::Fired t;
    while (q.pop_due(INT64_MAX, &t)) benchmark::DoNotOptimize(t.arg);
  }
  state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_TimerQueue_AddFire);

struct Entry {
  int64_t deadline;
  uint64_t seq;
  bool operator>(const Entry &o) const { return deadline != o.deadline ? deadline > o.deadline : seq > o.seq; }
};

void BM_Baseline_PriorityQueue_AddFire(benchmark::State &state) {
  auto d = deadlines();
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> q;
  uint64_t seq = 0;
  for (auto _ : state) {
    for (int i = 0; i < kTimers; i++) q.push({d[i], seq++});
    while (!q.empty()) {
      benchmark::DoNotOptimize(q.top().seq);
      q.pop();
    }
  }
  state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_Baseline_PriorityQueue_AddFire);

// Most timers in an RPC server are call deadlines cancelled by the reply.
void BM_TimerQueue_AddCancel(benchmark::State &state) {
  auto d = deadlines();
  silly::TimerQueue q;
  std::vector<silly::TimerQueue::Id> ids(kTimers);
  for (auto _ : state) {
    for (int i = 0; i < kTimers; i++) ids[i] = q.add(d[i], nullptr, 0);
    for (int i = 0; i < kTimers; i++) q.cancel(ids[i]);
  }
  state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_TimerQueue_AddCancel);

void BM_Baseline_PriorityQueue_AddCancel(benchmark::State &state) {
  auto d = deadlines();
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> q;
  std::unordered_set<uint64_t> cancelled;
  uint64_t seq = 0;
  std::vector<uint64_t> ids(kTimers);
  for (auto _ : state) {
    for (int i = 0; i < kTimers; i++) {
      ids[i] = seq;
      q.push({d[i], seq++});
    }
    for (int i = 0; i < kTimers; i++) cancelled.insert(ids[i]);
    // Lazy cancellation pays when the dead entries surface.
    while (!q.empty()) {
      cancelled.erase(q.top().seq);
      q.pop();
    }
  }
  state.SetItemsProcessed(state.iterations() * kTimers);
}
BENCHMARK(BM_Baseline_PriorityQueue_AddCancel);

}  // namespace
