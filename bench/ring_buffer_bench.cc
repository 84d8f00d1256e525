// RingBuffer against a std::string used as a FIFO (append at the back,
// erase at the front), the usual ad-hoc socket buffer. Same run.
#include <benchmark/benchmark.h>

#include <string>

#include "silly/core/ring_buffer.h"

namespace {

constexpr int kBatch = 64;  // messages queued before the reader catches up

void BM_RingBuffer_Fifo(benchmark::State &state) {
  size_t size = static_cast<size_t>(state.range(0));
  std::string msg(size, 'm');
  std::string out(size, '\0');
  silly::RingBuffer rb;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; i++) rb.append(msg.data(), size);
    for (int i = 0; i < kBatch; i++) {
      rb.peek(out.data(), size);
      rb.consume(size);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kBatch * static_cast<int64_t>(size));
}
BENCHMARK(BM_RingBuffer_Fifo)->Arg(16)->Arg(512)->Arg(16384);

void BM_Baseline_String_Fifo(benchmark::State &state) {
  size_t size = static_cast<size_t>(state.range(0));
  std::string msg(size, 'm');
  std::string out(size, '\0');
  std::string buf;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; i++) buf.append(msg);
    for (int i = 0; i < kBatch; i++) {
      buf.copy(out.data(), size);
      buf.erase(0, size);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * kBatch * static_cast<int64_t>(size));
}
BENCHMARK(BM_Baseline_String_Fifo)->Arg(16)->Arg(512)->Arg(16384);

}  // namespace
