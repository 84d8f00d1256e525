#!/usr/bin/env bash
# Installs what is missing, builds silly and its codecs, and runs the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
bazel build //:silly //examples/...
./bazel-bin/silly examples/echo/echo.lua
bazel shutdown >/dev/null 2>&1 || true
