#!/usr/bin/env bash
# Echo benchmark: 100 connections, 16-byte messages, client and server in
# two processes. Runs the bare C++ epoll pair and the silly Lua pair in the
# same run and prints messages/s for both and their ratio.
# Usage: bench/echo/run.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
secs=${1:-5}
conns=${2:-100}
bazel build //:silly //bench/echo:bare_echo >/dev/null 2>&1
silly=bazel-bin/silly
bare=bazel-bin/bench/echo/bare_echo
port=$(bench_port)

"$bare" server $port &
spid=$!
wait_port $port
bare_rate=$("$bare" client $port "$conns" "$secs" 2>/dev/null)
kill $spid; wait $spid 2>/dev/null || true

port=$(bench_port)
"$silly" bench/echo/echo_server.lua --port=$port &
spid=$!
wait_port $port
silly_rate=$("$silly" bench/echo/echo_client.lua --port=$port --conns="$conns" --seconds="$secs" | cut -d" " -f1)
kill $spid; wait $spid 2>/dev/null || true

ratio=$(awk -v a="$silly_rate" -v b="$bare_rate" 'BEGIN { printf "%.2f", a / b }')
printf "echo, %d connections, 16-byte messages, %ds each\n" "$conns" "$secs"
printf "  bare C++ epoll: %12s msgs/s\n" "$bare_rate"
printf "  silly (Lua):    %12s msgs/s\n" "$silly_rate"
printf "  ratio silly/bare: %s (target >= 0.5)\n" "$ratio"
