#!/usr/bin/env bash
# Makes the keys and certificates the TLS tests use, in DIR, with the real
# openssl tool: a CA, a server certificate for localhost and 127.0.0.1, a
# client certificate, an expired server certificate, and a second CA with a
# client of its own (a client the first CA never signed).
#   make_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"
[ -f done ] && exit 0

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {  # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=$2" 2>/dev/null
}
signed() {  # name ca subject days [san]
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$3" 2>/dev/null
  if [ -n "${5:-}" ]; then printf 'subjectAltName=%s\n' "$5" >"$1.ext"; else : >"$1.ext"; fi
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -out "$1.pem" -days "$4" \
    -extfile "$1.ext" 2>/dev/null
}

ca ca "silly test CA"
ca other_ca "another CA"
signed server ca localhost 30 "DNS:localhost,IP:127.0.0.1"
signed client ca "silly client" 30
signed expired ca localhost -1 "DNS:localhost,IP:127.0.0.1"
signed stranger other_ca "stranger" 30
touch done
