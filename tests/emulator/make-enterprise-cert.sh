#!/bin/sh
# make-enterprise-cert.sh DIR NAME ORGNR [expired]
#
# Issues a test "virksomhetssertifikat" (enterprise certificate) from the
# test CA in DIR (make-test-pki.sh) for Maskinporten grants with an x5c
# header: DIR/keys/NAME.key (RSA-2048 PKCS#8, 0600) and DIR/keys/NAME.pem,
# subject "C=NO, O=NAME, serialNumber=ORGNR, CN=NAME" (the organisation
# number where Norwegian enterprise certificates carry it). With "expired"
# the certificate was valid only in 2020. Configure the emulator with
# "enterpriseCa": "ca.pem" to trust it. Prints nothing unless it fails.
set -eu

dir=${1:?usage: make-enterprise-cert.sh DIR NAME ORGNR [expired]}
name=${2:?usage: make-enterprise-cert.sh DIR NAME ORGNR [expired]}
org=${3:?usage: make-enterprise-cert.sh DIR NAME ORGNR [expired]}
mkdir -p "$dir/keys"
tmp=$(mktemp -d "$dir/.ecert.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

quiet() {
  if ! "$@" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    echo "make-enterprise-cert.sh: failed: $*" >&2
    exit 1
  fi
}

# `openssl ca` is the CLI that takes explicit validity dates (for "expired")
mkdir "$tmp/db"
: > "$tmp/db/index.txt"
openssl rand -hex 16 > "$tmp/db/serial"
cat > "$tmp/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $tmp/db/index.txt
new_certs_dir = $tmp/db
serial = $tmp/db/serial
default_md = sha256
policy = any
unique_subject = no
x509_extensions = leaf
[ any ]
countryName = optional
organizationName = optional
serialNumber = optional
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
CNF
if [ "${4:-}" = expired ]; then
  validity="-startdate 20200101000000Z -enddate 20210101000000Z"
else
  validity="-days 365"
fi
umask 077
quiet openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$tmp/key" -out "$tmp/csr" \
  -subj "/C=NO/O=$name/serialNumber=$org/CN=$name"
# shellcheck disable=SC2086
quiet openssl ca -batch -notext -config "$tmp/ca.cnf" -cert "$dir/ca.pem" -keyfile "$dir/ca.key" \
  -in "$tmp/csr" -out "$tmp/pem" $validity
chmod 644 "$tmp/pem"
mv -f "$tmp/key" "$dir/keys/$name.key"
mv -f "$tmp/pem" "$dir/keys/$name.pem"
