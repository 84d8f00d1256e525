#!/usr/bin/env bash
# Decides the threading layout by measurement: the bare single-thread epoll
# echo server against the I/O-thread + worker-thread hand-off server, both
# driven by the same client. Reports msgs/s and server CPU µs per message.
# Usage: bench/echo/threading.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
rounds=${1:-3}
secs=${2:-4}
bazel build //bench/echo:bare_echo //bench/echo:handoff_echo >/dev/null 2>&1
bare=bazel-bin/bench/echo/bare_echo
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # run NAME SERVER-COMMAND...
  local name=$1
  shift
  local port=$(bench_port)
  "$@" $port &
  local pid=$!
  wait_port $port
  local t0 rate t1
  t0=$(cpu_ticks $pid)
  rate=$("$bare" client $port 100 "$secs" 2>/dev/null)
  t1=$(cpu_ticks $pid)
  kill $pid
  wait $pid 2>/dev/null || true
  awk -v n="$name" -v r="$rate" -v c=$((t1 - t0)) -v t="$tck" -v s="$secs" \
    'BEGIN { printf "%-10s %9.0f msgs/s   server CPU %5.2f µs/msg\n", n, r, c / t / (r * s) * 1e6 }'
}
for _ in $(seq "$rounds"); do
  run single "$bare" server
  run handoff bazel-bin/bench/echo/handoff_echo
done
