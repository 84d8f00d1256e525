#!/usr/bin/env bash
# Installs what is missing, builds silly and its codecs, and runs the
# demos:
#   cluster    three node processes calling each other with zproto
#   discovery  the same nodes finding each other through a local etcd
# ./scripts/demo.sh runs both; ./scripts/demo.sh cluster|discovery runs one.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}
case "$which" in all | cluster | discovery) ;; *)
  echo "usage: $0 [cluster|discovery]" >&2
  exit 2
  ;;
esac
./scripts/install-deps.sh
bazel build //:silly //codecs/...
if [ "$which" != discovery ]; then
  echo "=== cluster demo: examples/cluster/demo.lua"
  ./bazel-bin/silly examples/cluster/demo.lua
fi
if [ "$which" != cluster ]; then
  echo "=== discovery demo: examples/cluster/discovery_demo.lua"
  if [ -x /usr/bin/etcd ]; then
    ./bazel-bin/silly examples/cluster/discovery_demo.lua
  else
    echo "skipped: etcd is not installed (scripts/install-deps.sh installs Debian's etcd-server)"
  fi
fi
bazel shutdown >/dev/null 2>&1 || true
