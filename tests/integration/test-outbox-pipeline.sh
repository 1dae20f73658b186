#!/bin/sh
# AltinnBrokerUpload pipeline=on: a file is sent while the client writes it.
# Checked against the emulator's record, as a user would: the bytes the
# Broker stored, how many transfers exist and in which state, and what the
# client saw at CLOSE. The trade-offs the mode documents are checked too:
# no checksum at initialize, duplicates found only at CLOSE, an abandoned
# upload leaves an unpublished transfer.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/outbox-env.sh"

work=$(mktemp -d /tmp/ab-outbox-pipeline.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
cat > "$work/extra.conf" <<CONF
<IfModule mod_altinn_broker.c>
  AltinnBrokerUpload tus-above=1M chunk=256K parallel=2 retries=2 retry-delay=200ms pipeline=on
  AltinnBrokerMount /dup client=gateway resource=demo-resource direction=outbox recipients=0192:$GW_PARTNER_ORG duplicates=refuse
</IfModule>
CONF
gw_setup "$work/gw" "$work/extra.conf"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "gateway starts with pipeline=on"
log=$GW_DIR/log/altinn-broker.log
mk() { head -c "$2" /dev/urandom > "$work/$1"; }
ok_one() { ob_ok_one "$1" "$2" "$work/$3"; }
# status_of NAME: the statuses of the transfers named NAME, sorted
status_of() {
  ob_q "sorted(t['status'] for t in d['transfers'] if t['fileName']=='$1')"
}

# --- a large file goes out while it is written ---------------------------------
mk big.bin 5000000
ob_put "$work/big.bin" /outbox/big.bin "$work/big.out"
tap_eq "sftp put of 5,000,000 bytes: exit 0" 0 $?
ok_one "pipelined" big.bin big.bin
# 16 parts of 256K, then 512K ones while written, the rest at CLOSE
tap_check "the log names the mode and its 18 partial uploads" \
  grep -q "sent /outbox/big.bin: .*md5=$(ob_md5 "$work/big.bin") via=tus-pipelined parts=18 " "$log"
tap_eq "initialized without a checksum (it was not known yet)" "[null]" \
  "$(ob_q "[t['checksum'] for t in d['transfers'] if t['fileName']=='big.bin']")"
printf 'get /outbox/sent/big.bin.json %s\n' "$work/receipt.json" > "$work/b"
gw_sftp "$work/b" > /dev/null 2>&1
tap_eq "the receipt keeps the MD5 the gateway computed" "$(ob_md5 "$work/big.bin")" \
  "$(gw_json "d.get('md5')" < "$work/receipt.json" 2>/dev/null)"

# --- small files are sent at CLOSE as before, with their checksum --------------
mk small.bin 200000
ob_put "$work/small.bin" /outbox/small.bin
tap_eq "a file below tus-above: exit 0" 0 $?
ok_one "below tus-above" small.bin small.bin
tap_eq "below tus-above: initialized with its MD5" "[\"$(ob_md5 "$work/small.bin")\"]" \
  "$(ob_q "[t['checksum'] for t in d['transfers'] if t['fileName']=='small.bin']")"

# --- blocks in reverse order: nothing to send until the start arrives ----------
mk rev.bin 3000000
ob_probe put "$work/rev.bin" /outbox/rev.bin reverse > "$work/rev.out" 2>&1
tap_eq "probe writes in reverse order: CLOSE ok" 0 $?
ok_one "reverse order" rev.bin rev.bin

# --- a client rewriting bytes already sent --------------------------------------
mk rw.bin 3000000
"$GW_PY" - "$GW_SFTP_PORT" "$GW_USER" "$GW_DIR/client/id_ed25519" "$work" > "$work/rw.out" 2>&1 <<'PY'
import sys, paramiko
port, user, keyfile, work = sys.argv[1:5]
t = paramiko.Transport(("127.0.0.1", int(port)))
t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile))
s = paramiko.SFTPClient.from_transport(t)
data = bytearray(open(work + "/rw.bin", "rb").read())
f = s.open("/outbox/rw.bin", "wb")
for off in range(0, len(data), 32768):
    f.write(bytes(data[off:off + 32768]))
f.seek(0)
f.write(b"REWRITTEN")
f.close()
data[0:9] = b"REWRITTEN"
open(work + "/rw-final.bin", "wb").write(data)
print("closed ok")
s.close(); t.close()
PY
tap_check "paramiko rewrites the start after 3 MB: CLOSE ok" grep -q '^closed ok$' "$work/rw.out"
ok_one "rewritten start: the final bytes are what was published" rw.bin rw-final.bin
tap_eq "the first transfer stays unpublished, the second is Published" \
  '["Published", "UploadStarted"]' "$(status_of rw.bin)"
tap_check "the log says why the file was sent again at CLOSE" \
  grep -q "/outbox/rw.bin: a write changed bytes already sent; transfer .* stays unpublished" "$log"

# --- a client that vanishes mid-file ----------------------------------------------
mk gone.bin 3000000
deletes=$(ob_requests tus_delete)
ob_probe abort "$work/gone.bin" /outbox/gone.bin 2000000 > "$work/gone.out" 2>&1
for _ in $(seq 1 50); do grep -q 'transfer upload aborted: .*file="gone.bin"' "$log" && break; sleep 0.1; done
tap_check "vanished mid-file: the gateway reports the upload aborted" \
  grep -q 'transfer upload aborted: .*file="gone.bin"' "$log"
tap_eq "vanished mid-file: the transfer begun while written stays unpublished" \
  '["UploadStarted"]' "$(status_of gone.bin)"
tap_check "vanished mid-file: its partial uploads were deleted at the Broker" \
  test "$(ob_requests tus_delete)" -gt "$deletes"

# --- the session is ended (SIGTERM) while a file is being sent ----------------------
# ProFTPD closes the open file as the session ends: the helper thread that
# drives the PATCHes stops, the partial uploads are deleted, and the session
# exits without a crash (ab_outbox_free does the same for a file still open).
mk cut.bin 3000000
deletes=$(ob_requests tus_delete)
"$GW_PY" - "$GW_SFTP_PORT" "$GW_USER" "$GW_DIR/client/id_ed25519" "$work" > "$work/cut.out" 2>&1 <<'PY' &
import sys, time, paramiko
port, user, keyfile, work = sys.argv[1:5]
t = paramiko.Transport(("127.0.0.1", int(port)))
t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile))
s = paramiko.SFTPClient.from_transport(t)
data = open(work + "/cut.bin", "rb").read()
f = s.open("/outbox/cut.bin", "wb")
for off in range(0, 2000000, 32768):
    f.write(data[off:off + 32768])
f.flush()
print("written from port %d" % t.sock.getsockname()[1], flush=True)
time.sleep(60)
PY
client=$!
for _ in $(seq 1 200); do grep -q '^written from port' "$work/cut.out" && break; sleep 0.1; done
# The session is the process holding this client's connection.
cport=$(sed -n 's/^written from port //p' "$work/cut.out")
session=
[ -n "$cport" ] && session=$(ss -tnpH state established "( sport = :$GW_SFTP_PORT and dport = :$cport )" |
  grep -o 'pid=[0-9]*' | head -n 1 | cut -d= -f2)
tap_check "session ended mid-file: its process is found" test -n "$session"
[ -z "$session" ] && { cat "$work/cut.out"; ss -tnpH state established; } | tap_diag
sleep 0.5 # let PATCHes run on the helper thread
[ -n "$session" ] && kill -TERM "$session"
for _ in $(seq 1 100); do [ -n "$session" ] && kill -0 "$session" 2>/dev/null || break; sleep 0.1; done
tap_check "session ended mid-file: the session exits" sh -c "! kill -0 '$session' 2>/dev/null"
kill "$client" 2>/dev/null; wait "$client" 2>/dev/null
tap_eq "session ended mid-file: the transfer begun while written stays unpublished" \
  '["UploadStarted"]' "$(status_of cut.bin)"
tap_check "session ended mid-file: its partial uploads were deleted at the Broker" \
  test "$(ob_requests tus_delete)" -gt "$deletes"
tap_check "session ended mid-file: the log says the file was not completed" \
  grep -q '/outbox/cut.bin was not completed: transfer .* stays unpublished' "$log"
tap_check "session ended mid-file: no crash or sanitizer report" \
  sh -c "! grep -Eq 'ERROR: (Address|Undefined)Sanitizer|runtime error:|signal 11|SIGSEGV' '$GW_DIR/log/proftpd.out'"
tap_check "session ended mid-file: the gateway still takes uploads" ob_put "$work/cut.bin" /outbox/cut2.bin

# --- duplicates=refuse is checked at CLOSE ------------------------------------
mk d.bin 2000000
ob_put "$work/d.bin" /dup/d1.bin
tap_eq "first copy to a duplicates=refuse outbox: exit 0" 0 $?
ob_put "$work/d.bin" /dup/d2.bin "$work/d2.out"
tap_check "the same bytes again: sftp reports the CLOSE error" test $? -ne 0
tap_check "the log names the duplicate" grep -q 'upload of /dup/d2.bin failed.*duplicate' "$log"
ok_one "duplicate refused: the first copy" d1.bin d.bin
tap_eq "duplicate refused: its transfer was never published" '["UploadStarted"]' "$(status_of d2.bin)"

# --- the Broker fails for a while as the client writes: CLOSE still succeeds ---
mk hiccup.bin 3000000
ob_fault '{"endpoint":"tus_patch","status":503,"count":4}'
ob_put "$work/hiccup.bin" /outbox/hiccup.bin "$work/hiccup.out"
tap_eq "4 PATCHes refused with 503 (2 per part: within retries=2): exit 0" 0 $?
ob_fault '{"clear":true}'
ok_one "Broker hiccup while written" hiccup.bin hiccup.bin
tap_check "the log counts the resumed PATCHes" \
  grep -q "sent /outbox/hiccup.bin: .*via=tus-pipelined parts=[0-9]* resumes=[1-9]" "$log"

# --- the Broker keeps failing PATCH: an error at CLOSE, nothing published -----
mk fail.bin 3000000
ob_fault '{"endpoint":"tus_patch","status":500,"count":200}'
ob_put "$work/fail.bin" /outbox/fail.bin "$work/fail.out"
tap_check "PATCH keeps failing: sftp reports the CLOSE error" test $? -ne 0
ob_fault '{"clear":true}'
tap_check "the client sees the failure" grep -qi 'failure\|error' "$work/fail.out"
tap_eq "PATCH keeps failing: nothing published" 0 "$(ob_published fail.bin)"
tap_check "the log says the upload failed" grep -q 'upload of /outbox/fail.bin failed' "$log"
tap_done
