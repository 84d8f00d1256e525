#!/usr/bin/env bash
# Runs one Lua test script with the real silly binary; it passes when the
# script exits 0. Usage: run_lua_test.sh SILLY SCRIPT [ARGS...]
set -u
silly=$(readlink -f "$1")
script=$2
shift 2
dir=$(cd "$(dirname "$script")" && pwd)
# Tests that hold many sockets ask for a higher descriptor limit.
if [ -n "${SILLY_NOFILE:-}" ]; then
  ulimit -n "$SILLY_NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
exec timeout -k 5 "${LUA_TEST_TIMEOUT:-240}" "$silly" "$script" \
  --lualib_path="$dir/?.lua" --test.silly="$silly" --test.dir="$dir" "$@"
