#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test.
set -uo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh || exit 1

# Every C++ source is clang-formatted (.clang-format).
unformatted=0
for f in $(git ls-files '*.cc' '*.h' 2>/dev/null || find core cluster lua_api codecs tests bench examples tools -name '*.cc' -o -name '*.h'); do
  case "$f" in third_party/*) continue ;; esac
  if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "not clang-formatted: $f"
    unformatted=$((unformatted + 1))
  fi
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test //... 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=$(grep -cE '^//.* PASSED' "$log")
failed=$(grep -cE '^//.* (FAILED|TIMEOUT|NO STATUS)|FAILED TO BUILD' "$log")
bazel shutdown >/dev/null 2>&1
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the build itself failed
fi
if [ "$unformatted" -ne 0 ]; then
  failed=$((failed + 1))
  rc=1
else
  passed=$((passed + 1))  # the format check
fi
echo "bazel test and format check: $passed passed, $failed failed"
exit "$rc"
