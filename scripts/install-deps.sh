#!/usr/bin/env bash
# Installs what building and testing silly needs on Debian 12, from Debian's
# packages only. Does nothing when everything is already there.
set -euo pipefail

packages=(
  bazel-bootstrap bazel-rules-java
  g++ liblua5.4-dev lua5.4 lua-check libjemalloc-dev
  libgtest-dev libbenchmark-dev
  libmsgpack-dev libprotobuf-dev libprotoc-dev protobuf-compiler python3-msgpack
  clang clang-format libclang-rt-14-dev
  libssl-dev openssl prometheus curl
  etcd-server etcd-client lua-cjson
  libboost-dev rapidjson-dev zlib1g-dev libhiredis-dev redis-server redis-tools libmariadb-dev mariadb-server mariadb-client libwslay-dev python3-websockets python3-jwt python3-cryptography gzip
  procps psmisc iproute2 iptables libnetfilter-queue-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
