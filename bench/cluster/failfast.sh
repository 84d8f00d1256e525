#!/usr/bin/env bash
# The fine timing figures the tests only judge coarsely, from RUNS runs of
# each test (default 5): how soon 1000 calls pending on a SIGKILLed peer
# fail (tests/lua/cluster_kill_test) and how long sleep(1) takes
# (tests/lua/time_test).
# Usage: bench/cluster/failfast.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
bazel test //tests/lua:cluster_kill_test //tests/lua:time_test --runs_per_test="$runs" --nocache_test_results \
  --test_output=all 2>/dev/null >/tmp/failfast.$$ || true
echo "fail-fast after SIGKILL, $runs runs (ms):"
sed -n 's/^1000 pending calls failed \([0-9.]*\) ms after the kill$/\1/p' /tmp/failfast.$$ | sort -n | tr '\n' ' '
echo
echo "sleep(1), $runs runs (median / worst, µs):"
sed -n 's/^sleep(1): median \([0-9]*\) us, worst \([0-9]*\) us$/\1 \/ \2/p' /tmp/failfast.$$ | tr '\n' ';'
echo
rm -f /tmp/failfast.$$
