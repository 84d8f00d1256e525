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
. bench/ports.sh
silly=$(opt_silly)
tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
extra=()
if [ -n "${ORIG:-}" ]; then
  extra=("$(usclock_cpath "$tmp")")
fi
if [ "${BUSY:-0}" = 1 ]; then # unpinned, as the pool's threads are
  for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    on_exit "kill $! 2>/dev/null"
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
