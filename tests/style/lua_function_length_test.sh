#!/usr/bin/env bash
# Fails for any function longer than MAX lines in the given Lua files, as
# Lua's own compiler sees them (luac -l lists every function with its first
# and last line); a file's main chunk is not counted.
#   lua_function_length_test.sh MAX FILE...
set -uo pipefail
max=$1
shift
[ $# -gt 0 ] || { echo "no files given"; exit 2; }
luac=$(command -v luac5.4 || command -v luac) || { echo "no luac5.4 (Debian: lua5.4)"; exit 2; }
long=0
functions=0
for f in "$@"; do
  listing=$("$luac" -p -l "$f") || { echo "FAIL: $f does not compile"; long=$((long + 1)); continue; }
  while read -r first last; do
    functions=$((functions + 1))
    if [ $((last - first + 1)) -gt "$max" ]; then
      echo "FAIL: $f:$first-$last is a function of $((last - first + 1)) lines (at most $max)"
      long=$((long + 1))
    fi
  done < <(echo "$listing" | sed -nE 's/^function <[^:]*:([0-9]+),([0-9]+)>.*/\1 \2/p')
done
echo "$functions functions in $# files"
[ "$functions" -gt 0 ] || { echo "FAIL: no function found"; exit 1; }
[ "$long" -eq 0 ] || { echo "$long too long"; exit 1; }
