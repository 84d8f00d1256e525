#!/usr/bin/env bash
# Runs every ```lua block of the module reference (docs/reference/*.md)
# with the real binary, each inside a task (run_example.lua): a block
# passes when it returns, its asserts holding, within 60 s.
# Usage: reference_examples_test.sh SILLY RUNNER PAGE...
set -u
silly=$(readlink -f "$1")
runner=$(readlink -f "$2")
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
for page in "$@"; do
  name=$(basename "$page" .md)
  rm -f "$work"/ex*.lua
  awk -v dir="$work" '
    /^```lua$/ { n++; file = dir "/ex" n ".lua"; inside = 1; next }
    /^```/ && inside { inside = 0; close(file); next }
    inside { print > file }
  ' "$page"
  for ex in "$work"/ex*.lua; do
    [ -e "$ex" ] || continue
    if timeout -s KILL 60 "$silly" "$runner" --example="$ex" >"$work/out" 2>&1; then
      pass=$((pass + 1))
    else
      fail=$((fail + 1))
      echo "FAIL: $name, block $(basename "$ex" .lua | tr -d ex):"
      sed 's/^/    | /' "$work/out"
    fi
  done
done
echo "$pass blocks passed, $fail failed"
[ "$pass" -gt 0 ] && [ "$fail" -eq 0 ]
