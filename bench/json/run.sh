#!/usr/bin/env bash
# silly.encoding.json against lua-cjson and the original framework's pure-Lua
# json.lua (ORIG=checkout), best of ROUNDS rounds in one process on core 0.
# Usage: [ORIG=DIR] bench/json/run.sh [ROUNDS] [MS_PER_MEASURE]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
silly=$(opt_silly)
args=(--rounds="${1:-3}" --ms="${2:-300}" --lualib_cpath="/usr/lib/x86_64-linux-gnu/lua/5.4/?.so")
if [ -n "${ORIG:-}" ]; then
  args+=(--orig_json="$ORIG/lualib/silly/encoding/json.lua")
fi
taskset -c 0 "$silly" bench/json/json_bench.lua "${args[@]}"
