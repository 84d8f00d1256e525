#!/usr/bin/env bash
# examples/codecs/pairs.lua: one node pair per codec, each call answered.
set -u
out=$(timeout 20 "$(readlink -f "$1")" "$(readlink -f "$2")" 2>&1)
rc=$?
echo "$out"
n=$(echo "$out" | grep -cE '^(msgpack|protobuf|zproto) +[a-z]+ client -> hops 1, seen: client, [a-z]+ server$')
[ $rc -eq 0 ] && [ "$n" -eq 3 ] && { echo "pairs: 1 passed, 0 failed"; exit 0; }
echo "pairs: 0 passed, 1 failed (exit $rc, $n of 3 pairs answered)"
exit 1
