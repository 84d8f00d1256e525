#!/usr/bin/env bash
# A throwaway MariaDB server for tests and benchmarks: a new data directory,
# loopback only, user root with the given password on 127.0.0.1.
#   scripts/mariadb.sh start DIR PORT PASSWORD   a new server; returns once it answers
#   scripts/mariadb.sh run DIR PORT              the same server again (after a kill)
#   scripts/mariadb.sh stop DIR
# The server's pid is in DIR/pid. Clients use TCP: the Unix socket, a
# relative name inside the data directory, may be too long a path to reach.
# Debian's mariadb-server provides mariadbd and mariadb-install-db; the
# server runs as the calling user (root needs --user=root).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: scripts/mariadb.sh start DIR PORT PASSWORD | stop DIR" >&2
  exit 2
fi
PATH=$PATH:/usr/sbin

run() {
  rm -f "$dir/pid"
  mariadbd --no-defaults --datadir="$dir/data" --user="$(id -un)" --port="$1" --bind-address=127.0.0.1 \
    --socket=mariadb.sock --pid-file="$dir/pid" --skip-name-resolve --innodb-buffer-pool-size=32M \
    --log-error="$dir/error.log" --tmpdir="$dir/tmp" >/dev/null 2>&1 &
  for _ in $(seq 600); do
    # Answering on the socket: ping's "Access denied" once a password is set.
    mariadb-admin --no-defaults -h127.0.0.1 -P"$1" -uroot ping 2>&1 | grep -qE "alive|denied" && [ -s "$dir/pid" ] && return 0
    sleep 0.1
  done
  cat "$dir/error.log" >&2
  return 1
}

case "$cmd" in
  run) run "$3" ;;
  start)
    port=$3
    password=$4
    rm -rf "$dir"
    mkdir -p "$dir/tmp"
    # Temporary files in DIR: in /tmp, two servers whose pids match (each
    # test in a pid namespace of its own) would collide on their names.
    mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" --tmpdir="$dir/tmp" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
      { cat "$dir/install.log" >&2; exit 1; }
    run "$port"
    mariadb --no-defaults -h127.0.0.1 -P"$port" -uroot -e \
      "ALTER USER 'root'@'localhost' IDENTIFIED BY '$password'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '$password';" ||
      { cat "$dir/error.log" >&2; exit 1; }
    ;;
  stop)
    if [ -f "$dir/pid" ]; then
      pid=$(cat "$dir/pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    ;;
esac
