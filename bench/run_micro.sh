#!/usr/bin/env bash
# Runs the Google Benchmark binaries and prints each of our benchmarks as a
# ratio against its baseline from the same run (>1: ours is faster).
# Usage: bench/run_micro.sh [TARGET...]   (default: all micro benchmarks)
set -euo pipefail
cd "$(dirname "$0")/.."
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(timer_bench ring_buffer_bench)
for t in "${targets[@]}"; do bazel build "//bench:$t" >/dev/null 2>&1; done
for t in "${targets[@]}"; do
  json=$(mktemp)
  "bazel-bin/bench/$t" --benchmark_format=json --benchmark_min_time=0.3 >"$json" 2>/dev/null
  python3 bench/ratios.py "$json"
  rm -f "$json"
done
