#!/usr/bin/env bash
# The README's demo: three processes, six matches, all nodes gone after.
# Usage: demo_test.sh SILLY DEMO_DIR
set -u
silly=$(readlink -f "$1")
demo=$(readlink -f "$2")
out=$(timeout 30 "$silly" "$demo/demo.lua" 2>&1)
rc=$?
pass=0
fail=0
check() {
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
check "exits 0 (got $rc)" $([ $rc -eq 0 ]; echo $?)
check "six matches scored and saved" $([ "$(echo "$out" | grep -c 'scored .* saved true')" -eq 6 ]; echo $?)
# Each match's trace id appears on all three nodes.
trace=$(echo "$out" | grep 'lobby ayla scored' | awk '{print $3}')
check "a trace id crosses the three nodes" \
  $([ -n "$trace" ] && [ "$(echo "$out" | grep -c "$trace")" -ge 3 ]; echo $?)
check "finished" $(echo "$out" | grep -q "demo finished"; echo $?)
check "metrics address printed" $(echo "$out" | grep -q "metrics at http://127.0.0.1:[0-9]*/metrics"; echo $?)
check "metrics count the six match calls" \
  $(echo "$out" | grep -q "metrics: silly_cluster_calls_total{cluster=\"lobby\",peer=\"127.0.0.1:[0-9]*\"} 6"; echo $?)
sleep 0.5
check "no node left running" $(pgrep -f "$demo/node.lua" >/dev/null; [ $? -ne 0 ]; echo $?)
[ $fail -eq 0 ] || echo "$out"
echo "demo: $pass passed, $fail failed"
[ $fail -eq 0 ]
