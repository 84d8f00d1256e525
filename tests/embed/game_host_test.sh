#!/usr/bin/env bash
# The embedding example runs its script and is stopped by its host.
set -u
out=$("$1" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "FAIL: exit $rc"; exit 1; }
echo "$out" | grep -q "tick 3: players 3" || { echo "FAIL: host module not used"; exit 1; }
echo "$out" | grep -q "host: runtime stopped with 0, 3 players" || { echo "FAIL: not stopped by host"; exit 1; }
echo "game_host: 1 passed, 0 failed"
