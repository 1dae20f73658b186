#!/bin/sh
# make-auth-pki.sh DIR [ORG]
#
# Test credentials for Maskinporten clients, made with the openssl CLI (and
# Debian's python3-cryptography only to write the JWK form of a key):
#
#   enterprise-ca.pem/.key      "Test Buypass"-like root CA
#   intermediate.pem/.key       issuing CA under it
#   enterprise.key/.pem         enterprise certificate (virksomhetssertifikat) of ORG
#                               (subject serialNumber=ORG, organizationIdentifier=NTRNO-ORG)
#   enterprise-chain.pem        leaf, root, an unrelated certificate and the
#                               intermediate, deliberately out of order
#   enterprise.p12              PKCS#12 (AES-256, PBKDF2) of leaf + chain, password in p12.pass
#   enterprise-legacy.p12       the same with -legacy (RC2-40/3DES, needs OpenSSL's legacy provider)
#   enterprise-nopass.p12       the same without a password
#   expired.key/.pem/.p12       an enterprise certificate of ORG that expired 2021-01-01
#   other.key/.pem              a certificate of another organisation (111222333)
#   registered.key              RSA key for a registered kid (PKCS#8), .pub.pem its public key
#   registered-pkcs1.key        the same key as PKCS#1 ("BEGIN RSA PRIVATE KEY")
#   registered-enc.key          the same key, encrypted (AES-256), password in registered.pass
#   registered.jwk              the same key as a private JWK (kid "registered-1", alg RS384)
#   registered.jwk.b64          that JWK base64-encoded (Altinn's "JwkBase64")
#   registered.jwks             a JWKS with two private keys (kids "registered-1", "spare-1")
#   wrong.key                   another RSA key (a key Maskinporten does not know)
#   ec.key                      a P-256 key (not usable for RS256)
#
# Secret files are 0600. Idempotent: existing files are kept. Prints nothing
# unless something fails.
set -eu

dir=${1:?usage: make-auth-pki.sh DIR [ORG]}
org=${2:-999888777}
py=/usr/bin/python3
mkdir -p "$dir"
umask 077
tmp=$(mktemp -d "$dir/.pki.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

quiet() {
  if ! "$@" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    echo "make-auth-pki.sh: failed: $*" >&2
    exit 1
  fi
}

cat > "$tmp/ca.cnf" <<'CNF'
[ca]
default_ca = test_ca
[test_ca]
database = $ENV::CA_DIR/index.txt
new_certs_dir = $ENV::CA_DIR
serial = $ENV::CA_DIR/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
countryName = optional
organizationName = optional
organizationIdentifier = optional
serialNumber = optional
commonName = supplied
[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[req]
distinguished_name = dn
[dn]
CNF
CA_DIR=$tmp/ca
export CA_DIR
mkdir -p "$CA_DIR"
: > "$CA_DIR/index.txt"
openssl rand -hex 8 > "$CA_DIR/serial"

# sign CSR CERT CAcert CAkey EXT [START END]
sign() {
  if [ $# -ge 7 ]; then
    quiet openssl ca -batch -config "$tmp/ca.cnf" -notext -in "$1" -out "$2" \
      -cert "$3" -keyfile "$4" -extensions "$5" -startdate "$6" -enddate "$7"
  else
    quiet openssl ca -batch -config "$tmp/ca.cnf" -notext -in "$1" -out "$2" \
      -cert "$3" -keyfile "$4" -extensions "$5" -days 365
  fi
}

# csr NAME SUBJECT: NAME.key (new) and a CSR in $tmp
csr() {
  [ -s "$dir/$1.key" ] || quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/$1.key"
  quiet openssl req -new -key "$dir/$1.key" -subj "$2" -out "$tmp/$1.csr" -config "$tmp/ca.cnf"
}

if [ ! -s "$dir/enterprise-ca.pem" ]; then
  quiet openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$dir/enterprise-ca.key" -out "$dir/enterprise-ca.pem" \
    -subj "/C=NO/O=Test Enterprise CA AS/CN=Test Enterprise Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  rm -f "$dir/intermediate.pem"
fi
if [ ! -s "$dir/intermediate.pem" ]; then
  csr intermediate "/C=NO/O=Test Enterprise CA AS/CN=Test Enterprise Issuing CA"
  sign "$tmp/intermediate.csr" "$dir/intermediate.pem" "$dir/enterprise-ca.pem" "$dir/enterprise-ca.key" ca_ext
  rm -f "$dir/enterprise.pem" "$dir/expired.pem" "$dir/other.pem"
fi
if [ ! -s "$dir/enterprise.pem" ]; then
  csr enterprise "/C=NO/O=Gateway Demo AS/organizationIdentifier=NTRNO-$org/serialNumber=$org/CN=GATEWAY DEMO AS"
  sign "$tmp/enterprise.csr" "$dir/enterprise.pem" "$dir/intermediate.pem" "$dir/intermediate.key" leaf
  rm -f "$dir"/enterprise*.p12
fi
if [ ! -s "$dir/expired.pem" ]; then
  csr expired "/C=NO/O=Gateway Demo AS/serialNumber=$org/CN=GATEWAY DEMO AS (2020)"
  sign "$tmp/expired.csr" "$dir/expired.pem" "$dir/intermediate.pem" "$dir/intermediate.key" leaf \
    20200101000000Z 20210101000000Z
  rm -f "$dir/expired.p12"
fi
if [ ! -s "$dir/other.pem" ]; then
  csr other "/C=NO/O=Someone Else AS/serialNumber=111222333/CN=SOMEONE ELSE AS"
  sign "$tmp/other.csr" "$dir/other.pem" "$dir/intermediate.pem" "$dir/intermediate.key" leaf
fi
umask 022
cat "$dir/enterprise.pem" "$dir/enterprise-ca.pem" "$dir/other.pem" "$dir/intermediate.pem" > "$dir/enterprise-chain.pem"
cat "$dir/intermediate.pem" "$dir/enterprise-ca.pem" > "$tmp/cas.pem"
umask 077
[ -s "$dir/p12.pass" ] || echo "p12-Secret-$(openssl rand -hex 4)" > "$dir/p12.pass"
if [ ! -s "$dir/enterprise.p12" ]; then
  quiet openssl pkcs12 -export -in "$dir/enterprise.pem" -inkey "$dir/enterprise.key" \
    -certfile "$tmp/cas.pem" -name gateway -passout "file:$dir/p12.pass" -out "$dir/enterprise.p12"
  quiet openssl pkcs12 -export -legacy -in "$dir/enterprise.pem" -inkey "$dir/enterprise.key" \
    -certfile "$tmp/cas.pem" -name gateway -passout "file:$dir/p12.pass" -out "$dir/enterprise-legacy.p12"
  quiet openssl pkcs12 -export -in "$dir/enterprise.pem" -inkey "$dir/enterprise.key" \
    -certfile "$tmp/cas.pem" -name gateway -passout pass: -out "$dir/enterprise-nopass.p12"
fi
if [ ! -s "$dir/expired.p12" ]; then
  quiet openssl pkcs12 -export -in "$dir/expired.pem" -inkey "$dir/expired.key" \
    -certfile "$tmp/cas.pem" -passout "file:$dir/p12.pass" -out "$dir/expired.p12"
fi

# Registered keys
[ -s "$dir/registered.key" ] || quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/registered.key"
[ -s "$dir/spare.key" ] || quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/spare.key"
[ -s "$dir/wrong.key" ] || quiet openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/wrong.key"
[ -s "$dir/ec.key" ] || quiet openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ec.key"
[ -s "$dir/registered-pkcs1.key" ] || quiet openssl rsa -in "$dir/registered.key" -traditional -out "$dir/registered-pkcs1.key"
[ -s "$dir/registered.pass" ] || echo "key-Secret-$(openssl rand -hex 4)" > "$dir/registered.pass"
[ -s "$dir/registered-enc.key" ] || quiet openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$dir/registered.key" \
  -passout "file:$dir/registered.pass" -out "$dir/registered-enc.key"
umask 022
[ -s "$dir/registered.pub.pem" ] || quiet openssl pkey -in "$dir/registered.key" -pubout -out "$dir/registered.pub.pem"
[ -s "$dir/wrong.pub.pem" ] || quiet openssl pkey -in "$dir/wrong.key" -pubout -out "$dir/wrong.pub.pem"
umask 077
if [ ! -s "$dir/registered.jwks" ]; then
  quiet "$py" - "$dir" <<'PY'
import base64, json, sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key
d = sys.argv[1]
def b64u(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
def jwk(path, kid, alg):
    k = load_pem_private_key(open(path, "rb").read(), None)
    p = k.private_numbers()
    pub = p.public_numbers
    return {"kty": "RSA", "use": "sig", "alg": alg, "kid": kid, "n": b64u(pub.n), "e": b64u(pub.e),
            "d": b64u(p.d), "p": b64u(p.p), "q": b64u(p.q), "dp": b64u(p.dmp1), "dq": b64u(p.dmq1),
            "qi": b64u(p.iqmp)}
reg = jwk(d + "/registered.key", "registered-1", "RS384")
open(d + "/registered.jwk", "w").write(json.dumps(reg, indent=2) + "\n")
open(d + "/registered.jwk.b64", "w").write(base64.b64encode(json.dumps(reg).encode()).decode() + "\n")
open(d + "/registered.jwks", "w").write(json.dumps({"keys": [jwk(d + "/spare.key", "spare-1", "RS256"), reg]}) + "\n")
PY
fi
chmod 600 "$dir"/*.key "$dir"/*.p12 "$dir"/*.pass "$dir"/*.jwk "$dir"/*.jwk.b64 "$dir"/*.jwks
