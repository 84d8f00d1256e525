#!/usr/bin/env bash
# Before and after: this checkout's runtime (B) against another build of it
# (A, BASE=path to its silly binary, for example the commit before a
# refactor built in a worktree), in alternating rounds, server and client
# pinned to a core each, medians of the rounds:
#   cluster (a) one caller, sequential calls: p50 / p99 µs
#   cluster (b) 100 callers: calls/s
#   echo        100 connections, one 16-byte message in flight each: msgs/s
# Usage: BASE=/path/to/silly bench/ab.sh [SECONDS [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/ports.sh
secs=${1:-3}
rounds=${2:-6}
[ -x "${BASE:-}" ] || { echo "BASE=/path/to/silly (the build to compare with) is needed"; exit 2; }
bazel build -c opt //:silly >/dev/null 2>&1
new=$(bazel info -c opt bazel-bin 2>/dev/null)/silly
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

cluster() { # cluster BINARY -> "p50 p99 calls_per_s"
  local port spid lat calls
  port=$(bench_port)
  taskset -c 0 "$1" bench/cluster/server.lua --port="$port" >/dev/null 2>&1 &
  spid=$!
  wait_port "$port"
  lat=$(taskset -c 1 "$1" bench/cluster/client.lua --port="$port" --mode=latency --calls=20000 2>/dev/null)
  calls=$(taskset -c 1 "$1" bench/cluster/client.lua --port="$port" --mode=calls --callers=100 --seconds="$secs" \
    2>/dev/null)
  kill "$spid"; wait "$spid" 2>/dev/null || true
  echo "$(get "$lat" p50_us) $(get "$lat" p99_us) $(get "$calls" calls_per_s)"
}

echo_rate() { # echo_rate BINARY -> msgs/s
  local port spid out
  port=$(bench_port)
  taskset -c 0 "$1" bench/echo/echo_server.lua --port="$port" >/dev/null 2>&1 &
  spid=$!
  wait_port "$port"
  out=$(taskset -c 1 "$1" bench/echo/echo_client.lua --port="$port" --conns=100 --seconds="$secs" 2>/dev/null)
  kill "$spid"; wait "$spid" 2>/dev/null || true
  echo "${out%% *}"
}

declare -A P50 P99 CALLS ECHO
round() { # round NAME BINARY
  local c
  c=$(cluster "$2")
  read -r p50 p99 calls <<<"$c"
  P50[$1]+="$p50 "; P99[$1]+="$p99 "; CALLS[$1]+="$calls "
  ECHO[$1]+="$(echo_rate "$2") "
}
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then round A "$BASE"; round B "$new"; else round B "$new"; round A "$BASE"; fi
done
m() { median $1; }
echo "before/after: $rounds alternating rounds of ${secs}s, A = $BASE, B = this checkout"
for k in A B; do
  echo "  $k: cluster p50 ${P50[$k]}| p99 ${P99[$k]}| calls/s ${CALLS[$k]}| echo msgs/s ${ECHO[$k]}"
done
echo "  medians A -> B: p50 $(m "${P50[A]}") -> $(m "${P50[B]}") µs, p99 $(m "${P99[A]}") -> $(m "${P99[B]}") µs," \
  "calls/s $(m "${CALLS[A]}") -> $(m "${CALLS[B]}") ($(ratio "$(m "${CALLS[B]}")" "$(m "${CALLS[A]}")")x)," \
  "echo $(m "${ECHO[A]}") -> $(m "${ECHO[B]}") ($(ratio "$(m "${ECHO[B]}")" "$(m "${ECHO[A]}")")x)"
