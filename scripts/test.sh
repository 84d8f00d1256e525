#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every check:
#   1. clang-format on every C++ source; the docs name what the code has
#      and their links resolve (tools/check_docs.py); luacheck on every
#      Lua file of the runtime, tests, examples and benchmarks (.luacheckrc)
#   2. bazel test //...                 (all tests)
#   3. bazel test --config=asan //...   (the same under ASan + UBSan)
#   4. tests/fuzz/run.sh 20             (each fuzz target for 20 s)
#   5. examples/consumer: bazel test //... in a workspace of its own that
#      uses silly through @silly// labels only (README, "Using silly from
#      your workspace")
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh || exit 1

passed=0
failed=0
tally() { # tally PASSED FAILED
  passed=$((passed + $1))
  failed=$((failed + $2))
}

# 1. Every C++ source is clang-formatted (.clang-format).
unformatted=0
for f in $(git ls-files '*.cc' '*.h' 2>/dev/null); do
  case "$f" in third_party/*) continue ;; esac
  if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f"
    unformatted=$((unformatted + 1))
  fi
done
if [ "$unformatted" -eq 0 ]; then tally 1 0; else tally 0 1; fi
if python3 tools/check_docs.py; then tally 1 0; else tally 0 1; fi
if luacheck lua_api/lualib lua_api/meta tests examples bench --codes --no-color -q; then tally 1 0; else tally 0 1; fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# 2 and 3: the test suite, plain and under the sanitizers.
for config in "" "--config=asan"; do
  echo "=== bazel test $config //..."
  bazel test $config //... 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^//.* PASSED' "$log")
  f=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS)|FAILED TO BUILD' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi  # the build itself failed
  tally "$p" "$f"
done
bazel shutdown >/dev/null 2>&1

# 4. Fuzzing, bounded.
echo "=== tests/fuzz/run.sh 20"
tests/fuzz/run.sh 20 | tee "$log"
tally "$(grep -c ', no crash, leak or sanitizer report' "$log")" "$(grep -c ': FAILED' "$log")"

# 5. Another workspace builds silly from its three lines of WORKSPACE.
echo "=== examples/consumer: bazel test //..."
(cd examples/consumer && bazel test --nosandbox_debug --test_output=errors //... 2>&1) | tee "$log"
rc=${PIPESTATUS[0]}
p=$(grep -cE '^//.* PASSED' "$log")
f=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS)|FAILED TO BUILD' "$log")
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
tally "$p" "$f"
(cd examples/consumer && bazel shutdown >/dev/null 2>&1)

# Format, both test runs, the fuzz targets and the consumer workspace, counted.
echo "checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
