# auth-env.sh - sourced by the authentication tests, after gateway-env.sh.
#
# auth_setup DIR [EXTRA_CONF]: the gateway test environment of gateway-env.sh (gw_setup),
# plus the credentials of make-auth-pki.sh in $GW_DIR/auth and an emulator
# config with more Maskinporten clients and organisations. demo-config.sh is
# left as it is: its emulator.json is extended by a script, here.
#
#   client (clientId)                        org        credential registered   scopes
#   cert    33333333-3333-4333-8333-...333   999888777  enterprise.pem (x5c)     read write events
#   jwk     55555555-5555-4555-8555-...555   999888777  kid registered-1          read write
#   readonly 44444444-4444-4444-8444-...444  999888777  kid registered-1          read
#   vendor  66666666-6666-4666-8666-...666   999888777  kid registered-1          read write,
#                                                        system user for 312345678
#   outsider 88888888-8888-4888-8888-...888  111222333  kid registered-1          read write
#   oldcert 77777777-7777-4777-8777-...777   999888777  expired.pem (x5c)         read write
# Organisation 111222333 exists but has no access to demo-resource.
#
# auth_conf NAME 'AltinnBrokerClient ...' [MOUNT LINES]: writes $GW_DIR/NAME.conf
# for the admin CLI with the emulator's URLs, that client line and, unless
# given, an /outbox (to 312345678) and an /inbox mount on demo-resource for
# the client named in the line. Prints the path.

AUTH_CERT_ID=33333333-3333-4333-8333-333333333333
AUTH_JWK_ID=55555555-5555-4555-8555-555555555555
AUTH_READONLY_ID=44444444-4444-4444-8444-444444444444
AUTH_VENDOR_ID=66666666-6666-4666-8666-666666666666
AUTH_OUTSIDER_ID=88888888-8888-4888-8888-888888888888
AUTH_OLDCERT_ID=77777777-7777-4777-8777-777777777777
AUTH_OUTSIDER_ORG=111222333

auth_setup() {
  gw_setup "$@" || return 1
  "$top_srcdir/tests/integration/make-auth-pki.sh" "$GW_DIR/auth" "$GW_ORG" || return 1
  "$GW_PY" - "$GW_DIR/emu/emulator.json" "$GW_DIR/auth" <<'PY'
import json, sys
path, auth = sys.argv[1], sys.argv[2]
cfg = json.load(open(path))
rw = ["altinn:broker.read", "altinn:broker.write"]
def client(cid, org, scopes, **kw):
    c = {"clientId": cid, "org": org, "scopes": scopes}
    c.update(kw)
    return c
reg = {"kid": "registered-1", "publicKey": auth + "/registered.pub.pem"}
cfg["organizations"].append({"orgNumber": "111222333", "name": "Outsider AS"})
cfg["clients"] += [
    client("33333333-3333-4333-8333-333333333333", "999888777", rw + ["altinn:events.subscribe"],
           certificate=auth + "/enterprise.pem"),
    client("55555555-5555-4555-8555-555555555555", "999888777", rw, **reg),
    client("44444444-4444-4444-8444-444444444444", "999888777", ["altinn:broker.read"], **reg),
    client("66666666-6666-4666-8666-666666666666", "999888777", rw, systemUserOrgs=["312345678"], **reg),
    client("88888888-8888-4888-8888-888888888888", "111222333", rw, **reg),
    client("77777777-7777-4777-8777-777777777777", "999888777", rw, certificate=auth + "/expired.pem"),
]
json.dump(cfg, open(path + ".tmp", "w"), indent=1)
PY
  mv -f "$GW_DIR/emu/emulator.json.tmp" "$GW_DIR/emu/emulator.json"
}

auth_conf() {
  name=$1 client_line=$2
  client_name=$(echo "$client_line" | awk '{print $2}')
  f="$GW_DIR/$name.conf"
  {
    echo "AltinnBrokerEnvironment     custom"
    echo "AltinnBrokerPlatformURL     https://127.0.0.1:$GW_EMU_PORT"
    echo "AltinnBrokerMaskinportenURL https://127.0.0.1:$GW_EMU_PORT/"
    echo "AltinnBrokerCACertificate   $GW_DIR/emu/ca.pem"
    echo "AltinnBrokerSpoolDir        $GW_DIR/spool"
    echo "AltinnBrokerStateDir        $GW_DIR/statedb"
    echo "$client_line"
    if [ -n "${3:-}" ]; then
      printf '%s\n' "$3"
    else
      echo "AltinnBrokerMount /outbox client=$client_name resource=demo-resource direction=outbox recipients=0192:$GW_PARTNER_ORG"
      echo "AltinnBrokerMount /inbox  client=$client_name resource=demo-resource direction=inbox"
    fi
  } > "$f"
  echo "$f"
}

# auth_check CONF [ARGS...]: runs `altinn-broker --json check` on CONF; the
# JSON goes to $GW_DIR/last-check.json, the exit code to AUTH_RC.
auth_check() {
  conf=$1; shift
  "$top_builddir/plugin/altinn-broker" -c "$conf" --json check "$@" > "$GW_DIR/last-check.json" 2> "$GW_DIR/last-check.err"
  AUTH_RC=$?
  cat "$GW_DIR/last-check.json" "$GW_DIR/last-check.err" >> "$GW_DIR/log/check-outputs.log"
}

# auth_step MOUNT STEP FIELD: a field of one step in the last check's JSON.
auth_step() {
  "$GW_PY" -c "
import json, sys
d = json.load(open('$GW_DIR/last-check.json'))
m = [m for m in d['mounts'] if m['path'] == '$1'][0]
v = m['steps'][$2 - 1]['$3']
print('' if v is None else v)"
}
