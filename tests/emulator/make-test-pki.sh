#!/bin/sh
# make-test-pki.sh DIR
#
# Creates a throw-away PKI for the Altinn emulator and the tests, using only
# the openssl CLI:
#   DIR/ca.pem, DIR/ca.key          test CA (self-signed, 10 years)
#   DIR/server.pem, DIR/server.key  TLS server certificate signed by the CA,
#                                   SAN IP:127.0.0.1, DNS:localhost
# Keys are mode 0600, certificates 0644. Idempotent: files that already exist
# are kept (a new CA forces a new server certificate, so the pair always
# matches). Files are written under temporary names and renamed, so a reader
# never sees half a file. Prints nothing unless something fails.
set -eu

dir=${1:?usage: make-test-pki.sh DIR}
mkdir -p "$dir"
umask 077
tmp=$(mktemp -d "$dir/.pki.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# Run an openssl command quietly; show its output only when it fails.
quiet() {
  if ! "$@" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    echo "make-test-pki.sh: failed: $*" >&2
    exit 1
  fi
}

if [ ! -s "$dir/ca.pem" ] || [ ! -s "$dir/ca.key" ]; then
  quiet openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
    -subj "/O=altinn-broker-sftp tests/CN=altinn-broker-sftp test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  chmod 600 "$tmp/ca.key"; chmod 644 "$tmp/ca.pem"
  mv -f "$tmp/ca.key" "$dir/ca.key"
  mv -f "$tmp/ca.pem" "$dir/ca.pem"
  rm -f "$dir/server.pem" "$dir/server.key"   # must be re-signed by the new CA
fi

if [ ! -s "$dir/server.pem" ] || [ ! -s "$dir/server.key" ]; then
  cat > "$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
EXT
  quiet openssl req -newkey rsa:2048 -nodes -sha256 \
    -keyout "$tmp/server.key" -out "$tmp/server.csr" \
    -subj "/O=altinn-broker-sftp tests/CN=localhost"
  quiet openssl x509 -req -sha256 -days 825 -in "$tmp/server.csr" \
    -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -extfile "$tmp/ext.cnf" -out "$tmp/server.pem"
  chmod 600 "$tmp/server.key"; chmod 644 "$tmp/server.pem"
  mv -f "$tmp/server.key" "$dir/server.key"
  mv -f "$tmp/server.pem" "$dir/server.pem"
fi
