#!/usr/bin/env bash
# Memory per idle connection: server RSS at start, with N idle links, and
# 15 s after they all closed; for each N given.
#   KIND=tcp (default): the echo server (bench/echo/echo_server.lua, one task
#     per connection blocked in tcp.read), links that echoed once
#   KIND=cluster: a cluster node (bench/cluster/server.lua), links that
#     carried one call each (bench/echo/idle_client.lua --kind=cluster)
# Usage: [ORIG=DIR] [BASE=SILLY] [KIND=tcp|cluster] bench/echo/memory.sh [N...]
#   (default: 8000 16000). ORIG: a build of the original framework; BASE:
#   another silly binary (an earlier commit's); both measured the same way.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
ulimit -n 20000
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(8000 16000)
bazel build -c opt //:silly >/dev/null 2>&1
silly=bazel-bin/silly
tmp=$(mktemp -d)
trap '[ "$BASHPID" = "$$" ] && rm -rf "$tmp"' EXIT
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

kind=${KIND:-tcp}
case "$kind" in
  tcp) server=bench/echo/echo_server.lua ;;
  cluster) server=bench/cluster/server.lua ;;
  *) echo "KIND must be tcp or cluster" >&2; exit 2 ;;
esac

measure() { # measure SERVER_BIN NAME N
  local bin=$1 name=$2 n=$3 port spid cpid start idle after
  port=$(bench_port)
  "$bin" "$server" --port=$port >/dev/null 2>&1 &
  spid=$!
  wait_port $port
  sleep 0.5
  start=$(rss_kb $spid)
  rm -f "$tmp/release"
  "$silly" bench/echo/idle_client.lua --kind="$kind" --port=$port --conns="$n" --release="$tmp/release" >"$tmp/client.out" 2>&1 &
  cpid=$!
  until grep -q '^ready' "$tmp/client.out"; do sleep 0.2; done
  sleep 3 # the links are idle now; a collector tick or two has run
  idle=$(rss_kb $spid)
  touch "$tmp/release"
  wait $cpid || true
  sleep 15
  after=$(rss_kb $spid)
  kill $spid
  wait $spid 2>/dev/null || true
  printf "  %-9s %6d links: RSS start %6d KB, idle %7d KB (%5.2f KB a link), 15 s after closing %6d KB (%3.0f%% of start); %s\n" \
    "$name" "$n" "$start" "$idle" "$(awk -v a="$start" -v b="$idle" -v n="$n" 'BEGIN { print (b - a) / n }')" \
    "$after" "$(awk -v a="$start" -v b="$after" 'BEGIN { print 100 * b / a }')" "$(head -1 "$tmp/client.out")"
}

echo "$kind server memory per idle link"
for n in "${sizes[@]}"; do
  measure "$silly" silly "$n"
  [ -n "${BASE:-}" ] && measure "$BASE" silly-base "$n"
  [ -n "${ORIG:-}" ] && measure "$ORIG/silly" original "$n"
done
