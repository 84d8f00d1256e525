#!/usr/bin/env bash
# Cluster benchmarks, all in one run, client and server in two processes,
# 16-byte payloads, one link:
#   (a) one caller, sequential calls: p50/p99 (and a CDF of every call,
#       bench/cluster/latency.png)
#   (b) 100 concurrent callers: calls/s and CPU of both processes
#   (c) one-way sends/s
#   (d) zproto encode+decode of a typical message
#   (i) CPU of an idle node and of one serving 100 calls/s
# next to the bare C++ ceiling with the same frames and concurrency, and to
# the node with its loop blocking at once (--sys.loop.spin_us=0, the
# default before the loop learned when to poll).
# Usage: [ORIG=DIR] bench/cluster/run.sh [SECONDS] [SPIN_US]
#   SPIN_US: --sys.loop.spin_us for both nodes; default: the runtime's own.
#   ORIG: a build of the original framework (DIR/silly, DIR/deps/lua), run
#         with the same scripts as a baseline for (a) and (b).
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
secs=${1:-5}
spin=${2:-}
bazel build //:silly //codecs/zproto:zproto.so //bench/cluster:bare_rpc >/dev/null 2>&1
silly=bazel-bin/silly
bare=bazel-bin/bench/cluster/bare_rpc
tck=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
tmp=$(mktemp -d)
trap '[ "$BASHPID" = "$$" ] && rm -rf "$tmp"' EXIT
calls=30000

port=$(bench_port)
"$bare" server $port &
bpid=$!
wait_port $port
bare_lat=$("$bare" latency $port $calls "$tmp/bare.lat")
bare_calls=$("$bare" client $port 100 "$secs")
kill $bpid
wait $bpid 2>/dev/null || true

# node BINARY NAME SPINARGS...: (a), (b), and the server's CPU during (b)
# into NAME_lat, NAME_calls, NAME_cpu.
node() {
  local bin=$1 name=$2
  shift 2
  port=$(bench_port)
  "$bin" bench/cluster/server.lua --port=$port "$@" >/dev/null 2>&1 &
  spid=$!
  wait_port $port
  local lat c t0 t1
  lat=$("$bin" bench/cluster/client.lua --port=$port --mode=latency --calls=$calls --dump="$tmp/$name.lat" "$@" 2>/dev/null)
  t0=$(cpu_ticks $spid)
  c=$("$bin" bench/cluster/client.lua --port=$port --mode=calls --callers=100 --seconds="$secs" "$@" 2>/dev/null)
  t1=$(cpu_ticks $spid)
  if [ "$name" = silly ]; then
    sends=$("$silly" bench/cluster/client.lua --port=$port --mode=sends --seconds="$secs" "$@" 2>/dev/null)
  fi
  kill $spid
  wait $spid 2>/dev/null || true
  printf -v "${name}_lat" '%s' "$lat"
  printf -v "${name}_calls" '%s' "$c"
  printf -v "${name}_cpu" '%s' "$(awk -v a=$t0 -v b=$t1 -v t="$tck" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / t / (s + 0.5) }')"
}
spinargs=()
[ -n "$spin" ] && spinargs=(--sys.loop.spin_us="$spin")
node "$silly" silly "${spinargs[@]}"
node "$silly" blocking --sys.loop.spin_us=0
if [ -n "${ORIG:-}" ]; then
  gcc -O2 -shared -fPIC -I"$ORIG/deps/lua" -o "$tmp/usclock.so" bench/cluster/usclock.c
  node "$ORIG/silly" orig --lualib_cpath="$tmp/?.so"
fi

# (i) CPU seconds of a server idle for SECONDS, then serving 100 calls/s.
idle_cpu() { # idle_cpu SPINARGS... -> "idle trickle" in CPU ms
  port=$(bench_port)
  "$silly" bench/cluster/server.lua --port=$port "$@" >/dev/null 2>&1 &
  spid=$!
  wait_port $port
  local t0 t1 t2
  t0=$(cpu_ticks $spid)
  sleep "$secs"
  t1=$(cpu_ticks $spid)
  "$silly" bench/cluster/client.lua --port=$port --mode=trickle --rate=100 --seconds="$secs" "$@" >/dev/null 2>&1
  t2=$(cpu_ticks $spid)
  kill $spid
  wait $spid 2>/dev/null || true
  echo "$(((t1 - t0) * 1000 / tck)) $(((t2 - t1) * 1000 / tck))"
}
read -r idle_learned trickle_learned <<<"$(idle_cpu "${spinargs[@]}")"
read -r idle_blocking trickle_blocking <<<"$(idle_cpu --sys.loop.spin_us=0)"
zp=$("$silly" bench/cluster/zproto_bench.lua)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "cluster benchmarks: ${secs}s runs, loop spin ${spin:-learned}"
echo "  (a) sequential calls   silly p50 $(get "$silly_lat" p50_us) µs, p99 $(get "$silly_lat" p99_us) µs" \
  " | blocking p50 $(get "$blocking_lat" p50_us) µs, p99 $(get "$blocking_lat" p99_us) µs" \
  " | bare C++ p50 $(get "$bare_lat" p50_us) µs, p99 $(get "$bare_lat" p99_us) µs"
echo "  (b) 100 callers        silly $(get "$silly_calls" calls_per_s) calls/s (client CPU" \
  "$(get "$silly_calls" client_cpu), server CPU $silly_cpu) | blocking $(get "$blocking_calls" calls_per_s)" \
  "| bare C++ $(get "$bare_calls" calls_per_s) calls/s | ratio" \
  "$(ratio "$(get "$silly_calls" calls_per_s)" "$(get "$bare_calls" calls_per_s)")"
if [ -n "${ORIG:-}" ]; then
  echo "  original framework     p50 $(get "$orig_lat" p50_us) µs, p99 $(get "$orig_lat" p99_us) µs," \
    "$(get "$orig_calls" calls_per_s) calls/s | silly p50 ratio" \
    "$(ratio "$(get "$silly_lat" p50_us)" "$(get "$orig_lat" p50_us)"), p99 ratio" \
    "$(ratio "$(get "$silly_lat" p99_us)" "$(get "$orig_lat" p99_us)")"
fi
echo "  (c) one-way sends      silly $(get "$sends" sends_per_s) sends/s received"
echo "  (d) zproto             encode+pack+unpack+decode $(get "$zp" zproto_encode_pack_unpack_decode_ns) ns," \
  "encode+decode $(get "$zp" zproto_encode_decode_ns) ns | string.pack/unpack $(get "$zp" string_pack_unpack_ns) ns"
echo "  (i) server CPU ms      idle ${secs}s: $idle_learned (blocking $idle_blocking) |" \
  "100 calls/s for ${secs}s: $trickle_learned (blocking $trickle_blocking)"

# The picture: every sequential call's latency, as a CDF on a log scale.
if have_gnuplot; then
  plots="'$tmp/silly.cdf' using 1:2 with lines lw 2 title 'silly (default)',"
  plots+=" '$tmp/blocking.cdf' using 1:2 with lines lw 2 title 'silly, loop blocks at once',"
  plots+=" '$tmp/bare.cdf' using 1:2 with lines lw 2 title 'bare C++ (blocking reads)'"
  [ -n "${ORIG:-}" ] && plots+=", '$tmp/orig.cdf' using 1:2 with lines lw 2 title 'original framework'"
  for f in "$tmp"/*.lat; do
    awk -v n="$(wc -l <"$f")" '{ printf "%s %.5f\n", $1, NR / n }' "$f" >"${f%.lat}.cdf"
  done
  gnuplot <<GNUPLOT
set terminal png size 900,560
set output 'bench/cluster/latency.png'
set title "Sequential 16-byte cluster calls, one caller (${calls} calls each)"
set xlabel 'round trip, µs (log scale)'
set ylabel 'fraction of calls at or below'
set logscale x
set key bottom right
set grid
plot $plots
GNUPLOT
  echo "  latency CDF: bench/cluster/latency.png"
fi
