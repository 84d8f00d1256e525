#!/usr/bin/env bash
# Cluster benchmarks, all in one run, client and server in two processes,
# 16-byte payloads, one link:
#   (a) one caller, sequential calls: p50/p99
#   (b) 100 concurrent callers: calls/s and CPU of both processes
#   (c) one-way sends/s
#   (d) zproto encode+decode of a typical message
# next to the bare C++ ceiling with the same frames and concurrency.
# Usage: bench/cluster/run.sh [SECONDS] [SPIN_US]
#   SPIN_US: --sys.loop.spin_us for both nodes (0 = block at once).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
secs=${1:-5}
spin=${2:-0}
bazel build //:silly //codecs/zproto:zproto.so //bench/cluster:bare_rpc >/dev/null 2>&1
silly=bazel-bin/silly
bare=bazel-bin/bench/cluster/bare_rpc
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
port=$(bench_port)

"$bare" server $port &
bpid=$!
wait_port $port
bare_lat=$("$bare" latency $port 50000)
bare_calls=$("$bare" client $port 100 "$secs")
kill $bpid
wait $bpid 2>/dev/null || true

port=$(bench_port)
"$silly" bench/cluster/server.lua --port=$port --sys.loop.spin_us="$spin" &
spid=$!
wait_port $port
lat=$("$silly" bench/cluster/client.lua --port=$port --mode=latency --calls=50000 --sys.loop.spin_us="$spin")
t0=$(cpu_ticks $spid)
calls=$("$silly" bench/cluster/client.lua --port=$port --mode=calls --callers=100 --seconds="$secs" \
  --sys.loop.spin_us="$spin")
t1=$(cpu_ticks $spid)
sends=$("$silly" bench/cluster/client.lua --port=$port --mode=sends --seconds="$secs" --sys.loop.spin_us="$spin")
kill $spid
wait $spid 2>/dev/null || true
zp=$("$silly" bench/cluster/zproto_bench.lua)

server_cpu=$(awk -v a=$t0 -v b=$t1 -v t="$tck" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / t / (s + 0.7) }')
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio=$(awk -v a="$(get "$calls" calls_per_s)" -v b="$(get "$bare_calls" calls_per_s)" 'BEGIN { printf "%.2f", a / b }')
echo "cluster benchmarks: ${secs}s runs, loop spin ${spin} µs"
echo "  (a) sequential calls   silly p50 $(get "$lat" p50_us) µs, p99 $(get "$lat" p99_us) µs" \
  " | bare C++ p50 $(get "$bare_lat" p50_us) µs, p99 $(get "$bare_lat" p99_us) µs"
echo "  (b) 100 callers        silly $(get "$calls" calls_per_s) calls/s (client CPU $(get "$calls" client_cpu)," \
  "server CPU $server_cpu) | bare C++ $(get "$bare_calls" calls_per_s) calls/s | ratio $ratio"
echo "  (c) one-way sends      silly $(get "$sends" sends_per_s) sends/s received"
echo "  (d) zproto             encode+pack+unpack+decode $(get "$zp" zproto_encode_pack_unpack_decode_ns) ns," \
  "encode+decode $(get "$zp" zproto_encode_decode_ns) ns | string.pack/unpack $(get "$zp" string_pack_unpack_ns) ns"
