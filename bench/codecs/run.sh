#!/usr/bin/env bash
# Codec benchmark: the player snapshot through each codec from Lua, next to
# msgpack-c packing it straight from C++ and libprotobuf's generated code,
# in the same run. Usage: bench/codecs/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bazel build //:silly //codecs/... //bench/codecs:all >/dev/null 2>&1
lua=$(bazel-bin/silly bench/codecs/codec_bench.lua --lualib_path='bench/codecs/?.lua' \
  --proto=bench/codecs/snapshot.proto)
mp=$(bazel-bin/bench/codecs/msgpack_ceiling)
pb=$(bazel-bin/bench/codecs/protobuf_ceiling)
all="$lua $mp $pb"
get() { echo "$all" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
row() { # row CODEC OP CEILING-KEY
  awk -v c="$1" -v op="$2" -v ours="$(get "$1.$2")" -v ceil="$(get "$3")" -v ck="$3" \
    'BEGIN { printf "  %-9s %-7s %6d ns   ceiling %-17s %6d ns   ratio %.2f\n", c, op, ours, ck, ceil, ceil / ours }'
}
echo "player snapshot: msgpack $(get msgpack.bytes) B, protobuf $(get protobuf.bytes) B, zproto $(get zproto.bytes) B"
row msgpack encode msgpack_c.encode
row msgpack decode msgpack_c.decode
row protobuf encode generated.encode
row protobuf decode generated.decode
fastest() { awk -v a="$(get "msgpack.$1")" -v b="$(get "protobuf.$1")" 'BEGIN { print (a < b ? a : b) }'; }
for op in encode decode; do
  awk -v op="$op" -v z="$(get "zproto.$op")" -v f="$(fastest $op)" \
    'BEGIN { printf "  zproto    %-7s %6d ns   the faster of msgpack/protobuf %6d ns   %.2fx as fast\n", op, z, f, f / z }'
done
echo "  libprotobuf DynamicMessage, parse alone (no Lua table built): $(get dynamic.decode) ns"
