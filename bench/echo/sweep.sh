#!/usr/bin/env bash
# Echo throughput and latency against the number of busy connections: for
# each N, the echo server (bench/echo/echo_server.lua) on silly and, with
# ORIG set, on the original framework, driven by the same C++ epoll client
# (bench/echo/bare_echo.cc, one 16-byte message in flight per connection);
# msgs/s, p50 and p99 of
# one round trip (after all links are connected and a second of warm-up),
# and the server's RSS while every link is busy, also drawn in
# bench/echo/sweep.png. The server runs on core 0, the client on core 1.
# Usage: [ORIG=DIR] [BASE=SILLY] bench/echo/sweep.sh [SECONDS] [N...]
#   (default: 5 100 1000 8000 16000); BASE: another silly binary (an earlier
#   commit's) measured the same way, for a before and after.
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
ulimit -n 20000
secs=${1:-5}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 8000 16000)
bazel build -c opt //:silly //bench/echo:bare_echo >/dev/null 2>&1
silly=bazel-bin/silly
bare=bazel-bin/bench/echo/bare_echo
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
tmp=$(mktemp -d)
trap '[ "$BASHPID" = "$$" ] && rm -rf "$tmp"' EXIT

run() { # run SERVER_BIN NAME N
  local bin=$1 name=$2 n=$3 port spid out rss
  port=$(bench_port)
  taskset -c 0 "$bin" bench/echo/echo_server.lua --port=$port >/dev/null 2>&1 &
  spid=$!
  wait_port $port
  out=$(
    taskset -c 1 "$bare" client $port "$n" "$secs" latency 2>"/tmp/sweep_err.$$" &
    cpid=$!
    until grep -q connected "/tmp/sweep_err.$$" 2>/dev/null; do sleep 0.1; done
    sleep $((secs / 2 + 1)) # past the warm-up, every link busy
    rss_kb $spid >"/tmp/sweep_rss.$$"
    wait $cpid
  )
  rss=$(cat "/tmp/sweep_rss.$$")
  rm -f "/tmp/sweep_rss.$$" "/tmp/sweep_err.$$"
  kill $spid
  wait $spid 2>/dev/null || true
  read -r rate p50 p99 <<<"$out"
  printf "  %-9s %6d busy links: %8d msgs/s   p50 %7d us   p99 %7d us   server RSS %7d KB\n" \
    "$name" "$n" "$rate" "$p50" "$p99" "$rss"
  echo "$n $rate $rss" >>"$tmp/$name.dat"
}

echo "echo, 16-byte messages, one in flight per link, ${secs}s each"
for n in "${sizes[@]}"; do
  run "$silly" silly "$n"
  [ -n "${BASE:-}" ] && run "$BASE" "silly-base" "$n"
  [ -n "${ORIG:-}" ] && run "$ORIG/silly" original "$n"
done

# The picture: msgs/s and server RSS against the number of busy links.
if have_gnuplot; then
  rates="" rsses=""
  for name in silly silly-base original; do
    [ -f "$tmp/$name.dat" ] || continue
    rates+="'$tmp/$name.dat' using 1:2 with linespoints lw 2 title '$name',"
    rsses+="'$tmp/$name.dat' using 1:(\$3/1024) with linespoints lw 2 title '$name',"
  done
  gnuplot <<GNUPLOT
set terminal png size 1000,420
set output 'bench/echo/sweep.png'
set multiplot layout 1,2 title "Echo, one 16-byte message in flight per link, ${secs} s each"
set logscale x
set xrange [70:25000]
set grid
set key bottom left
set xlabel 'busy links (log scale)'
set ylabel 'msgs/s'
set yrange [0:*]
plot ${rates%,}
set key top left
set ylabel 'server RSS, MB'
plot ${rsses%,}
unset multiplot
GNUPLOT
  echo "  picture: bench/echo/sweep.png"
fi
