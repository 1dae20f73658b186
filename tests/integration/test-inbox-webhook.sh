#!/bin/sh
# Pushed Altinn Events (events=webhook) end to end: `altinn-broker events
# serve` (TLS, secret path) receives Altinn's deliveries, `events
# subscribe|list|delete` manage the subscription through the Events API, and
# the agent's listing follows. Events are hints, so duplicates, late events
# and forged ones must change nothing but what the Broker itself says:
#   - the validation handshake is answered and the subscription validated;
#   - a file published to us is listed within 5 s of being published;
#   - the same event delivered twice lists the file once;
#   - a late "published" event for a file already confirmed does not bring
#     it back; a forged event for an unknown transfer lists nothing;
#   - delete removes the subscription.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-webhook.XXXXXX)
chmod 755 "$work"
serve=
trap '[ -n "$serve" ] && kill "$serve" 2>/dev/null; gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" > /dev/null
sed -i 's/direction=inbox events=pull/direction=inbox events=webhook/' "$GW_DIR/proftpd.conf"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
log="$GW_DIR/log/altinn-broker.log"
cli() { "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" "$@"; }
state() { gw_emu GET /_emulator/state; }
listing() { gw_inbox_names; }
count_listed() { listing | grep -cxF "$1"; }

hook_port=$(gw_free_port)
secret=altinn-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
url="https://127.0.0.1:$hook_port/$secret"
# The binary itself, not the cli function: $! must be the server, which the
# EXIT trap stops (a function in the background is a subshell).
"$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" events serve --listen "127.0.0.1:$hook_port" --path "/$secret" \
  --tls-cert "$GW_DIR/emu/server.pem" --tls-key "$GW_DIR/emu/server.key" > "$work/serve.out" 2>&1 &
serve=$!
for _ in $(seq 1 100); do ss -ltn | grep -q "127.0.0.1:$hook_port " && break; sleep 0.05; done
tap_check "events serve listens with TLS on a secret path" sh -c "ss -ltn | grep -q '127.0.0.1:$hook_port '"

cli events subscribe /inbox "$url" > "$work/sub.out" 2>&1
tap_eq "events subscribe exits 0" 0 $?
tap_eq "the Events API validated it (handshake answered)" true \
  "$(state | gw_json "str(any(s.get('endPoint')=='$url' and s.get('validated') for s in d['subscriptions'])).lower()")"
cli events list /inbox > "$work/list.out" 2>&1
tap_check "events list shows it as validated" grep -q "validated .*$url" "$work/list.out"
sub_id=$(awk -v u="$url" '$2 == "validated" && index($0, u) { print $1; exit }' "$work/list.out")

# Wait for the start-up reconciliation to have run, so what follows is the
# webhook's doing (webhook inboxes sweep every 30 s).
for _ in $(seq 1 100); do grep -q 'reconciliation sweep done' "$log" && break; sleep 0.1; done
head -c 40000 /dev/urandom > "$work/pushed.bin"
gw_partner send /outbox "$work/pushed.bin" pushed.bin > /dev/null 2>&1
seen=
for _ in $(seq 1 100); do
  [ "$(count_listed pushed.bin)" = 1 ] && { seen=$(date +%s.%N); break; }
  sleep 0.1
done
pub=$(state | gw_json "[t['published'] for t in d['transfers'] if t['fileName']=='pushed.bin'][0]")
lag=$("$GW_PY" -c "from datetime import datetime; import sys; print('%.1f' % (float(sys.argv[1] or 1e12) - datetime.fromisoformat(sys.argv[2].replace('Z','+00:00')).timestamp()))" "$seen" "$pub")
tap_check "a pushed file is listed within 5 s of being published (${lag} s)" awk -v l="$lag" 'BEGIN{exit !(l >= 0 && l <= 5)}'
tap_check "the event reached the receiver by webhook" \
  test "$(state | gw_json "sum(s.get('delivered', 0) for s in d['subscriptions'])")" -ge 1

# --- the same event twice, late events, forged events ---------------------------
id=$(state | gw_json "[t['fileTransferId'] for t in d['transfers'] if t['fileName']=='pushed.bin'][0]")
state | gw_json "[e for e in d['events'] if e.get('resourceinstance')=='$id' and e['type'].endswith('published')][0]" > "$work/published.json"
tap_check "the Broker's published event for it is at hand" grep -q "$id" "$work/published.json"
post() {
  curl -sS -o /dev/null -w '%{http_code}' --cacert "$GW_DIR/emu/ca.pem" -H 'Content-Type: application/cloudevents+json' \
    --data-binary "@$1" "$url"
}
tap_eq "a duplicate delivery is accepted (2xx)" 200 "$(post "$work/published.json" | sed 's/^20[0-9]$/200/')"
post "$work/published.json" > /dev/null
sleep 2
tap_eq "delivered three times, listed once" 1 "$(count_listed pushed.bin)"

printf 'get /inbox/pushed.bin %s/got.bin\nrm /inbox/pushed.bin\n' "$work" > "$work/get.batch"
gw_sftp "$work/get.batch" > /dev/null 2>&1
tap_eq "get + rm of it work, with identical bytes" "0 $(md5sum < "$work/pushed.bin" | cut -d' ' -f1)" \
  "$? $(md5sum < "$work/got.bin" | cut -d' ' -f1)"
post "$work/published.json" > /dev/null
sleep 2
tap_eq "its published event arriving late does not bring the confirmed file back" 0 "$(count_listed pushed.bin)"

"$GW_PY" -c "
import json, sys, uuid
e = json.load(open(sys.argv[1]))
e['id'] = str(uuid.uuid4()); e['resourceinstance'] = str(uuid.uuid4())
e['subject'] = '/organisation/$GW_ORG'
json.dump(e, open(sys.argv[2], 'w'))" "$work/published.json" "$work/forged.json"
before=$(listing | wc -l)
tap_eq "a forged event for a transfer the Broker does not know is taken (2xx, no oracle)" 200 \
  "$(post "$work/forged.json" | sed 's/^20[0-9]$/200/')"
sleep 2
tap_eq "and lists nothing" "$before" "$(listing | wc -l)"
code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$GW_DIR/emu/ca.pem" -H 'Content-Type: application/cloudevents+json' \
  --data-binary "@$work/published.json" "https://127.0.0.1:$hook_port/wrong-path")
tap_eq "a delivery to another path is refused (404)" 404 "$code"

# --- delete -------------------------------------------------------------------
if [ -n "$sub_id" ]; then
  cli events delete /inbox "$sub_id" > "$work/del.out" 2>&1
  tap_eq "events delete exits 0" 0 $?
else
  tap_not_ok "events list gave the subscription's id"
fi
tap_eq "the subscription is gone from the Events API" 0 \
  "$(state | gw_json "len([s for s in d['subscriptions'] if s.get('endPoint')=='$url'])")"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in "$work"/*.out; do echo "--- $f"; tail -n 8 "$f"; done | tap_diag
  grep -v 'debug: stat' "$log" | tail -n 30 | tap_diag
fi
tap_done
