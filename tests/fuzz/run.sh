#!/usr/bin/env bash
# Builds every fuzz target with bazel --config=fuzz and runs each for
# SECONDS (default 20) from its seed corpus, and prints how many
# executions each made. A crash, leak or
# sanitizer report fails the run and leaves the input in build/fuzz/.
#   tests/fuzz/run.sh          # the short run CI makes
#   tests/fuzz/run.sh 600      # a longer local run
set -uo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-20}
mkdir -p build/fuzz
targets=(auth_fuzzer frame_fuzzer handshake_fuzzer link_extension_fuzzer zproto_schema_fuzzer zproto_decode_fuzzer msgpack_decode_fuzzer protobuf_decode_fuzzer etcd_response_fuzzer json_decode_fuzzer gzip_decompress_fuzzer http_parser_fuzzer websocket_frame_fuzzer redis_reply_fuzzer mysql_reply_fuzzer)
bazel build --config=fuzz $(printf "//tests/fuzz:%s " "${targets[@]}") >build/fuzz-build.log 2>&1 || {
  tail -20 build/fuzz-build.log
  echo "fuzz build: FAILED"
  exit 1
}
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)/tests/fuzz
pass=0
fail=0
for target in "${targets[@]}"; do
  work=build/fuzz/corpus/$target
  mkdir -p "$work"
  log=build/fuzz/$target.log
  # The seeds stay read-only; new inputs go to the working corpus.
  if "$bin/$target" "$work" "tests/fuzz/corpus/$target" -max_total_time="$secs" -rss_limit_mb=2048 \
    -max_len=4096 -artifact_prefix=build/fuzz/$target- -print_final_stats=1 >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "$target: $runs executions in ${secs}s, no crash, leak or sanitizer report"
    pass=$((pass + 1))
  else
    echo "$target: FAILED, see $log"
    grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5
    fail=$((fail + 1))
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
