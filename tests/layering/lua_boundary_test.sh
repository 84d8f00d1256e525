#!/usr/bin/env bash
# Fails when a source of core/ or cluster/ includes a Lua header (or one of
# lua_api/), or when one of their libraries refers to a symbol of Lua's C
# API (lua_*, luaL_*, luaopen_*), which a header scan alone would miss.
#   lua_boundary_test.sh --sources FILE... --libraries LIB...
set -uo pipefail
sources=()
libraries=()
list=
for a in "$@"; do
  case "$a" in
    --sources) list=sources ;;
    --libraries) list=libraries ;;
    *) if [ "$list" = sources ]; then sources+=("$a"); else libraries+=("$a"); fi ;;
  esac
done
[ ${#sources[@]} -gt 0 ] && [ ${#libraries[@]} -gt 0 ] || { echo "no sources or libraries given"; exit 2; }

bad=0
header='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*/)?(lua|lauxlib|lualib|luaconf)\.h(pp)?[>"]|^[[:space:]]*#[[:space:]]*include[[:space:]]*"silly/lua_api/'
for f in "${sources[@]}"; do
  if grep -nE "$header" "$f"; then
    echo "FAIL: $f includes Lua (core/ and cluster/ know nothing of Lua)"
    bad=$((bad + 1))
  fi
done

checked=0
for lib in "${libraries[@]}"; do
  case "$lib" in *.a | *.so | *.lo) ;; *) continue ;; esac
  if ! undefined=$(nm -u --format=posix "$lib"); then
    echo "FAIL: cannot read $lib"
    bad=$((bad + 1))
    continue
  fi
  syms=$(echo "$undefined" | awk '{print $1}' | grep -E '^(lua_|luaL_|luaopen_)' | sort -u)
  checked=$((checked + 1))
  if [ -n "$syms" ]; then
    echo "FAIL: $lib refers to Lua's C API: $(echo $syms)"
    bad=$((bad + 1))
  fi
done
[ "$checked" -gt 0 ] || { echo "FAIL: no library among ${libraries[*]}"; exit 1; }

echo "${#sources[@]} sources and $checked libraries checked: ${libraries[*]}"
if [ "$bad" -eq 0 ]; then
  echo "no Lua below lua_api"
else
  echo "$bad violations"
  exit 1
fi
