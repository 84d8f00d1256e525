# Sourced by the benchmark scripts: ports for the servers they start, and
# the median of a series of rounds.
#   port=$(bench_port)      a free port below the kernel's ephemeral range,
#                           so no client socket of this machine holds it
#   wait_port PORT          returns once something accepts on PORT (5 s at most)
#   median N...             the median of the numbers
#   have_gnuplot            installs gnuplot from Debian if missing (for the
#                           pictures); false when it is still not there
#   busy_cores              with BUSY=1, a busy loop pinned to each of cores
#                           0 and 1 until the script exits (a shared machine)
bench_port() {
  local low
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  local p
  for _ in $(seq 50); do
    p=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  echo "bench_port: no free port found" >&2
  return 1
}

wait_port() {
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "wait_port: nothing accepts on port $1" >&2
  return 1
}

median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'
}

have_gnuplot() {
  if ! command -v gnuplot >/dev/null; then
    echo "installing gnuplot for the picture"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 || true
  fi
  command -v gnuplot >/dev/null
}

busy_cores() {
  [ "${BUSY:-0}" = 1 ] || return 0
  local pids=()
  for c in 0 1; do
    taskset -c "$c" bash -c 'while :; do :; done' &
    pids+=($!)
  done
  # shellcheck disable=SC2064
  trap "kill ${pids[*]} 2>/dev/null || true" EXIT
}
