#!/usr/bin/env bash
# Many timers (issue 23's timer run): 100,000 tasks each sleeping a random
# 100-1000 ms, how late their wake-ups come (p50, p99, worst), and what one
# time.after costs from Lua (bench/timers/sleepers.lua), on core 0, for
# silly and, in the same run, the original framework (ORIG) and another
# silly binary (BASE), in alternating rounds.
# Usage: [ORIG=DIR] [BASE=SILLY] bench/timers/run.sh [ROUNDS] [SECONDS] [TASKS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-2}
secs=${2:-5}
tasks=${3:-100000}
. bench/ports.sh
silly=$(opt_silly)
tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
extra=()
if [ -n "${ORIG:-}" ]; then
  extra=("$(usclock_cpath "$tmp")")
fi
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "timers: $tasks sleeping tasks, ${secs}s of wake-ups a round, $rounds rounds"
for r in $(seq "$rounds"); do
  for who in silly base original; do
    case $who in
      silly) out=$(taskset -c 0 "$silly" bench/timers/sleepers.lua --tasks="$tasks" --seconds="$secs" 2>/dev/null) ;;
      base) [ -n "${BASE:-}" ] || continue
        out=$(taskset -c 0 "$BASE" bench/timers/sleepers.lua --tasks="$tasks" --seconds="$secs" 2>/dev/null) ;;
      original) [ -n "${ORIG:-}" ] || continue
        out=$(taskset -c 0 "$ORIG/silly" bench/timers/sleepers.lua --tasks="$tasks" --seconds="$secs" "${extra[@]}" \
          2>/dev/null | grep lateness) ;;
    esac
    printf "  round %d %-9s lateness p50 %6s us p99 %6s us worst %6s us (%s wake-ups) | time.after %s ns\n" "$r" "$who" \
      "$(get "$out" lateness_p50_us)" "$(get "$out" lateness_p99_us)" "$(get "$out" lateness_max_us)" \
      "$(get "$out" wakeups)" "$(get "$out" after_ns)"
  done
done
