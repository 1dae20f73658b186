#!/bin/sh
# demo-config.sh DIR PORT
#
# Writes a complete, ready-to-run Altinn emulator setup into DIR. The test
# suites, the benchmarks and the demo all call exactly this script, so the
# names and values below are a contract; change them only together with
# their users.
#
#   DIR/ca.pem, ca.key, server.pem, server.key   test PKI (make-test-pki.sh);
#                                                 clients trust DIR/ca.pem
#   DIR/keys/gateway.key, gateway.pub.pem        RSA-2048 Maskinporten key of the gateway org
#   DIR/keys/partner.key, partner.pub.pem        RSA-2048 Maskinporten key of the partner org
#   DIR/emulator.json                            emulator config (format: README.md)
#   DIR/data/                                    stored file bytes (created by the emulator)
#
# Values in emulator.json:
#   base URL             https://127.0.0.1:PORT   (Maskinporten issuer/aud: https://127.0.0.1:PORT/,
#                                                  token URL https://127.0.0.1:PORT/token)
#   org 999888777        "Gateway Demo AS", client_id 11111111-1111-4111-8111-111111111111,
#                        kid gateway-key-1, key DIR/keys/gateway.key
#   org 312345678        "Partner AS", client_id 22222222-2222-4222-8222-222222222222,
#                        kid partner-key-1, key DIR/keys/partner.key
#   both clients' scopes altinn:broker.read altinn:broker.write altinn:events.subscribe
#   service owner        991825827 ("Digitaliseringsdirektoratet")
#   resource             demo-resource, owner 991825827, both orgs may read + write (+ subscribe),
#                        no maxFileTransferSize (only the 50 GB scan cap), TTL P30D,
#                        purge PT2H after all confirmed
#   knobs                virus scan off (uploads go straight to Published),
#                        rate limits on (Altinn's published numbers), clock speed 1
#
# Keys and PKI are kept when they exist (idempotent); emulator.json is
# rewritten every time so PORT can change. Prints nothing unless it fails.
set -eu

dir=${1:?usage: demo-config.sh DIR PORT}
port=${2:?usage: demo-config.sh DIR PORT}
case $port in
  ''|*[!0-9]*) echo "demo-config.sh: PORT must be a number" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$dir/keys" "$dir/data"
dir=$(cd "$dir" && pwd)          # absolute paths in the JSON: other tools read it too
"$here/make-test-pki.sh" "$dir"

umask 077
# make_key NAME: DIR/keys/NAME.key (PKCS#8 PEM, 0600) and NAME.pub.pem (0644)
make_key() {
  key="$dir/keys/$1.key"
  pub="$dir/keys/$1.pub.pem"
  if [ ! -s "$key" ]; then
    if ! openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$key.tmp" 2>"$dir/keys/.err"; then
      cat "$dir/keys/.err" >&2; exit 1
    fi
    chmod 600 "$key.tmp"
    mv -f "$key.tmp" "$key"
    rm -f "$pub"
  fi
  if [ ! -s "$pub" ]; then
    if ! openssl pkey -in "$key" -pubout -out "$pub.tmp" 2>"$dir/keys/.err"; then
      cat "$dir/keys/.err" >&2; exit 1
    fi
    chmod 644 "$pub.tmp"
    mv -f "$pub.tmp" "$pub"
  fi
  rm -f "$dir/keys/.err"
}
make_key gateway
make_key partner

umask 022
cat > "$dir/emulator.json.tmp" <<JSON
{
  "listen": { "address": "127.0.0.1", "port": $port },
  "tls": { "cert": "$dir/server.pem", "key": "$dir/server.key" },
  "baseUrl": "https://127.0.0.1:$port",
  "dataDir": "$dir/data",
  "organizations": [
    { "orgNumber": "999888777", "name": "Gateway Demo AS" },
    { "orgNumber": "312345678", "name": "Partner AS" },
    { "orgNumber": "991825827", "name": "Digitaliseringsdirektoratet" }
  ],
  "clients": [
    { "clientId": "11111111-1111-4111-8111-111111111111", "org": "999888777",
      "kid": "gateway-key-1", "publicKey": "$dir/keys/gateway.pub.pem",
      "scopes": ["altinn:broker.read", "altinn:broker.write", "altinn:events.subscribe"] },
    { "clientId": "22222222-2222-4222-8222-222222222222", "org": "312345678",
      "kid": "partner-key-1", "publicKey": "$dir/keys/partner.pub.pem",
      "scopes": ["altinn:broker.read", "altinn:broker.write", "altinn:events.subscribe"] }
  ],
  "serviceOwners": [
    { "orgNumber": "991825827", "name": "Digitaliseringsdirektoratet" }
  ],
  "resources": [
    { "id": "demo-resource", "owner": "991825827",
      "maxFileTransferSize": null,
      "fileTransferTimeToLive": "P30D",
      "purgeFileTransferAfterAllRecipientsConfirmed": true,
      "purgeFileTransferGracePeriod": "PT2H",
      "access": {
        "999888777": ["read", "write", "subscribe"],
        "312345678": ["read", "write", "subscribe"]
      } }
  ],
  "knobs": {
    "virusScan": false,
    "uploadProcessingDelayMs": 0,
    "rateLimits": true,
    "clockSpeed": 1
  }
}
JSON
mv -f "$dir/emulator.json.tmp" "$dir/emulator.json"
