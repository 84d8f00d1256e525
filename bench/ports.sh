# Sourced by the benchmark scripts (from the repository root): the binary,
# ports for the servers they start, clean-up at exit, and the median of a
# series of rounds.
#   silly=$(opt_silly)      builds silly with -c opt and prints its path
#   on_exit CMD             runs CMD when the script exits (all of them, in
#                           order; a script's own `trap ... EXIT` would drop
#                           the others)
#   usclock_cpath DIR       builds bench/cluster/usclock.c (a µs clock for
#                           scripts run by the original, whose time module
#                           has none) against $ORIG's Lua into DIR; prints the
#                           --lualib_cpath option that finds it
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

opt_silly() {
  bazel build -c opt //:silly >/dev/null 2>&1 || return 1
  echo "$(bazel info -c opt bazel-bin 2>/dev/null)/silly"
}

_bench_exit=()
_bench_run_exit() {
  local c
  for c in "${_bench_exit[@]}"; do
    eval "$c" || true
  done
}
on_exit() {
  _bench_exit+=("$1")
  trap _bench_run_exit EXIT
}

usclock_cpath() {
  gcc -O2 -shared -fPIC -I"$ORIG/deps/lua" -o "$1/usclock.so" bench/cluster/usclock.c || return 1
  echo "--lualib_cpath=$1/?.so"
}

busy_cores() {
  [ "${BUSY:-0}" = 1 ] || return 0
  local c
  for c in 0 1; do
    taskset -c "$c" bash -c 'while :; do :; done' &
    on_exit "kill $! 2>/dev/null"
  done
}
