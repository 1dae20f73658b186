#!/bin/sh
# `altinn-broker check` against the emulator, one onboarding failure at a
# time: each must be named at the right step, with the fix, and give the
# documented exit code; with everything right every step passes. Also the
# credential kinds (registered key as PEM/JWK, enterprise certificate as
# PKCS#12 incl. legacy, system user) end to end through Maskinporten.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/auth-env.sh"

# tap_match DESCRIPTION TEXT ERE: ok when TEXT matches the extended regex.
tap_match() {
  if printf '%s\n' "$2" | grep -Eq "$3"; then tap_ok "$1"; else tap_not_ok "$1"; echo "#   text: $2"; fi
}

work=$(mktemp -d /tmp/ab-auth-check.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
auth_setup "$work/gw" >/dev/null
if ! gw_start_emulator; then tap_not_ok "emulator starts"; tap_done; exit 1; fi
# Step 4 searches once per mount; dozens of checks in a minute would meet
# the Broker's 10 searches/min per organisation (that 429 is "unavailable").
gw_emu POST /_emulator/knobs '{"rateLimits":false}' >/dev/null
A=$GW_DIR/auth
GW_CLIENT=11111111-1111-4111-8111-111111111111
good_client="AltinnBrokerClient gw client-id=$GW_CLIENT org=$GW_ORG key=$GW_DIR/emu/keys/gateway.key kid=gateway-key-1"

# --- everything right -------------------------------------------------------
conf=$(auth_conf good "$good_client")
auth_check "$conf"
tap_eq "all right: exit 0" 0 "$AUTH_RC"
tap_eq "all right: the JSON says ok" ok "$("$GW_PY" -c "import json; print(json.load(open('$GW_DIR/last-check.json'))['result'])")"
for m in /outbox /inbox; do
  tap_eq "all right: $m passes steps 1-4" "ok ok ok ok" \
    "$(for s in 1 2 3 4; do auth_step $m $s status; done | tr '\n' ' ' | sed 's/ $//')"
done
tap_eq "all right: step 5 is skipped when no events scope is requested" skip "$(auth_step /inbox 5 status)"
tap_match "all right: step 4 says the org may send" "$(auth_step /outbox 4 finding)" "organisation $GW_ORG may send files on resource demo-resource"
"$top_builddir/plugin/altinn-broker" -c "$conf" check > "$work/text.out" 2>&1
tap_eq "text output: exit 0" 0 $?
tap_check "text output: one line per step and the result" \
  sh -c "[ \$(grep -c '\\[ OK \\]' '$work/text.out') -eq 8 ] && grep -q 'result: every step passed (exit 0)' '$work/text.out'"

# --- every credential kind Maskinporten accepts ------------------------------
for cred in \
  "pem-pkcs1|key=$A/registered-pkcs1.key kid=registered-1 client-id=$AUTH_JWK_ID" \
  "pem-encrypted|key=$A/registered-enc.key key-password-file=$A/registered.pass kid=registered-1 client-id=$AUTH_JWK_ID" \
  "jwk (RS384 from the JWK)|jwk=$A/registered.jwk client-id=$AUTH_JWK_ID" \
  "base64 jwk|jwk=$A/registered.jwk.b64 client-id=$AUTH_JWK_ID alg=RS384" \
  "pkcs12|p12=$A/enterprise.p12 p12-password-file=$A/p12.pass client-id=$AUTH_CERT_ID" \
  "legacy pkcs12 (RC2-40)|p12=$A/enterprise-legacy.p12 p12-password-file=$A/p12.pass client-id=$AUTH_CERT_ID alg=RS512" \
  "pem key + chain|key=$A/enterprise.key cert=$A/enterprise-chain.pem client-id=$AUTH_CERT_ID"; do
  name=${cred%%|*}
  conf=$(auth_conf cred "AltinnBrokerClient c org=$GW_ORG ${cred#*|}")
  auth_check "$conf"
  tap_eq "credential $name: check exit 0" 0 "$AUTH_RC"
done
tap_match "certificate: step 1 names the certificate's organisation and x5c chain" \
  "$(auth_step /outbox 1 finding)" "organisation $GW_ORG, valid until .*x5c of 3"
grants=$(gw_emu GET /_emulator/state | gw_json "d['grants'].get('$AUTH_CERT_ID', 0)")
tap_check "Maskinporten granted the certificate client tokens (x5c accepted)" test "$grants" -ge 3

conf=$(auth_conf vendor "AltinnBrokerClient v client-id=$AUTH_VENDOR_ID org=$GW_ORG jwk=$A/registered.jwk systemuser-org=$GW_PARTNER_ORG")
auth_check "$conf"
tap_eq "system user: exit 0" 0 "$AUTH_RC"
tap_match "system user: the Altinn token acts for the customer" \
  "$(auth_step /inbox 3 finding)" "system user for $GW_PARTNER_ORG"

# --- step 1: wrong key, expired certificate, certificate of another org -----
conf=$(auth_conf wrongkey "AltinnBrokerClient gw client-id=$GW_CLIENT org=$GW_ORG key=$A/wrong.key kid=gateway-key-1")
auth_check "$conf"
tap_eq "wrong key: exit 3 (step 1)" 3 "$AUTH_RC"
tap_eq "wrong key: step 1 fails with MP-124" "fail MP-124" "$(auth_step /outbox 1 status) $(auth_step /outbox 1 code)"
tap_match "wrong key: the fix says which key to upload for which kid" \
  "$(auth_step /outbox 1 fix)" "not the one registered as kid gateway-key-1.*openssl pkey -in $A/wrong.key -pubout"
tap_eq "wrong key: later steps are skipped" skip "$(auth_step /outbox 4 status)"

conf=$(auth_conf unknownkid "AltinnBrokerClient gw client-id=$GW_CLIENT org=$GW_ORG key=$GW_DIR/emu/keys/gateway.key kid=no-such-kid")
auth_check "$conf"
tap_eq "unknown kid: exit 3" 3 "$AUTH_RC"

conf=$(auth_conf expired "AltinnBrokerClient old client-id=$AUTH_OLDCERT_ID org=$GW_ORG p12=$A/expired.p12 p12-password-file=$A/p12.pass")
auth_check "$conf"
tap_eq "expired certificate: exit 3" 3 "$AUTH_RC"
tap_match "expired certificate: named with its expiry date" \
  "$(auth_step /outbox 1 finding)" 'GATEWAY DEMO AS \(2020\).*expired on 2021-01-01'
tap_match "expired certificate: the fix says to order a new one" \
  "$(auth_step /outbox 1 fix)" 'order a new enterprise certificate'
tap_eq "expired certificate: no grant was even sent" 0 \
  "$(gw_emu GET /_emulator/state | gw_json "d['grants'].get('$AUTH_OLDCERT_ID', 0)")"
# The emulator refuses an expired certificate as Maskinporten does (MP-120),
# even when it is the registered one: a grant signed by hand with it.
mp120=$("$GW_PY" - "$A" "https://127.0.0.1:$GW_EMU_PORT" "$AUTH_OLDCERT_ID" "$GW_DIR/emu/ca.pem" <<'PY'
import base64, json, ssl, sys, time, urllib.parse, urllib.request, uuid
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
d, base, cid, ca = sys.argv[1:5]
cert = x509.load_pem_x509_certificate(open(d + "/expired.pem", "rb").read())
key = serialization.load_pem_private_key(open(d + "/expired.key", "rb").read(), None)
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
hdr = {"alg": "RS256", "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
now = int(time.time())
claims = {"aud": base + "/", "iss": cid, "scope": "altinn:broker.read", "iat": now, "exp": now + 100, "jti": str(uuid.uuid4())}
si = b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode())
jwt = si + "." + b64u(key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256()))
body = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt}).encode()
try:
    urllib.request.urlopen(urllib.request.Request(base + "/token", body), context=ssl.create_default_context(cafile=ca))
    print("accepted")
except urllib.error.HTTPError as e:
    print(e.code, json.load(e)["error_description"])
PY
)
tap_match "emulator: a grant with an expired certificate gets 400 MP-120" "$mp120" '^400 .*expired.*\(MP-120\)'

conf=$(auth_conf othercert "AltinnBrokerClient c client-id=$AUTH_CERT_ID org=$GW_PARTNER_ORG key=$A/other.key cert=$A/other.pem")
auth_check "$conf"
tap_eq "certificate of another organisation: exit 3" 3 "$AUTH_RC"
tap_match "certificate of another organisation: both orgs named" \
  "$(auth_step /outbox 1 finding)" "belongs to organisation 111222333, but client c has org=$GW_PARTNER_ORG"

conf=$(auth_conf ec "AltinnBrokerClient gw client-id=$GW_CLIENT org=$GW_ORG key=$A/ec.key kid=gateway-key-1")
auth_check "$conf"
tap_eq "EC key: exit 3" 3 "$AUTH_RC"
tap_match "EC key: says RSA is needed" "$(auth_step /outbox 1 finding)" 'not an RSA key'

cp "$A/registered.key" "$A/open.key"; chmod 644 "$A/open.key"
conf=$(auth_conf openkey "AltinnBrokerClient gw client-id=$AUTH_JWK_ID org=$GW_ORG key=$A/open.key kid=registered-1")
auth_check "$conf"
tap_eq "group/world-readable key: exit 3" 3 "$AUTH_RC"
tap_match "group/world-readable key: refused with the chmod that fixes it" \
  "$(auth_step /outbox 1 finding)" 'readable by group or others \(mode 0644\).*chmod 600'

# --- step 2: client, scopes, system user, clock ----------------------------
conf=$(auth_conf readonly "AltinnBrokerClient ro client-id=$AUTH_READONLY_ID org=$GW_ORG key=$A/registered.key kid=registered-1")
auth_check "$conf"
tap_eq "missing scope: exit 4 (step 2)" 4 "$AUTH_RC"
tap_eq "missing scope: MP-200 at step 2 of the outbox" "fail MP-200" "$(auth_step /outbox 2 status) $(auth_step /outbox 2 code)"
tap_match "missing scope: names altinn:broker.write" \
  "$(auth_step /outbox 2 finding)" 'will not give client ro the scope altinn:broker.write \(MP-200\)'
tap_match "missing scope: the inbox is told the scope is another mount's" \
  "$(auth_step /inbox 2 finding)" 'altinn:broker.write, needed by another mount'
tap_match "missing scope: the fix says where to add it" \
  "$(auth_step /outbox 2 fix)" "add altinn:broker.write to client $AUTH_READONLY_ID"

conf=$(auth_conf noclient "AltinnBrokerClient gw client-id=00000000-0000-4000-8000-000000000000 org=$GW_ORG key=$A/registered.key kid=registered-1")
auth_check "$conf"
tap_eq "unknown client id: exit 4 with MP-100" "4 MP-100" "$AUTH_RC $(auth_step /outbox 2 code)"

conf=$(auth_conf nosysuser "AltinnBrokerClient v client-id=$AUTH_VENDOR_ID org=$GW_ORG jwk=$A/registered.jwk systemuser-org=$AUTH_OUTSIDER_ORG external-ref=ref-7")
auth_check "$conf"
tap_eq "system user not accepted: exit 4 with MP-303" "4 MP-303" "$AUTH_RC $(auth_step /outbox 2 code)"
tap_match "system user not accepted: the fix names customer, vendor and external-ref" \
  "$(auth_step /outbox 2 fix)" "customer $AUTH_OUTSIDER_ORG must accept the system user request of vendor $GW_ORG.*external-ref=ref-7"

conf=$(auth_conf good "$good_client")
gw_emu POST /_emulator/tokens '{"clockOffsetSeconds":-300}' >/dev/null
auth_check "$conf"
tap_eq "clock 5 min ahead: still exit 0 (the grant is re-dated)" 0 "$AUTH_RC"
tap_eq "clock 5 min ahead: step 2 warns" "warn" "$(auth_step /outbox 2 status)"
tap_match "clock 5 min ahead: the warning says by how much" "$(auth_step /outbox 2 finding)" 'clock, which is (29[5-9]|30[0-5]) s ahead of'
tap_match "clock 5 min ahead: the fix says NTP" "$(auth_step /outbox 2 fix)" 'NTP'
gw_emu POST /_emulator/tokens '{"clockOffsetSeconds":600}' >/dev/null
auth_check "$conf"
tap_eq "clock 10 min behind: still exit 0" 0 "$AUTH_RC"
tap_check "clock 10 min behind: step 4 works with the token (Broker: no skew allowed)" \
  test "$(auth_step /outbox 4 status)" = ok
gw_emu POST /_emulator/tokens '{"clockOffsetSeconds":0}' >/dev/null

# --- token endpoint or exchange down or slow: exit 8 -------------------------
gw_emu POST /_emulator/faults '{"endpoint":"token","status":503,"count":4}' >/dev/null
auth_check "$conf"
tap_eq "token endpoint answers 503: exit 8" 8 "$AUTH_RC"
tap_eq "token endpoint answers 503: step 2 unavailable" unavailable "$(auth_step /outbox 2 status)"
gw_emu POST /_emulator/faults '{"endpoint":"token","kind":"reset","count":4}' >/dev/null
auth_check "$conf"
tap_eq "token endpoint drops the connection: exit 8" 8 "$AUTH_RC"
gw_emu POST /_emulator/faults '{"clear":true}' >/dev/null
gw_emu POST /_emulator/faults '{"endpoint":"token","latencyMs":2500,"count":1}' >/dev/null
auth_check "$conf"
tap_eq "token endpoint slow (2.5 s): exit 0" 0 "$AUTH_RC"
tap_match "token endpoint slow (2.5 s): step 2 warns with the time" \
  "$(auth_step /outbox 2 finding)" 'Maskinporten took 2.[5-9] s'
gw_emu POST /_emulator/faults '{"endpoint":"token","latencyMs":4000,"count":2}' >/dev/null
start=$(date +%s)
auth_check "$conf" --timeout 1
tap_eq "token endpoint slower than --timeout 1: exit 8" 8 "$AUTH_RC"
tap_match "token endpoint slower than --timeout: says it timed out" \
  "$(auth_step /outbox 2 finding)" 'timed out'
tap_check "--timeout bounds the wait (retry included)" test $(( $(date +%s) - start )) -le 4
gw_emu POST /_emulator/faults '{"clear":true}' >/dev/null
gw_emu POST /_emulator/faults '{"endpoint":"exchange","status":500,"count":1}' >/dev/null
auth_check "$conf"
tap_eq "exchange fails: exit 8 at step 3" "8 unavailable" "$AUTH_RC $(auth_step /outbox 3 status)"
gw_emu POST /_emulator/faults '{"clear":true}' >/dev/null

# --- step 4: resource access ------------------------------------------------
conf=$(auth_conf outsider "AltinnBrokerClient o client-id=$AUTH_OUTSIDER_ID org=$AUTH_OUTSIDER_ORG key=$A/registered.key kid=registered-1")
auth_check "$conf"
tap_eq "no resource access: exit 6 (step 4)" 6 "$AUTH_RC"
tap_eq "no resource access: 401 BRO-00006" "fail BRO-00006 401" \
  "$(auth_step /outbox 4 status) $(auth_step /outbox 4 code) $(auth_step /outbox 4 httpStatus)"
tap_match "no resource access: ask the resource owner for access for the org" \
  "$(auth_step /outbox 4 fix)" "ask the owner of resource demo-resource for access for organisation $AUTH_OUTSIDER_ORG: actions write \\(to send\\)"
conf=$(auth_conf vendorout "AltinnBrokerClient v client-id=$AUTH_VENDOR_ID org=$GW_ORG jwk=$A/registered.jwk systemuser-org=$GW_PARTNER_ORG" \
  "AltinnBrokerMount /inbox client=v resource=no-such-resource direction=inbox")
auth_check "$conf"
tap_eq "resource not registered: exit 6 with 403 BRO-00005" "6 BRO-00005 403" \
  "$AUTH_RC $(auth_step /inbox 4 code) $(auth_step /inbox 4 httpStatus)"
tap_match "resource not registered: the fix points at resource=" \
  "$(auth_step /inbox 4 fix)" 'check resource=no-such-resource of mount /inbox'

# --- step 5: events subscription -------------------------------------------
events_client="AltinnBrokerClient c client-id=$AUTH_CERT_ID org=$GW_ORG p12=$A/enterprise.p12 p12-password-file=$A/p12.pass scope=\"altinn:broker.read altinn:broker.write altinn:events.subscribe\""
conf=$(auth_conf events-pull "$events_client" "AltinnBrokerMount /inbox client=c resource=demo-resource direction=inbox")
auth_check "$conf"
tap_eq "events scope, events pulled (the default): step 5 ok without a subscription" "0 ok" "$AUTH_RC $(auth_step /inbox 5 status)"
conf=$(auth_conf events "$events_client" "AltinnBrokerMount /inbox client=c resource=demo-resource direction=inbox events=webhook")
auth_check "$conf"
tap_eq "events=webhook but no subscription: exit 0 with a warning" "0 warn" "$AUTH_RC $(auth_step /inbox 5 status)"
gw_emu POST /_emulator/knobs '{"webhookAllowHttp":true}' >/dev/null
# A subscription whose webhook does not answer yet stays unvalidated.
dead=$(gw_free_port)
"$GW_PY" - "$A" "https://127.0.0.1:$GW_EMU_PORT" "$AUTH_CERT_ID" "$GW_DIR/emu/ca.pem" "http://127.0.0.1:$dead/hook" > "$work/sub.out" 2>&1 <<'PY'
import base64, json, ssl, sys, time, urllib.parse, urllib.request, uuid
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
d, base, cid, ca, endpoint = sys.argv[1:6]
ctx = ssl.create_default_context(cafile=ca)
cert = x509.load_pem_x509_certificate(open(d + "/enterprise.pem", "rb").read())
key = serialization.load_pem_private_key(open(d + "/enterprise.key", "rb").read(), None)
b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
hdr = {"alg": "RS256", "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
now = int(time.time())
claims = {"aud": base + "/", "iss": cid, "scope": "altinn:events.subscribe", "iat": now, "exp": now + 100, "jti": str(uuid.uuid4())}
si = b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode())
jwt = si + "." + b64u(key.sign(si.encode(), padding.PKCS1v15(), hashes.SHA256()))
body = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": jwt}).encode()
mp = json.load(urllib.request.urlopen(urllib.request.Request(base + "/token", body), context=ctx))["access_token"]
altinn = urllib.request.urlopen(urllib.request.Request(base + "/authentication/api/v1/exchange/maskinporten",
                                headers={"Authorization": "Bearer " + mp}), context=ctx).read().decode()
sub = {"endPoint": endpoint, "resourceFilter": "urn:altinn:resource:demo-resource",
       "subjectFilter": "urn:altinn:organization:identifier-no:999888777"}
r = urllib.request.urlopen(urllib.request.Request(base + "/events/api/v1/subscriptions", json.dumps(sub).encode(),
                           headers={"Authorization": "Bearer " + altinn, "Content-Type": "application/json"}), context=ctx)
print(r.status)
PY
tap_check "a subscription to a dead webhook is created" grep -q '^201' "$work/sub.out"
auth_check "$conf"
tap_eq "unvalidated subscription: exit 7 (step 5)" "7 fail" "$AUTH_RC $(auth_step /inbox 5 status)"
tap_match "unvalidated subscription: the fix names the validation event" \
  "$(auth_step /inbox 5 fix)" "http://127.0.0.1:$dead/hook must answer 2xx to Altinn.s platform.events.validatesubscription"
# The webhook comes up; the emulator retries the validation (emulated clock).
"$GW_PY" - "$dead" "$work/webhook.log" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        open(sys.argv[2], "ab").write(body + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
hook_pid=$!
for _ in $(seq 1 100); do
  gw_emu POST /_emulator/clock '{"advanceSeconds":130}' >/dev/null
  grep -q validatesubscription "$work/webhook.log" 2>/dev/null && break
  sleep 0.1
done
sleep 0.2
auth_check "$conf"
tap_eq "validated subscription: exit 0, step 5 ok" "0 ok" "$AUTH_RC $(auth_step /inbox 5 status)"
kill "$hook_pid" 2>/dev/null

# --- exit codes: usage and unreadable configuration --------------------------
"$top_builddir/plugin/altinn-broker" -c "$work/missing.conf" check > /dev/null 2>&1
tap_eq "unreadable configuration: exit 2" 2 $?
"$top_builddir/plugin/altinn-broker" -c "$conf" check --bogus > /dev/null 2>&1
tap_eq "usage error: exit 2" 2 $?

if [ "$TAP_FAILED" -ne 0 ]; then
  tail -n 20 "$GW_DIR/log/check-outputs.log" "$GW_DIR/log/emulator.err" 2>/dev/null | tap_diag
fi
tap_done

