#!/usr/bin/env bash
# The exposition checked by the real tools (Debian's prometheus package):
#  1. promtool check metrics on a scrape taken while calls are flowing;
#  2. a real Prometheus server, configured here, scrapes a node every
#     second; its HTTP API then says up == 1 and that the node's cluster
#     call counter equals the calls the node made.
# Usage: prometheus_test.sh SILLY NODE_LUA
set -euo pipefail
silly=$(readlink -f "$1")
node=$(readlink -f "$2")
tmp=${TEST_TMPDIR:-$(mktemp -d)}
pids=()
cleanup() {
  if [ "$BASHPID" = "$$" ]; then
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
  fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# wait_for SECONDS CMD...: until CMD succeeds, polling every 0.2 s.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# 1. promtool on a scrape taken mid-traffic.
mport=$(free_port)
"$silly" "$node" --metrics=127.0.0.1:$mport --forever=1 >"$tmp/busy.log" 2>&1 &
pids+=($!)
scrape() { curl -sf "http://127.0.0.1:$mport/metrics" -o "$tmp/scrape.txt"; }
wait_for 60 scrape || fail "no scrape from the busy node"
sleep 0.5
scrape
grep -q '^silly_cluster_calls_total{cluster="lobby"' "$tmp/scrape.txt" || fail "no cluster calls in the scrape"
promtool check metrics <"$tmp/scrape.txt" || fail "promtool check metrics"
echo "promtool check metrics: clean ($(grep -vc '^#' "$tmp/scrape.txt") samples, taken mid-traffic)"

# 2. Prometheus scraping every second.
calls=500
nport=$(free_port)
"$silly" "$node" --metrics=127.0.0.1:$nport --calls=$calls >"$tmp/node.log" 2>&1 &
pids+=($!)
wait_for 60 grep -q "^calls $calls" "$tmp/node.log" || fail "the node did not make its calls"
pport=$(free_port)
cat >"$tmp/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: silly
    static_configs:
      - targets: ["127.0.0.1:$nport"]
CONF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address=127.0.0.1:$pport >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
# query EXPR -> the value of its single result, or nothing
query() {
  curl -sf --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")'
}
is() { [ "$(query "$1" 2>/dev/null)" = "$2" ]; }
wait_for 120 is 'up{job="silly"}' 1 || { tail -5 "$tmp/prometheus.log"; fail "Prometheus never saw the node up"; }
echo "Prometheus: up{job=\"silly\"} = 1"
expr='sum(silly_cluster_calls_total{job="silly",cluster="lobby"})'
wait_for 60 is "$expr" "$calls" || fail "$expr = '$(query "$expr")', want $calls"
echo "Prometheus: $expr = $calls"
expr='sum(silly_cluster_requests_served_total{job="silly",cluster="game"})'
wait_for 30 is "$expr" "$calls" || fail "$expr = '$(query "$expr")', want $calls"
echo "Prometheus: $expr = $calls"
echo "PASS"
