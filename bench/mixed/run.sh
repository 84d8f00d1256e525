#!/usr/bin/env bash
# A gate under load (issue 23's mixed-load run): one process echoes for
# N busy client connections (bench/echo/bare_echo.cc, one 16-byte message
# in flight each) and makes sequential cluster calls to another node
# (bench/mixed/gate.lua). Reports the echo's msgs/s, p50 and p99, the calls'
# p50 and p99, and the ratio of the call p50 to the echo p50: how long the
# gate's own call waits behind its players. The gate runs on core 0, the
# echo client and the called node on core 1.
# Usage: [ORIG=DIR] [BASE=SILLY] bench/mixed/run.sh [SECONDS] [N]
#   (default 6 8000). ORIG: a build of the original framework; BASE:
#   another silly binary, measured the same way.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
ulimit -n 20000
secs=${1:-6}
n=${2:-8000}
bazel build -c opt //:silly //bench/echo:bare_echo >/dev/null 2>&1
silly=$(bazel info -c opt bazel-bin 2>/dev/null)/silly
bare=$(bazel info -c opt bazel-bin 2>/dev/null)/bench/echo/bare_echo
tmp=$(mktemp -d)
trap '[ "$BASHPID" = "$$" ] && rm -rf "$tmp"' EXIT
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

run() { # run BINARY NAME EXTRA...
  local bin=$1 name=$2 cport eport cpid gpid echo calls
  shift 2
  cport=$(bench_port)
  taskset -c 1 "$bin" bench/cluster/server.lua --port="$cport" "$@" >/dev/null 2>&1 &
  cpid=$!
  wait_port "$cport"
  eport=$(bench_port)
  taskset -c 0 "$bin" bench/mixed/gate.lua --port="$eport" --callee="$cport" --links="$n" \
    --seconds=$((secs - 2)) "$@" >"$tmp/$name.calls" 2>/dev/null &
  gpid=$!
  wait_port "$eport"
  echo=$(taskset -c 1 "$bare" client "$eport" "$n" $((secs + 3)) latency 2>/dev/null)
  for _ in $(seq 300); do [ -s "$tmp/$name.calls" ] && break; sleep 0.1; done
  calls=$(cat "$tmp/$name.calls")
  kill "$gpid" "$cpid"
  wait "$gpid" "$cpid" 2>/dev/null || true
  read -r rate p50 p99 <<<"$echo"
  printf "  %-10s echo %7d msgs/s p50 %6d us p99 %6d us | call p50 %6s us p99 %6s us (%s calls, %s echoes/s meanwhile) | call/echo p50 %s\n" \
    "$name" "$rate" "$p50" "$p99" "$(get "$calls" p50_us)" "$(get "$calls" p99_us)" "$(get "$calls" calls)" \
    "$(get "$calls" load_msgs_per_s)" "$(ratio "$(get "$calls" p50_us)" "$p50")"
}

echo "gate: $n busy echo links, sequential 16-byte cluster calls, ${secs}s"
run "$silly" silly
[ -n "${BASE:-}" ] && run "$BASE" silly-base
if [ -n "${ORIG:-}" ]; then
  gcc -O2 -shared -fPIC -I"$ORIG/deps/lua" -o "$tmp/usclock.so" bench/cluster/usclock.c
  run "$ORIG/silly" original --lualib_cpath="$tmp/?.so"
fi
