#!/usr/bin/env bash
# What metrics cost (issue: Prometheus metrics), client and server in two
# processes pinned to a core each:
#   (j) 100 callers' 16-byte calls/s with --metrics on both ends (the
#       per-call counters and histograms, and a scrape of each node every
#       second running the collectors) against metrics off; rounds of each,
#       alternating, ratio of the medians
#   (k) the cost of one update from Lua (bench/metrics_bench.lua)
# Usage: bench/cluster/metrics.sh [SECONDS [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
secs=${1:-2}
rounds=${2:-8}
bazel build //:silly >/dev/null 2>&1
silly=bazel-bin/silly
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

calls() { # calls on|off -> calls/s
  local port spid out smetrics cmetrics scraper=""
  port=$(bench_port)
  smetrics=() cmetrics=()
  if [ "$1" = on ]; then
    local sm cm
    sm=$(bench_port) cm=$(bench_port)
    smetrics=(--metrics=127.0.0.1:$sm) cmetrics=(--metrics=127.0.0.1:$cm)
    (while :; do
      curl -s -o /dev/null "http://127.0.0.1:$sm/metrics" || true
      curl -s -o /dev/null "http://127.0.0.1:$cm/metrics" || true
      sleep 1
    done) &
    scraper=$!
  fi
  taskset -c 0 "$silly" bench/cluster/server.lua --port="$port" "${smetrics[@]}" >/dev/null 2>&1 &
  spid=$!
  wait_port "$port"
  out=$(taskset -c 1 "$silly" bench/cluster/client.lua --port="$port" --mode=calls --seconds="$secs" \
    "${cmetrics[@]}" 2>/dev/null)
  kill "$spid"; wait "$spid" 2>/dev/null || true
  if [ -n "$scraper" ]; then kill "$scraper"; wait "$scraper" 2>/dev/null || true; fi
  get "$out" calls_per_s
}
OFF=(); ON=()
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 0 ]; then OFF+=("$(calls off)"); ON+=("$(calls on)"); else
    ON+=("$(calls on)"); OFF+=("$(calls off)"); fi
done
echo "metrics benchmarks: $rounds rounds of ${secs}s"
echo "  (j) 100 callers, calls/s   metrics off ${OFF[*]}"
echo "      metrics on             ${ON[*]} | ratio $(ratio "$(median "${ON[@]}")" "$(median "${OFF[@]}")")"
echo "  (k) one update from Lua:"
"$silly" bench/metrics_bench.lua
