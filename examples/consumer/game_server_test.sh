#!/usr/bin/env bash
# The consumer's binary runs its script: the C module, the plugin and a
# cluster call all work from another workspace.
set -u
out=$("$1" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] && echo "$out" | grep -q "consumer: ayla is level 42" || { echo "FAIL (exit $rc)"; exit 1; }
echo "consumer: 1 passed, 0 failed"
