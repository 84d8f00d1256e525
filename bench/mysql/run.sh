#!/usr/bin/env bash
# MySQL point selects (and single-row UPDATEs) a second: bench/mysql/client.lua
# on core 0 (silly, and in the same run the original framework, ORIG=its
# built checkout) against a throwaway mariadbd on core 1, in alternating
# rounds; mariadb-slap, Debian's C client with one thread a connection, on
# the same query as a reference.
# Usage: [ORIG=DIR] [BUSY=1] bench/mysql/run.sh [ROUNDS] [SECONDS] [TASKS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
secs=${2:-5}
tasks=${3:-16}
. bench/ports.sh
silly=$(opt_silly)
port=$(bench_port)
tmp=$(mktemp -d)
on_exit "scripts/mariadb.sh stop $tmp/db; rm -rf $tmp"
taskset -c 1 scripts/mariadb.sh start "$tmp/db" "$port" bench
sql() { mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot -pbench "$@"; }
sql -e "CREATE DATABASE bench; USE bench; CREATE TABLE players (id INT PRIMARY KEY, name VARCHAR(32),
  score BIGINT, updated DATETIME);
  INSERT INTO players SELECT seq, CONCAT('player', seq), seq * 10, NOW() FROM seq_1_to_10000;"
busy_cores
extra=()
if [ -n "${ORIG:-}" ]; then
  extra=("$(usclock_cpath "$tmp")")
fi
echo "mysql: $tasks tasks, ${secs}s, $rounds rounds, busy cores: ${BUSY:-0}"
for r in $(seq "$rounds"); do
  for write in 0 1; do
    what=$([ "$write" = 1 ] && echo update || echo select)
    for who in silly original; do
      case $who in
        silly) out=$(taskset -c 0 "$silly" bench/mysql/client.lua --addr=127.0.0.1:"$port" --password=bench \
          --tasks="$tasks" --seconds="$secs" --write="$write" 2>/dev/null | grep qps || echo failed) ;;
        original) [ -n "${ORIG:-}" ] || continue
          out=$(cd "$ORIG" && taskset -c 0 ./silly "$OLDPWD/bench/mysql/client.lua" --addr=127.0.0.1:"$port" \
            --password=bench --tasks="$tasks" --seconds="$secs" --write="$write" "${extra[@]}" 2>/dev/null |
            grep qps || echo failed) ;;
      esac
      printf "  round %d %-6s %-9s %s\n" "$r" "$what" "$who" "$out"
    done
  done
  q=$((tasks * 4000))
  t=$( { /usr/bin/time -f %e taskset -c 0 mariadb-slap --no-defaults -h127.0.0.1 -P"$port" -uroot -pbench \
    --create-schema=bench --concurrency="$tasks" --iterations=1 --number-of-queries="$q" \
    --query="SELECT id, name, score, updated FROM players WHERE id = 4242" >/dev/null; } 2>&1 | tail -1)
  printf "  round %d select mariadb-slap qps=%.0f\n" "$r" "$(echo "$q / $t" | bc -l)"
done
