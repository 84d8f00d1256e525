#!/usr/bin/env bash
# Benchmarks of the link options (docs/cluster-extensions.md), client and
# server in two processes, each against a baseline from the same run:
#   (e) p50/p99 of sequential 16-byte calls on a link that also carries
#       continuous 1 MiB calls, against the same calls on an idle link
#   (f) 1 MiB calls, MB/s both ways, against a bare C++ echo of the same bytes
#   (g) 100 callers' calls/s with heartbeat = 100 ms on both ends, against
#       none (two rounds each, alternating)
# Usage: bench/cluster/links.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
secs=${1:-5}
bazel build //:silly //bench/cluster:bare_bulk >/dev/null 2>&1
silly=bazel-bin/silly
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
server() { # server ARGS... ; sets port and spid
  port=$(bench_port)
  "$silly" bench/cluster/server.lua --port="$port" "$@" >/dev/null 2>&1 &
  spid=$!
  wait_port "$port"
}
stop() { kill "$spid"; wait "$spid" 2>/dev/null || true; }
client() { "$silly" bench/cluster/client.lua --port="$port" "$@" 2>/dev/null; }
big=$((64 << 20))

port=$(bench_port)
bazel-bin/bench/cluster/bare_bulk server "$port" &
bpid=$!
wait_port "$port"
bare=$(bazel-bin/bench/cluster/bare_bulk client "$port" $((1 << 20)) "$secs")
kill $bpid; wait $bpid 2>/dev/null || true

server --maxpayload=$big
idle=$(client --mode=latency --calls=20000 --maxpayload=$big)
mixed=$(client --mode=mixed --calls=20000 --maxpayload=$big)
bulk=$(client --mode=bulk --seconds="$secs" --maxpayload=$big)
stop

calls() { # calls HEARTBEAT -> calls/s
  if [ "$1" = 0 ]; then server; else server --heartbeat="$1"; fi
  local out
  if [ "$1" = 0 ]; then out=$(client --mode=calls --seconds="$secs"); else
    out=$(client --mode=calls --seconds="$secs" --heartbeat="$1"); fi
  stop
  get "$out" calls_per_s
}
none1=$(calls 0); hb1=$(calls 100); none2=$(calls 0); hb2=$(calls 100)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "cluster link benchmarks: ${secs}s runs"
echo "  (e) 16-byte calls, idle link     p50 $(get "$idle" p50_us) µs, p99 $(get "$idle" p99_us) µs"
echo "      with 1 MiB calls alongside   p50 $(get "$mixed" p50_us) µs, p99 $(get "$mixed" p99_us) µs" \
  "| p99 ratio $(ratio "$(get "$mixed" p99_us)" "$(get "$idle" p99_us)")"
echo "  (f) 1 MiB calls                  silly $(get "$bulk" mb_per_s) MB/s | bare C++ $(get "$bare" mb_per_s) MB/s" \
  "| ratio $(ratio "$(get "$bulk" mb_per_s)" "$(get "$bare" mb_per_s)")"
echo "  (g) 100 callers, calls/s         none $none1 / $none2 | heartbeat 100 ms $hb1 / $hb2" \
  "| ratio $(ratio $((hb1 + hb2)) $((none1 + none2)))"
