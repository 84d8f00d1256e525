#!/usr/bin/env bash
# Installs what is missing, builds silly and its codecs, and runs the
# cluster demo: three node processes calling each other with zproto.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
bazel build //:silly //codecs/...
./bazel-bin/silly examples/cluster/demo.lua
bazel shutdown >/dev/null 2>&1 || true
