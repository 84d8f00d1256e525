#!/usr/bin/env bash
# Runs a Lua test (run_lua_test.sh's arguments) inside a network namespace
# of its own, with only loopback up, so that the test may drop, delay or
# cut traffic with iptables without touching anything outside it. Needs
# root, unshare and iptables; without them it says why and passes as
# skipped. Usage: run_in_netns.sh RUN_LUA_TEST SILLY SCRIPT [ARGS...]
set -u
runner=$1
shift
why=
if [ "$(id -u)" -ne 0 ]; then
  why="not root"
elif ! command -v unshare >/dev/null || ! command -v iptables >/dev/null || ! command -v ip >/dev/null; then
  why="unshare, ip or iptables missing (scripts/install-deps.sh installs them)"
elif ! unshare -n true 2>/dev/null; then
  why="cannot create a network namespace here"
fi
if [ -n "$why" ]; then
  echo "SKIPPED: this fault test needs a network namespace of its own: $why"
  exit 0
fi
exec unshare -n bash -c 'ip link set lo up && iptables -L -n >/dev/null && exec "$0" "$@"' "$runner" "$@"
