#!/usr/bin/env bash
# Runs test files of the original framework (a checkout of findstr/silly at
# 7d3e8be1, not part of this repository) on our runtime, unchanged, with
# our own test.aux.c helper. A check for developers, not a CI step: CI has
# no copy of the original.
#   tests/compat/original/run.sh SILLY ORIGINAL_CHECKOUT testjson testhive ...
# Prints each file's SUCCESS and FAIL counts; exits 1 if any file failed.
set -uo pipefail
silly=$(realpath "$1")
orig=$(realpath "$2")
shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/luaclib/test/aux"
gcc -shared -fPIC -O2 -Wall -Werror -I/usr/include/lua5.4 -o "$work/luaclib/test/aux/c.so" "$here/test_aux.c" || exit 1
ln -s "$orig/test" "$work/test"
failed=0
# testmysql's Tests 1-7 call the original's internal packet parsers
# (silly.store.mysql.c), which have no counterpart here: it runs from
# Test 8 on, with its header.
mkdir -p "$work/trimmed"
awk '/^--------mysql.c test/ {skip = 1} /^-------- silly.store.mysql test/ {skip = 0}
  !skip && !/silly.store.mysql.c"/' "$orig/test/testmysql.lua" >"$work/trimmed/testmysql.lua"
for name in "$@"; do
  file="test/$name.lua"
  [ "$name" = testmysql ] && file="trimmed/testmysql.lua"
  cat >"$work/main.lua" <<LUA
local silly = require "silly"
dofile("$file")
silly.exit(0)
LUA
  out=$(cd "$work" && timeout 300 "$silly" main.lua --lualib_cpath="luaclib/?.so" 2>&1)
  rc=$?
  ok=$(grep -c "SUCCESS" <<<"$out")
  bad=$(grep -c "FAIL" <<<"$out")
  echo "$name: exit $rc, $ok SUCCESS, $bad FAIL"
  if [ "$rc" -ne 0 ] || [ "$bad" -ne 0 ]; then
    grep -E "FAIL|rror" <<<"$out" | head -5
    failed=1
  fi
done
exit $failed
