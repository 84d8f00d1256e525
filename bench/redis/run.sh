#!/usr/bin/env bash
# Redis GET/SET operations a second: bench/redis/client.lua on core 0 (silly,
# and in the same run the original framework, ORIG=its built checkout)
# against redis-server on core 1, in alternating rounds; redis-benchmark
# (same connection count) as the ceiling. Two shapes: TASKS tasks making
# single calls (ours pipelines them on one connection), and each task
# sending BATCH-command pipelines.
# Usage: [ORIG=DIR] [BUSY=1] bench/redis/run.sh [ROUNDS] [SECONDS] [TASKS] [BATCH]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
secs=${2:-5}
tasks=${3:-50}
batch=${4:-16}
. bench/ports.sh
silly=$(opt_silly)
busy_cores
port=$(bench_port)
tmp=$(mktemp -d)
taskset -c 1 redis-server --port "$port" --bind 127.0.0.1 --dir "$tmp" --save '' --appendonly no >/dev/null 2>&1 &
on_exit "kill $! 2>/dev/null; rm -rf $tmp"
wait_port "$port"
extra=()
if [ -n "${ORIG:-}" ]; then
  extra=("$(usclock_cpath "$tmp")")
fi
echo "redis: $tasks tasks, ${secs}s, batch $batch, $rounds rounds, busy cores: ${BUSY:-0}"
for r in $(seq "$rounds"); do
  for shape in 0 "$batch"; do
    for who in silly original; do
      case $who in
        silly) out=$(taskset -c 0 "$silly" bench/redis/client.lua --addr=127.0.0.1:"$port" --tasks="$tasks" \
          --seconds="$secs" --batch="$shape" 2>/dev/null | grep ops_s || echo failed) ;;
        original) [ -n "${ORIG:-}" ] || continue
          out=$(cd "$ORIG" && taskset -c 0 ./silly "$OLDPWD/bench/redis/client.lua" --addr=127.0.0.1:"$port" \
            --tasks="$tasks" --seconds="$secs" --batch="$shape" "${extra[@]}" 2>/dev/null | grep ops_s || echo failed) ;;
      esac
      printf "  round %d batch %-3s %-9s %s\n" "$r" "$shape" "$who" "$out"
    done
    p=$((shape > 0 ? shape : 1))
    ceil=$(taskset -c 0 redis-benchmark -p "$port" -c "$tasks" -n 200000 -P "$p" -t set,get -q 2>/dev/null |
      tr '\r' '\n' | sed -n 's/^\(SET\|GET\): \([0-9.]*\) requests.*/\2/p' | paste -sd' ')
    printf "  round %d batch %-3s redis-benchmark -P %d: SET GET %s\n" "$r" "$shape" "$p" "$ceil"
  done
done
