#!/usr/bin/env bash
# Runs every fuzz target for a fixed number of executions (default ten
# million), two at a time, and prints the counts for docs/reliability.md.
#   tests/fuzz/run_count.sh [RUNS]
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-10000000}
targets=(auth_fuzzer frame_fuzzer link_extension_fuzzer zproto_schema_fuzzer zproto_decode_fuzzer msgpack_decode_fuzzer protobuf_decode_fuzzer etcd_response_fuzzer)
mkdir -p build/fuzz
bazel build --config=fuzz $(printf "//tests/fuzz:%s " "${targets[@]}") >/dev/null 2>&1 || exit 1
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz
one() {
  local target=$1
  local work=build/fuzz/corpus/$target
  mkdir -p "$work"
  if "$bin/$target" "$work" "tests/fuzz/corpus/$target" -runs="$runs" -rss_limit_mb=2048 -max_len=4096 \
    -artifact_prefix=build/fuzz/$target- -print_final_stats=1 >"build/fuzz/$target.count.log" 2>&1; then
    local n secs
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "build/fuzz/$target.count.log")
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "build/fuzz/$target.count.log")
    echo "$target: $n executions in ${secs}s, no crash, leak or sanitizer report"
  else
    echo "$target: FAILED, see build/fuzz/$target.count.log"
  fi
}
export -f one
export runs bin
printf '%s\n' "${targets[@]}" |
  xargs -P 2 -I{} bash -c 'one {}'
