#!/bin/sh
# The admin CLI for scripting and support: `send`, `ls`, `get` with --json,
# `status ID` (human and --json) as sender and as recipient, progress on a
# terminal, and for a service owner `resource show|configure`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-cli.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" >/dev/null
# A service owner's Maskinporten client for the resource commands: org
# 991825827 owns demo-resource in the emulator.
umask 077
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$GW_DIR/emu/keys/owner.key" 2>/dev/null
umask 022
openssl pkey -in "$GW_DIR/emu/keys/owner.key" -pubout -out "$GW_DIR/emu/keys/owner.pub.pem"
"$GW_PY" - "$GW_DIR/emu/emulator.json" "$GW_DIR/emu/keys/owner.pub.pem" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["clients"].append({"clientId": "33333333-3333-4333-8333-333333333333", "org": "991825827",
                     "kid": "owner-key-1", "publicKey": sys.argv[2], "scopes": ["altinn:serviceowner"]})
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
cp "$GW_DIR/partner.conf" "$GW_DIR/owner.conf"
printf 'AltinnBrokerClient owner client-id=33333333-3333-4333-8333-333333333333 org=991825827 key=%s kid=owner-key-1 scope="altinn:serviceowner"\n' \
  "$GW_DIR/emu/keys/owner.key" >> "$GW_DIR/owner.conf"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
cli() { "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" "$@"; }
partner() { "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/partner.conf" "$@"; }
owner() { "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/owner.conf" "$@"; }

# --- send / status ----------------------------------------------------------
head -c 3000000 /dev/urandom > "$work/big.bin"
cli --json send /outbox "$work/big.bin" report.bin > "$work/send.json" 2> "$work/send.err"
tap_eq "send --json exits 0" 0 $?
id=$(gw_json 'd[0]["fileTransferId"]' < "$work/send.json")
emu_id=$(gw_emu GET /_emulator/state | gw_json "[t['fileTransferId'] for t in d['transfers'] if t['fileName']=='report.bin'][0]")
tap_eq "it prints the fileTransferId the Broker assigned" "$emu_id" "$id"
tap_eq "with outcome ok and the byte count" "ok 3000000" "$(gw_json 'd[0]["outcome"]+" "+str(int(d[0]["bytes"]))' < "$work/send.json")"
cli status "$id" > "$work/status.txt" 2>&1
tap_eq "status ID exits 0" 0 $?
tap_check "and shows the status" grep -q '^status          Published since ' "$work/status.txt"
tap_check "the recipient and its state" grep -Eq "^recipients +0192:$GW_PARTNER_ORG +Initialized$" "$work/status.txt"
tap_check "the size and MD5" grep -q "^file            report.bin (3000000 bytes, MD5 $(md5sum < "$work/big.bin" | cut -d' ' -f1))" "$work/status.txt"
partner --json status "$id" > "$work/status.json" 2> "$work/status.err"
tap_eq "the recipient organisation sees it too (--json)" "Published 0192:$GW_ORG $GW_PARTNER_ORG" \
  "$(gw_json 'd["status"]+" "+d["sender"]+" "+d["askedAs"]' < "$work/status.json")"
cli status 00000000-0000-4000-8000-000000000000 > "$work/nostatus.txt" 2>&1
tap_eq "an unknown id exits 1" 1 $?
tap_check "saying which organisations were asked" grep -q "is not known to organisation $GW_ORG" "$work/nostatus.txt"

# --- ls / get --json, progress on a terminal ---------------------------------
partner send /outbox "$work/big.bin" for-us.bin >/dev/null 2>&1
cli --json ls /inbox > "$work/ls.json" 2> "$work/ls.err"
tap_eq "ls --json lists name and size" "for-us.bin 3000000" \
  "$(gw_json '" ".join(x["name"]+" "+str(int(x["size"])) for x in d)' < "$work/ls.json")"
cli --json get /inbox for-us.bin "$work/got.bin" > "$work/get.json" 2> "$work/get.err"
tap_eq "get --json reports the download" "download ok 3000000" \
  "$(gw_json 'd[0]["op"]+" "+d[0]["outcome"]+" "+str(int(d[0]["bytes"]))' < "$work/get.json")"
tap_check "with identical bytes" cmp -s "$work/big.bin" "$work/got.bin"
script -qec "$top_builddir/plugin/altinn-broker -c $GW_DIR/proftpd.conf get /inbox for-us.bin $work/got2.bin" /dev/null > "$work/tty.out" 2>&1
tap_check "on a terminal, get shows progress up to 100%" grep -q 'for-us.bin  100%  2.9 MiB of 2.9 MiB' "$work/tty.out"
script -qec "$top_builddir/plugin/altinn-broker -c $GW_DIR/proftpd.conf send /outbox $work/big.bin tty.bin" /dev/null > "$work/tty2.out" 2>&1
tap_check "and send shows the upload to the Broker" grep -q 'tty.bin  100%  2.9 MiB of 2.9 MiB' "$work/tty2.out"
tap_check "without a terminal there is no progress line" sh -c "! grep -q '%' '$work/send.err'"

# --- resource show / configure (service owner) ------------------------------
owner resource show demo-resource > "$work/res.txt" 2>&1
tap_eq "resource show exits 0" 0 $?
tap_check "and shows the time to live as ISO-8601" grep -q '^time to live *P30D$' "$work/res.txt"
owner resource configure demo-resource max-file-size=1G ttl=P7D purge-grace=PT1H > "$work/res2.txt" 2>&1
tap_eq "resource configure exits 0" 0 $?
tap_check "and shows the new settings" sh -c "grep -q '^max file size *1073741824 bytes' '$work/res2.txt' && grep -q '^time to live *P7D$' '$work/res2.txt' && grep -q '^purge grace period *PT1H$' '$work/res2.txt'"
tap_eq "the Broker recorded them" "1073741824 604800" \
  "$(gw_emu GET /_emulator/state | gw_json "[str(r['maxFileTransferSize'])+' '+str(r['ttlSeconds']) for r in d['resources'] if r['id']=='demo-resource'][0]")"
owner --json resource show demo-resource > "$work/res.json" 2> "$work/res.err"
tap_eq "--json shows the Broker's object" 1073741824 "$(gw_json 'd["maxFileTransferSize"]' < "$work/res.json")"
owner resource configure demo-resource ttl=7days > "$work/res3.txt" 2>&1
tap_eq "a bad setting is refused before anything is sent (exit 2)" 2 $?
tap_check "with what is expected" grep -q 'ttl=7days: expected an ISO-8601 duration' "$work/res3.txt"
partner resource show demo-resource > "$work/res4.txt" 2>&1
tap_eq "without a service-owner client: exit 2" 2 $?
tap_check "saying how to name one" grep -q 'scope must include altinn:serviceowner' "$work/res4.txt"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in send.json send.err status.txt status.json ls.json get.json tty.out tty2.out res.txt res2.txt res.json res3.txt; do
    echo "--- $f"; cat "$work/$f"; done | tap_diag
fi
tap_done
