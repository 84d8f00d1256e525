#!/usr/bin/env bash
# WebSocket echo: bench/websocket/server.lua on core 0 (silly, and in the
# same run the original framework, ORIG=its built checkout), load from
# bench/websocket/client.lua (silly) on core 1, alternating rounds; with
# BUSY=1 a busy loop shares each core.
# Usage: [ORIG=DIR] [BUSY=1] bench/websocket/run.sh [ROUNDS] [SECONDS] [CONNS] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
secs=${2:-5}
conns=${3:-50}
size=${4:-64}
. bench/ports.sh
silly=$(opt_silly)
busy_cores
port=18091
echo "websocket echo: $conns connections, $size-byte messages, ${secs}s, $rounds rounds, busy cores: ${BUSY:-0}"
for r in $(seq "$rounds"); do
  for who in silly original; do
    case $who in
      silly) taskset -c 0 "$silly" bench/websocket/server.lua --addr=127.0.0.1:$port >/dev/null 2>&1 & ;;
      original) [ -n "${ORIG:-}" ] || continue
        (cd "$ORIG" && exec taskset -c 0 ./silly "$OLDPWD/bench/websocket/server.lua" --addr=127.0.0.1:$port \
          >/dev/null 2>&1) & ;;
    esac
    server=$!
    sleep 0.5
    out=$(taskset -c 1 "$silly" bench/websocket/client.lua --url=ws://127.0.0.1:$port --conns="$conns" \
      --size="$size" --seconds="$secs" 2>&1 | grep msgs_s || echo "client failed")
    printf "  round %d %-9s %s\n" "$r" "$who" "$out"
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  done
done
