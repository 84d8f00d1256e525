#!/usr/bin/env bash
# What security costs (issue: authenticated links and TLS), client and
# server in two processes, each against a baseline from the same run:
#   (h) 100 callers' 16-byte calls/s with a secret, over TLS, and both,
#       against plaintext (eight 2 s rounds each,
#       alternating)
#   (i) TLS handshakes/s: openssl s_time against our server, and our
#       client against openssl s_server, with s_time against s_server as
#       the ceiling
# Certificates come from tests/tls/make_certs.sh (ECDSA P-256).
# Usage: bench/cluster/secure.sh [SECONDS [ROUNDS]]
set -euo pipefail
cd "$(dirname "$0")/../.."
. bench/ports.sh
secs=${1:-2}
rounds=${2:-8}
hs_secs=5  # handshake counts are coarser: longer runs
bazel build //:silly >/dev/null 2>&1
silly=bazel-bin/silly
certs=$(mktemp -d)
trap 'rm -rf "$certs"' EXIT
tests/tls/make_certs.sh "$certs"
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

calls() { # calls SERVER/CLIENT OPTIONS... -> calls/s
  local port spid out
  port=$(bench_port)
  # One core each: the two processes do not trade places between runs.
  taskset -c 0 "$silly" bench/cluster/server.lua --port="$port" "$@" >/dev/null 2>&1 &
  spid=$!
  wait_port "$port"
  out=$(taskset -c 1 "$silly" bench/cluster/client.lua --port="$port" --mode=calls --seconds="$secs" "$@" 2>/dev/null)
  kill "$spid"; wait "$spid" 2>/dev/null || true
  get "$out" calls_per_s
}
secret=--secret=bench-secret
tls=--certs=$certs
# Many short rounds, the kinds alternating, so that drift on a busy machine
# hits each kind alike; ratios are of the medians, which one round that a
# neighbour on the host slowed does not move.
# Each round starts with another kind, so none always runs first.
P=(); S=(); L=(); B=()
for r in $(seq "$rounds"); do
  for k in 0 1 2 3; do
    case $(((r + k) % 4)) in
      0) P+=("$(calls)") ;;
      1) S+=("$(calls $secret)") ;;
      2) L+=("$(calls $tls)") ;;
      3) B+=("$(calls $secret $tls)") ;;
    esac
  done
done

s_time() { # s_time PORT -> handshakes/s over hs_secs
  local n
  n=$(timeout $((hs_secs + 30)) openssl s_time -connect "127.0.0.1:$1" -new -time "$hs_secs" 2>/dev/null |
    sed -n 's/^\([0-9]*\) connections in [0-9.]*s;.*/\1/p')
  echo $((n / hs_secs))
}
sport=$(bench_port)
openssl s_server -accept "127.0.0.1:$sport" -cert "$certs/server.pem" -key "$certs/server.key" -quiet \
  >/dev/null 2>&1 &
opid=$!
wait_port "$sport"
ceiling=$(s_time "$sport")
ours_client=$(get "$("$silly" bench/cluster/tls_handshakes.lua --mode=client --port="$sport" --certs="$certs" \
  --seconds="$hs_secs" 2>/dev/null)" handshakes_per_s)
kill $opid; wait $opid 2>/dev/null || true
port=$(bench_port)
"$silly" bench/cluster/tls_handshakes.lua --mode=server --port="$port" --certs="$certs" >/dev/null 2>&1 &
tpid=$!
wait_port "$port"
ours_server=$(s_time "$port")
kill $tpid; wait $tpid 2>/dev/null || true

echo "security benchmarks: $rounds rounds of ${secs}s"
echo "  (h) 100 callers, calls/s   plaintext ${P[*]}"
echo "      secret                 ${S[*]} | ratio $(ratio "$(median "${S[@]}")" "$(median "${P[@]}")")"
echo "      TLS                    ${L[*]} | ratio $(ratio "$(median "${L[@]}")" "$(median "${P[@]}")")"
echo "      secret over TLS        ${B[*]} | ratio $(ratio "$(median "${B[@]}")" "$(median "${P[@]}")")"
echo "  (i) TLS handshakes/s       s_time -> s_server $ceiling (ceiling)"
echo "      s_time -> silly server $ours_server | ratio $(ratio "$ours_server" "$ceiling")"
echo "      silly client -> s_server $ours_client | ratio $(ratio "$ours_client" "$ceiling")"
