#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and
# UndefinedBehaviorSanitizer on) into build/fuzz/. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/fuzz
mkdir -p "$out"
flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -I. -Itests/fuzz -I/usr/include/lua5.4)
build() { # build NAME SOURCES... -- LIBS...
  local name=$1
  shift
  local srcs=() libs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do srcs+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  libs=("$@")
  clang++ "${flags[@]}" "${srcs[@]}" -o "$out/$name" "${libs[@]}"
}
build frame_fuzzer tests/fuzz/frame_fuzzer.cc cluster/frame.cc core/ring_buffer.cc
build zproto_schema_fuzzer tests/fuzz/zproto_schema_fuzzer.cc codecs/zproto/schema.cc
build zproto_decode_fuzzer tests/fuzz/zproto_decode_fuzzer.cc codecs/zproto/lzproto.cc codecs/zproto/codec.cc \
  codecs/zproto/schema.cc codecs/zproto/pack.cc codecs/common/codec.cc -- -llua5.4
build msgpack_decode_fuzzer tests/fuzz/msgpack_decode_fuzzer.cc codecs/msgpack/lmsgpack.cc \
  codecs/common/codec.cc -- -llua5.4 -lmsgpackc
build protobuf_decode_fuzzer tests/fuzz/protobuf_decode_fuzzer.cc codecs/protobuf/lprotobuf.cc \
  codecs/protobuf/encode.cc codecs/protobuf/decode.cc codecs/protobuf/schema.cc codecs/common/codec.cc \
  -- -llua5.4 -lprotoc -lprotobuf -lpthread
echo "fuzzers built in $out"
