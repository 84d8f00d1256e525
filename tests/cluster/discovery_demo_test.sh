#!/usr/bin/env bash
# The README's discovery demo: etcd, a store and three battle nodes that
# find each other through it, a kill, a join; nothing left running after.
# Usage: discovery_demo_test.sh SILLY DEMO_DIR
set -u
silly=$(readlink -f "$1")
demo=$(readlink -f "$2")
out=$(timeout 120 "$silly" "$demo/discovery_demo.lua" 2>&1)
rc=$?
pass=0
fail=0
check() {
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
check "exits 0 (got $rc)" $([ $rc -eq 0 ]; echo $?)
check "etcd started" $(echo "$out" | grep -q "etcd is up at 127.0.0.1:"; echo $?)
check "four battle nodes joined" $([ "$(echo "$out" | grep -c 'battle node .* joined')" -eq 4 ]; echo $?)
check "eighteen matches played and saved" $([ "$(echo "$out" | grep -c 'played on .* saved true')" -eq 18 ]; echo $?)
check "the killed node's players moved" $(echo "$out" | grep -q "ayla moved from"; echo $?)
check "the killed node left the registry" $(echo "$out" | grep -q "the killed node left the registry"; echo $?)
check "all nodes left at their shutdown" $(echo "$out" | grep -q "all nodes left the registry"; echo $?)
check "finished" $(echo "$out" | grep -q "discovery demo finished"; echo $?)
sleep 0.5
check "no node left running" $(pgrep -f "$demo/node.lua" >/dev/null; [ $? -ne 0 ]; echo $?)
check "no etcd left running" $(pgrep -f "etcd --name demo" >/dev/null; [ $? -ne 0 ]; echo $?)
[ $fail -eq 0 ] || echo "$out"
echo "discovery demo: $pass passed, $fail failed"
[ $fail -eq 0 ]
