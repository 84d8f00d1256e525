#!/usr/bin/env bash
# The two embedding examples: a host's 30 Hz loop driving silly with step(),
# and a game thread posting to silly on its own thread.
# Usage: embed_examples_test.sh TICK_HOST THREAD_HOST
set -u
pass=0
fail=0
run() { # run NAME EXPECT CMD...
  local name=$1 expect=$2 out rc
  shift 2
  out=$(timeout 60 "$@" 2>&1)
  rc=$?
  echo "$out"
  if [ $rc -eq 0 ] && echo "$out" | grep -q "$expect"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $name (exit $rc)"; fi
}
run tick_host "90 of 90 cluster calls answered" "$1" 90
run thread_host "90 messages posted, 90 answered right, 0 wrong; silly's thread ended with 0" "$2" 90
echo "embed examples: $pass passed, $fail failed"
[ $fail -eq 0 ]
