#!/bin/sh
# Authentication inside real SFTP sessions (OpenSSH sftp / paramiko ->
# ProFTPD -> mod_altinn_broker -> emulator):
#   - a token revoked in the middle of a session: the next upload gets a 401,
#     the module fetches a new token once and the upload succeeds;
#   - the gateway's clock 5 minutes ahead or 10 minutes behind: uploads work;
#   - an enterprise certificate from a legacy (RC2) PKCS#12 with its password
#     in a root-only file, through the daemon;
#   - a key file others can read stops `proftpd -t` with the fix;
#   - and, over everything this run logged at the highest levels: no key,
#     password, assertion or token anywhere.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/auth-env.sh"

work=$(mktemp -d /tmp/ab-auth-session.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
mkdir -p "$work/gw"
cat > "$work/extra.conf" <<CONF
DebugLevel 10
AltinnBrokerClient cert client-id=$AUTH_CERT_ID org=$GW_ORG \\
    p12=$work/gw/auth/enterprise-legacy.p12 p12-password-file=$work/gw/auth/p12.pass alg=RS512
AltinnBrokerMount /certbox client=cert resource=demo-resource direction=outbox recipients=0192:$GW_PARTNER_ORG
CONF
auth_setup "$work/gw" "$work/extra.conf" >/dev/null
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "ProFTPD starts with a registered-key client and a legacy-PKCS#12 certificate client"
gw_emu POST /_emulator/knobs '{"rateLimits":false}' >/dev/null
GW_CLIENT=11111111-1111-4111-8111-111111111111

state() { gw_emu GET /_emulator/state; }
count() { state | gw_json "$1"; }
published() { count "len([t for t in d['transfers'] if t['fileName']=='$1' and t['status']=='Published'])"; }

# --- 401 in the middle of a session ------------------------------------------
head -c 20000 /dev/urandom > "$work/a.bin"
grants0=$(count "d['grants'].get('$GW_CLIENT', 0)")
inits0=$(count "d['requests'].get('initialize', 0)")
"$GW_PY" - "$GW_SFTP_PORT" "$GW_USER" "$GW_DIR/client/id_ed25519" "https://127.0.0.1:$GW_EMU_PORT" \
  "$GW_DIR/emu/ca.pem" "$work/a.bin" > "$work/mid.out" 2> "$work/mid.err" <<'PY'
import json, ssl, sys, urllib.request
import paramiko
port, user, keyfile, emu, ca, src = sys.argv[1:7]
key = paramiko.Ed25519Key.from_private_key_file(keyfile)
t = paramiko.Transport(("127.0.0.1", int(port)))
t.connect(username=user, pkey=key)
sftp = paramiko.SFTPClient.from_transport(t)
ctx = ssl.create_default_context(cafile=ca)
grants = lambda: json.load(urllib.request.urlopen(emu + "/_emulator/state", context=ctx))["grants"].get(
    "11111111-1111-4111-8111-111111111111", 0)
sftp.put(src, "/outbox/mid-1.bin")
print("first upload ok")
before = grants()
req = urllib.request.Request(emu + "/_emulator/tokens", data=json.dumps({"revoke": True}).encode(),
                             headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(req, context=ctx).read()
sftp.put(src, "/outbox/mid-2.bin")   # same session: its cached token is now refused
print("second upload ok")
sftp.close(); t.close()
print("grants after the revocation: %d" % (grants() - before), file=sys.stderr)
PY
tap_eq "paramiko: both uploads of one session succeed across the revocation" \
  "first upload ok second upload ok" "$(tr '\n' ' ' < "$work/mid.out" | sed 's/ $//')"
tap_eq "both transfers are Published" "1 1" "$(published mid-1.bin) $(published mid-2.bin)"
tap_eq "the second upload's initialize was refused once (401) and retried" 3 \
  $(( $(count "d['requests'].get('initialize', 0)") - inits0 ))
# The first token may already exist (the agent's inbox feed uses the same
# client); after the revocation exactly one new grant is made.
tap_eq "exactly one new grant after the 401" "grants after the revocation: 1" \
  "$(grep 'grants after' "$work/mid.err")"
tap_check "and at most two in all" test $(( $(count "d['grants'].get('$GW_CLIENT', 0)") - grants0 )) -le 2

# --- the gateway's clock is wrong ----------------------------------------
head -c 3000 /dev/urandom > "$work/c.bin"
for skew in -300 600; do
  # Revoked too: the agent's shared token would otherwise outlive the change.
  gw_emu POST /_emulator/tokens "{\"clockOffsetSeconds\":$skew,\"revoke\":true}" >/dev/null
  printf 'put %s /outbox/skew%s.bin\nput %s /outbox/skew%s-again.bin\n' "$work/c.bin" "$skew" "$work/c.bin" "$skew" > "$work/skew.batch"
  gw_sftp "$work/skew.batch" > "$work/skew.out" 2>&1
  tap_eq "Maskinporten's clock $skew s off ours: sftp put exits 0" 0 $?
  tap_eq "Maskinporten's clock $skew s off ours: both files Published" "1 1" \
    "$(published "skew$skew.bin") $(published "skew$skew-again.bin")"
done
gw_emu POST /_emulator/tokens '{"clockOffsetSeconds":0}' >/dev/null
tap_check "the log says the clock was corrected, by how much" \
  grep -Eq "this machine's clock is -(29[5-9]|30[0-5]) s off Maskinporten's" "$GW_DIR/log/altinn-broker.log"

# --- enterprise certificate (legacy PKCS#12) through the daemon -------------
grants0=$(count "d['grants'].get('$AUTH_CERT_ID', 0)")
printf 'put %s /certbox/by-certificate.bin\n' "$work/c.bin" > "$work/cert.batch"
gw_sftp "$work/cert.batch" > "$work/cert.out" 2>&1
tap_eq "sftp put into the certificate client's mount exits 0" 0 $?
tap_eq "the transfer is Published, sent by the certificate's org" "1 0192:$GW_ORG" \
  "$(published by-certificate.bin) $(count "[t['sender'] for t in d['transfers'] if t['fileName']=='by-certificate.bin'][0]")"
tap_eq "Maskinporten issued a token to the certificate client (x5c, RS512)" 1 \
  $(( $(count "d['grants'].get('$AUTH_CERT_ID', 0)") - grants0 ))

# --- the admin CLI at its most verbose, for the log scan below --------------
"$top_builddir/plugin/altinn-broker" -v -c "$GW_DIR/proftpd.conf" send /certbox "$work/c.bin" cli.bin \
  > "$GW_DIR/log/cli-send.log" 2>&1
tap_eq "altinn-broker -v send with the daemon's own config exits 0" 0 $?
"$top_builddir/plugin/altinn-broker" -v -c "$GW_DIR/proftpd.conf" check > "$GW_DIR/log/cli-check.log" 2>&1
tap_eq "altinn-broker check with the daemon's own config: every step passes" 0 $?

# --- a key file others can read stops the daemon's config test --------------
cp "$GW_DIR/emu/keys/gateway.key" "$work/open.key"; chmod 640 "$work/open.key"
sed "s#key=$GW_DIR/emu/keys/gateway.key#key=$work/open.key#" "$GW_DIR/proftpd.conf" > "$work/open.conf"
# (under the sanitizer build the module needs the ASan runtime preloaded)
proftpd_t() { LD_PRELOAD="$(gw_preload)" ASAN_OPTIONS=detect_leaks=0 proftpd -t -c "$1"; }
proftpd_t "$work/open.conf" > "$GW_DIR/log/proftpd-t.log" 2>&1
tap_check "proftpd -t refuses a group-readable key (exit non-zero)" test $? -ne 0
tap_check "and says which file and how to fix it" \
  grep -q "open.key is readable by group or others (mode 0640); make it readable by its owner only: chmod 600" "$GW_DIR/log/proftpd-t.log"
cp "$GW_DIR/auth/p12.pass" "$work/p12.pass"; chmod 644 "$work/p12.pass"
sed "s#p12-password-file=$GW_DIR/auth/p12.pass#p12-password-file=$work/p12.pass#" "$GW_DIR/proftpd.conf" > "$work/open2.conf"
proftpd_t "$work/open2.conf" > "$GW_DIR/log/proftpd-t2.log" 2>&1
tap_check "proftpd -t refuses a world-readable PKCS#12 password file" \
  grep -q "p12.pass is readable by group or others" "$GW_DIR/log/proftpd-t2.log"

# --- no secret in any log -------------------------------------------------
gw_stop
# Patterns: every body line of every private key and PKCS#12 (as base64) used
# here, both passwords, the JWK's private exponent, any PEM private key
# header, and "eyJ" - the start of every JWT (grants and tokens alike).
: > "$work/secrets.txt"
for f in "$GW_DIR"/emu/keys/*.key "$GW_DIR"/auth/*.key; do
  grep -v -- '-----' "$f" >> "$work/secrets.txt"
done
for f in "$GW_DIR"/auth/*.p12; do base64 -w 64 "$f" | sed -n '2,40p' >> "$work/secrets.txt"; done
cat "$GW_DIR/auth/p12.pass" "$GW_DIR/auth/registered.pass" >> "$work/secrets.txt"
"$GW_PY" -c "import json; print(json.load(open('$GW_DIR/auth/registered.jwk'))['d'][:40])" >> "$work/secrets.txt"
printf '%s\n' 'PRIVATE KEY' 'eyJ' >> "$work/secrets.txt"
ls "$GW_DIR"/log/* > "$work/logs.txt"
nlines=$(cat "$GW_DIR"/log/altinn-broker.log | wc -l)
tap_check "the module's log has the session's auth lines (INFO level included)" \
  grep -q 'token for client .*Maskinporten grant jti' "$GW_DIR/log/altinn-broker.log"
tap_check "the module's log has debug-level lines too" grep -q ': debug: ' "$GW_DIR/log/altinn-broker.log"
# The emulator's own logs are the test double's, not the product's.
grep -v '/emulator\.' "$work/logs.txt" > "$work/scan.txt"
if xargs grep -F -n -f "$work/secrets.txt" < "$work/scan.txt" > "$work/leaks.txt"; then
  tap_not_ok "no key, password, assertion or token in any of $(wc -l < "$work/scan.txt") logs ($nlines module log lines)"
  head -5 "$work/leaks.txt" | cut -c1-200 | tap_diag
else
  tap_ok "no key, password, assertion or token in any of $(wc -l < "$work/scan.txt") logs ($nlines module log lines)"
fi

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in mid.out skew.out cert.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  tail -n 30 "$GW_DIR/log/altinn-broker.log" "$GW_DIR/log/proftpd.out" 2>/dev/null | tap_diag
fi
tap_done
