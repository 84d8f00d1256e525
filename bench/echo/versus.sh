#!/usr/bin/env bash
# Echo servers side by side: silly, the original framework (ORIG=DIR) and
# a runtime with the connection-object tcp API (NEWER=DIR, for example a
# later upstream build; it runs bench/echo/echo_server_conn.lua), each on
# core 0, against the same bare C++ client (bench/echo/bare_echo) on core 1
# with 100 connections, one 16-byte message in flight on each, in
# alternating rounds. Prints msgs/s and the server's CPU seconds per round.
# Usage: [ORIG=DIR] [NEWER=DIR] bench/echo/versus.sh [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
rounds=${1:-3}
secs=${2:-5}
silly=$(opt_silly)
bazel build -c opt //bench/echo:bare_echo >/dev/null 2>&1
bare=$(bazel info -c opt bazel-bin 2>/dev/null)/bench/echo/bare_echo
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
here=$(pwd)
echo "echo, 100 connections, 16-byte messages, ${secs}s a round, servers on core 0, bare C++ client on core 1"
for r in $(seq "$rounds"); do
  for who in silly original newer; do
    port=$(bench_port)
    case $who in
      silly) taskset -c 0 "$silly" bench/echo/echo_server.lua --port="$port" >/dev/null 2>&1 & ;;
      original) [ -n "${ORIG:-}" ] || continue
        taskset -c 0 "$ORIG/silly" bench/echo/echo_server.lua --port="$port" >/dev/null 2>&1 & ;;
      newer) [ -n "${NEWER:-}" ] || continue
        (cd "$NEWER" && exec taskset -c 0 ./silly "$here/bench/echo/echo_server_conn.lua" --port="$port" \
          >/dev/null 2>&1) & ;;
    esac
    spid=$!
    wait_port "$port"
    t0=$(cpu_ticks "$spid")
    rate=$(taskset -c 1 "$bare" client "$port" 100 "$secs" 2>/dev/null | tail -1)
    t1=$(cpu_ticks "$spid")
    kill "$spid"; wait "$spid" 2>/dev/null || true
    printf "  round %d %-9s %8s msgs/s  server CPU %5.2f s\n" "$r" "$who" "$rate" \
      "$(awk -v t=$((t1 - t0)) -v h="$tck" 'BEGIN { print t / h }')"
  done
done
