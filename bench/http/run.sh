#!/usr/bin/env bash
# HTTP/1.1 requests a second, keep-alive, wrk (1 thread, CONNS connections)
# on core 1 against bench/http/server.lua on core 0, for silly and, in the
# same run, the original framework (ORIG=its built checkout), in
# alternating rounds; with BUSY=1 a busy loop shares each core.
# Usage: [ORIG=DIR] [BUSY=1] bench/http/run.sh [ROUNDS] [SECONDS] [CONNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
secs=${2:-5}
conns=${3:-50}
. bench/ports.sh
silly=$(opt_silly)
busy_cores
port=18090
serve() {  # who
  case $1 in
    silly) taskset -c 0 "$silly" bench/http/server.lua --addr=127.0.0.1:$port >/dev/null 2>&1 & ;;
    original) (cd "$ORIG" && exec taskset -c 0 ./silly "$OLDPWD/bench/http/server.lua" --addr=127.0.0.1:$port \
      >/dev/null 2>&1) & ;;
  esac
  server=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
    sleep 0.05
  done
  echo "server $1 did not start" >&2
  return 1
}
echo "http: wrk -c$conns, ${secs}s per measure, $rounds rounds, busy cores: ${BUSY:-0}"
for r in $(seq "$rounds"); do
  for who in silly original; do
    [ "$who" = original ] && [ -z "${ORIG:-}" ] && continue
    serve "$who"
    for path in / /json; do
      out=$(taskset -c 1 wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port$path" 2>&1)
      rps=$(sed -n 's/^Requests\/sec: *//p' <<<"$out")
      p50=$(awk '/^ +50%/{print $2}' <<<"$out")
      p99=$(awk '/^ +99%/{print $2}' <<<"$out")
      errs=$(grep -c "Non-2xx\|Socket errors" <<<"$out" || true)
      printf "  round %d %-9s %-6s %10s req/s  p50 %8s  p99 %8s  error lines %s\n" "$r" "$who" "$path" "$rps" \
        "$p50" "$p99" "$errs"
    done
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  done
done
