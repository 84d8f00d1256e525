#!/usr/bin/env bash
# Cluster calls where cores are shared (issue 23's co-located run), 16-byte
# payloads, one link (bench/cluster/server.lua and client.lua):
#   colocated  both nodes pinned to core 0
#   busy core  the server on core 0 beside a busy loop, the client on core 1
#   loaded     nothing pinned, two busy loops on the machine
# each for silly (its default loop), silly with --sys.loop.spin_us=0
# (blocking at once), and, when given, the original framework (ORIG) and
# another silly binary (BASE): sequential p50/p99 and 100 callers' calls/s,
# with the default's ratios to blocking and to the original.
# Usage: [ORIG=DIR] [BASE=SILLY] bench/cluster/shared_cores.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
secs=${1:-3}
bazel build -c opt //:silly >/dev/null 2>&1
silly=$(bazel info -c opt bazel-bin 2>/dev/null)/silly
tmp=$(mktemp -d)
hogs=()
cleanup() {
  for h in "${hogs[@]}"; do kill "$h" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }
hog() { taskset -c "$1" sh -c 'while :; do :; done' & hogs+=($!); }
unhog() { for h in "${hogs[@]}"; do kill "$h" 2>/dev/null || true; done; hogs=(); }
origargs=()
if [ -n "${ORIG:-}" ]; then
  gcc -O2 -shared -fPIC -I"$ORIG/deps/lua" -o "$tmp/usclock.so" bench/cluster/usclock.c
  origargs=(--lualib_cpath="$tmp/?.so")
fi

# pair SERVER_CPUS CLIENT_CPUS BINARY ARGS... -> "p50 p99 calls_per_s"
pair() {
  local scpu=$1 ccpu=$2 bin=$3 port spid lat calls
  shift 3
  port=$(bench_port)
  taskset -c "$scpu" "$bin" bench/cluster/server.lua --port="$port" "$@" >/dev/null 2>&1 &
  spid=$!
  wait_port "$port"
  lat=$(taskset -c "$ccpu" "$bin" bench/cluster/client.lua --port="$port" --mode=latency --calls=10000 "$@" \
    2>/dev/null | grep p50)
  calls=$(taskset -c "$ccpu" "$bin" bench/cluster/client.lua --port="$port" --mode=calls --callers=100 \
    --seconds="$secs" "$@" 2>/dev/null | grep calls_per_s)
  kill "$spid"
  wait "$spid" 2>/dev/null || true
  echo "$(get "$lat" p50_us) $(get "$lat" p99_us) $(get "$calls" calls_per_s)"
}

scenario() { # scenario NAME SERVER_CPUS CLIENT_CPUS
  local name=$1 s=$2 c=$3 d b o base
  d=($(pair "$s" "$c" "$silly"))
  b=($(pair "$s" "$c" "$silly" --sys.loop.spin_us=0))
  printf "  %-10s silly    p50 %5s us p99 %6s us %7s calls/s\n" "$name" "${d[@]}"
  printf "  %-10s blocking p50 %5s us p99 %6s us %7s calls/s\n" "" "${b[@]}"
  if [ -n "${BASE:-}" ]; then
    base=($(pair "$s" "$c" "$BASE"))
    printf "  %-10s base     p50 %5s us p99 %6s us %7s calls/s\n" "" "${base[@]}"
  fi
  local vs_orig=""
  if [ -n "${ORIG:-}" ]; then
    o=($(pair "$s" "$c" "$ORIG/silly" "${origargs[@]}"))
    printf "  %-10s original p50 %5s us p99 %6s us %7s calls/s\n" "" "${o[@]}"
    vs_orig=", p50 to the original's $(ratio "${d[0]}" "${o[0]}")"
  fi
  echo "  ${name}: default p50 to blocking's $(ratio "${d[0]}" "${b[0]}"), calls/s to blocking's" \
    "$(ratio "${d[2]}" "${b[2]}")$vs_orig"
}

echo "cluster calls on shared cores, ${secs}s of 100 callers each"
scenario colocated 0 0
hog 0
scenario "busy core" 0 1
unhog
hog 0-1
hog 0-1
scenario loaded 0-1 0-1
unhog
