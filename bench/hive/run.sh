#!/usr/bin/env bash
# silly.hive beside the original framework's (ORIG=checkout, built), in
# alternating rounds: the cost of one sequential invoke, and calls a second
# through WORKERS workers in parallel. With BUSY=1 a busy loop runs on each
# core meanwhile (a shared machine).
# Usage: [ORIG=DIR] [BUSY=1] bench/hive/run.sh [ROUNDS] [SECONDS] [WORKERS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
secs=${2:-2}
workers=${3:-4}
bazel build -c opt //:silly >/dev/null 2>&1
silly=$(bazel info -c opt bazel-bin 2>/dev/null)/silly
tmp=$(mktemp -d)
busy=()
cleanup() {
  [ ${#busy[@]} -eq 0 ] || kill "${busy[@]}" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
extra=()
if [ -n "${ORIG:-}" ]; then
  gcc -O2 -shared -fPIC -I"$ORIG/deps/lua" -o "$tmp/usclock.so" bench/cluster/usclock.c
  extra=(--lualib_cpath="$tmp/?.so")
fi
if [ "${BUSY:-0}" = 1 ]; then
  for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    busy+=($!)
  done
fi
echo "hive: ${secs}s per measure, $workers parallel workers, $rounds rounds, busy cores: ${BUSY:-0}"
for r in $(seq "$rounds"); do
  for who in silly original; do
    case $who in
      silly) out=$("$silly" bench/hive/hive_bench.lua --seconds="$secs" --workers="$workers" 2>/dev/null | tr '\n' ' ') ;;
      original) [ -n "${ORIG:-}" ] || continue
        out=$(cd "$ORIG" && ./silly "$OLDPWD/bench/hive/hive_bench.lua" --seconds="$secs" --workers="$workers" \
          "${extra[@]}" 2>/dev/null | grep -E "invoke_us|parallel" | tr '\n' ' ' || true) ;;
    esac
    echo "  round $r $who: $out"
  done
done
