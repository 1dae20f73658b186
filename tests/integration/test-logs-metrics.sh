#!/bin/sh
# Every transfer in ProFTPD's logs, counted in the metrics, and no secret
# anywhere: uploads (ok, refused by the Broker, abandoned), a download, a
# confirm. Checked in the module log, ProFTPD's TransferLog (xferlog), an
# ExtendedLog whose LogFormat prints the module's notes
# (%{note:altinn-broker.file-transfer-id} ...), the agent's Prometheus
# textfile (AltinnBrokerMetricsFile) and `altinn-broker metrics`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-logs.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
cat > "$work/extra.conf" <<'CONF'
LogFormat altinn "%u %m %f %{note:altinn-broker.op} %{note:altinn-broker.outcome} id=%{note:altinn-broker.file-transfer-id} org=%{note:altinn-broker.org} res=%{note:altinn-broker.resource} bytes=%{note:altinn-broker.bytes} code=%{note:altinn-broker.error-code}"
ExtendedLog @LOG@/transfers.log READ,WRITE altinn
TransferLog @LOG@/xferlog
<IfModule mod_altinn_broker.c>
  AltinnBrokerMetricsFile @DIR@/metrics/altinn_broker.prom
</IfModule>
CONF
gw_setup "$work/gw" "$work/extra.conf"
sed -i -e "s|@LOG@|$GW_DIR/log|g" -e "s|@DIR@|$GW_DIR|g" -e '/^TransferLog  *none$/d' "$GW_DIR/proftpd.conf"
mkdir -p "$GW_DIR/metrics"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "gateway starts with ExtendedLog, TransferLog and AltinnBrokerMetricsFile"
cli() { "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" "$@"; }
state() { gw_emu GET /_emulator/state; }
id_of() { state | gw_json "[t['fileTransferId'] for t in d['transfers'] if t['fileName']=='$1'][0]"; }

# --- Transfers of every kind ------------------------------------------------
head -c 250000 /dev/urandom > "$work/ok.bin"
printf 'put %s /outbox/ok.bin\n' "$work/ok.bin" > "$work/b1"
gw_sftp "$work/b1" > "$work/o1" 2>&1
tap_eq "an upload succeeds" 0 $?
# 403: a refusal the gateway does not retry (a lone 5xx would be).
gw_emu POST /_emulator/faults '{"endpoint":"upload","status":403,"count":1}' >/dev/null
printf 'put %s /outbox/refused.bin\n' "$work/ok.bin" > "$work/b2"
gw_sftp "$work/b2" > "$work/o2" 2>&1
tap_check "an upload the Broker refuses fails" test $? -ne 0
# Abandoned: the client dies in the middle of the upload (paramiko, no CLOSE).
"$GW_PY" - "$GW_SFTP_PORT" "$GW_DIR/client/id_ed25519" > "$work/o3" 2>&1 <<'PY'
import sys, paramiko
t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))
t.connect(username='tester', pkey=paramiko.Ed25519Key.from_private_key_file(sys.argv[2]))
f = paramiko.SFTPClient.from_transport(t).open('/outbox/abandoned.bin', 'wb')
f.write(b'x' * 100000)
f.flush()
t.sock.close()
PY
gw_partner send /outbox "$work/ok.bin" incoming.bin >/dev/null 2>&1
printf 'get /inbox/incoming.bin %s/got.bin\nrm /inbox/incoming.bin\n' "$work" > "$work/b4"
gw_sftp "$work/b4" > "$work/o4" 2>&1
tap_eq "a download and its confirm succeed" 0 $?
ok_id=$(id_of ok.bin); in_id=$(id_of incoming.bin); refused_id=$(id_of refused.bin)
sleep 1   # the abandoned session's close and the agent's file write

# --- The module log ---------------------------------------------------------
ml=$GW_DIR/log/altinn-broker.log
tap_check "module log: upload ok with its fileTransferId" \
  grep -q "transfer upload ok: user=tester mount=/outbox file=\"ok.bin\" fileTransferId=$ok_id org=$GW_ORG resource=demo-resource bytes=250000" "$ml"
tap_check "module log: the refused upload with id, cause and reason" \
  grep -q "transfer upload failed: .*file=\"refused.bin\" fileTransferId=$refused_id .*cause=http_403 reason=\"upload of /outbox/refused.bin failed" "$ml"
tap_check "module log: the abandoned upload, never sent" \
  grep -q "transfer upload aborted: .*file=\"abandoned.bin\" fileTransferId=- .*bytes=100000" "$ml"
tap_check "module log: the download read whole" \
  grep -q "transfer download ok: .*file=\"incoming.bin\" fileTransferId=$in_id .*bytes=250000" "$ml"
tap_check "module log: the confirm" grep -q "transfer confirm ok: .*fileTransferId=$in_id" "$ml"

# --- ProFTPD's own logs -------------------------------------------------------
tl=$GW_DIR/log/transfers.log
tap_check "ExtendedLog: STOR with the fileTransferId, org, resource, bytes" \
  grep -q "^tester STOR /outbox/ok.bin upload ok id=$ok_id org=$GW_ORG res=demo-resource bytes=250000 code=-" "$tl"
tap_check "ExtendedLog: the refused STOR with its cause" \
  grep -q "^tester STOR /outbox/refused.bin upload failed id=$refused_id .*code=http_403" "$tl"
tap_check "ExtendedLog: the abandoned STOR" \
  grep -q "^tester STOR /outbox/abandoned.bin upload aborted id=- " "$tl"
tap_check "ExtendedLog: RETR with the fileTransferId" \
  grep -q "^tester RETR /inbox/incoming.bin download ok id=$in_id .*bytes=250000" "$tl"
tap_check "ExtendedLog: DELE as the confirm" grep -q "^tester DELE /inbox/incoming.bin confirm ok id=$in_id" "$tl"
n_lines=$(grep -c '^tester ' "$tl")
n_with=$(grep -c ' id=[0-9a-f-]\{36\} ' "$tl")
tap_check "ExtendedLog: every line of a transfer that reached the Broker has an id ($n_with of $n_lines)" \
  test "$n_with" -eq 4
tap_check "TransferLog (xferlog) has the upload and the download" \
  sh -c "grep -q ' /outbox/ok.bin b _ i r tester ' '$GW_DIR/log/xferlog' && grep -q ' /inbox/incoming.bin b _ o r tester ' '$GW_DIR/log/xferlog'"

# --- Metrics --------------------------------------------------------------
cli metrics > "$work/metrics.txt" 2> "$work/metrics.err"
tap_eq "altinn-broker metrics exits 0" 0 $?
m() { grep -F "$1" "$work/metrics.txt" | awk '{print $2}'; }
tap_eq "one upload ok" 1 "$(m "altinn_broker_transfers_total{op=\"upload\",outcome=\"ok\",org=\"$GW_ORG\",resource=\"demo-resource\"}")"
tap_eq "one upload failed" 1 "$(m "altinn_broker_transfers_total{op=\"upload\",outcome=\"failed\",org=\"$GW_ORG\"")"
tap_eq "one upload aborted" 1 "$(m "altinn_broker_transfers_total{op=\"upload\",outcome=\"aborted\"")"
tap_eq "failure cause http_403 counted" 1 "$(m "altinn_broker_transfer_failures_total{op=\"upload\",cause=\"http_403\"")"
tap_eq "bytes downloaded" 250000 "$(m "altinn_broker_transfer_bytes_total{op=\"download\"")"
tap_eq "one confirm" 1 "$(m "altinn_broker_transfers_total{op=\"confirm\",outcome=\"ok\"")"
tap_check "Broker latency histogram with +Inf bucket" \
  grep -q '^altinn_broker_http_request_duration_seconds_bucket{service="broker",le="+Inf"} [1-9]' "$work/metrics.txt"
tap_check "HTTP 403 answers counted by status" \
  grep -q '^altinn_broker_http_requests_total{service="broker",status="403"} 1$' "$work/metrics.txt"
tap_check "token refreshes counted" grep -q '^altinn_broker_token_refreshes_total [1-9]' "$work/metrics.txt"
gw_emu POST /_emulator/faults '{"endpoint":"initialize","status":429,"count":1}' >/dev/null
printf 'put %s /outbox/after-429.bin\n' "$work/ok.bin" > "$work/b5"; gw_sftp "$work/b5" > "$work/o5" 2>&1
cli metrics > "$work/metrics2.txt" 2>&1
tap_check "a 429 from the Broker is counted" \
  grep -q '^altinn_broker_http_rate_limited_total{service="broker"} [1-9]' "$work/metrics2.txt"
prom=$GW_DIR/metrics/altinn_broker.prom
for _ in $(seq 1 30); do grep -q 'rate_limited' "$prom" 2>/dev/null && break; sleep 0.2; done
tap_check "the agent wrote the textfile for node_exporter" grep -q '^# TYPE altinn_broker_transfers_total counter' "$prom"
# after-429.bin is the second upload ok: the gateway waited out the Retry-After.
tap_check "with the same counts" grep -q "^altinn_broker_transfers_total{op=\"upload\",outcome=\"ok\",org=\"$GW_ORG\",resource=\"demo-resource\"} 2$" "$prom"
tap_check "and no temporary file left beside it" test "$(ls "$GW_DIR/metrics" | wc -l)" -eq 1
"$GW_PY" - "$prom" > "$work/parse.out" 2>&1 <<'PY'
# The text format, line by line: comments, or `name{labels} value`.
import re, sys
series = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? [-+0-9.eE]+(Inf)?$')
bad = [l for l in open(sys.argv[1]).read().splitlines() if not l.startswith('# ') and not series.match(l)]
print(bad); sys.exit(1 if bad else 0)
PY
tap_eq "every line of the textfile is valid exposition format" 0 $?

# --- No secret in any log -----------------------------------------------------
key_line=$(sed -n 2p "$GW_DIR/emu/keys/gateway.key")
for f in "$GW_DIR"/log/* "$work"/o? "$work/metrics.txt"; do
  if grep -q -e 'eyJ[A-Za-z0-9_-]*\.' -e 'PRIVATE KEY' -e "$key_line" -e 'client_assertion=' -e 'Bearer ' "$f"; then
    tap_not_ok "no token, key or assertion in $(basename "$f")"
  else
    tap_ok "no token, key or assertion in $(basename "$f")"
  fi
done

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in "$tl" "$GW_DIR/log/xferlog" "$work/metrics.txt" "$work/metrics.err" "$work/o3"; do
    echo "--- $f"; cat "$f"; done | tap_diag
  tail -n 20 "$ml" | tap_diag
fi
tap_done
