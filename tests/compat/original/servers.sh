#!/usr/bin/env bash
# Starts the servers the original framework's test files expect, on
# loopback with temporary data directories: redis-server at 127.0.0.1:6379
# (testredis uses db 11) and mariadbd at 127.0.0.1:3306 with user root,
# password root (testmysql). Stop them with `servers.sh stop`.
#   tests/compat/original/servers.sh [start|stop]
set -euo pipefail
state=/tmp/silly-original-servers
case "${1:-start}" in
  start)
    mkdir -p "$state/redis"
    redis-server --port 6379 --bind 127.0.0.1 --dir "$state/redis" --save '' --appendonly no --daemonize yes \
      --pidfile "$state/redis.pid" >/dev/null
    for _ in $(seq 100); do
      redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && break
      sleep 0.05
    done
    echo "redis-server at 127.0.0.1:6379 ($state/redis)"
    "$(dirname "$0")/../../../scripts/mariadb.sh" start "$state/mariadb" 3306 root
    echo "mariadbd at 127.0.0.1:3306, root/root ($state/mariadb)"
    ;;
  stop)
    [ -f "$state/redis.pid" ] && kill "$(cat "$state/redis.pid")" 2>/dev/null || true
    "$(dirname "$0")/../../../scripts/mariadb.sh" stop "$state/mariadb" || true
    rm -rf "$state"
    ;;
esac
