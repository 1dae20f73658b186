#!/bin/sh
# Uploads with the clients legacy systems use, and their habits: OpenSSH
# sftp (put, put -p, chmod, stat right after, reput, temporary name +
# rename), ProFTPD's HiddenStores, curl, lftp, rclone, paramiko writing out
# of order, and our libssh probe for what the others hide (raw CLOSE
# status, append, resume without the start, a client vanishing mid-upload).
# Each is checked against the emulator's record: success = exactly one
# Published transfer with identical bytes; failure = an error at the client
# and nothing published.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/outbox-env.sh"

work=$(mktemp -d /tmp/ab-outbox-clients.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
cat > "$work/extra.conf" <<CONF
<IfModule mod_altinn_broker.c>
  AltinnBrokerUpload tus-above=1M chunk=256K parallel=2 retries=2 retry-delay=200ms
  AltinnBrokerMount /hs client=gateway resource=demo-resource direction=outbox recipients=0192:$GW_PARTNER_ORG
</IfModule>
<Directory /hs>
  HiddenStores on
</Directory>
CONF
gw_setup "$work/gw" "$work/extra.conf"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "gateway starts (plus /hs with ProFTPD's HiddenStores)"
log=$GW_DIR/log/altinn-broker.log
# one file per client, so each transfer is told apart by name and bytes
mk() { head -c "$2" /dev/urandom > "$work/$1"; }
# ok_one DESC NAME FILE: exactly one Published transfer NAME with FILE's bytes
ok_one() { ob_ok_one "$1" "$2" "$work/$3"; }
# none DESC NAME: no transfer named NAME published
none() {
  tap_eq "$1: nothing published" 0 "$(ob_published "$2")"
}
sftp_batch() {
  gw_sftp "$work/batch" > "$work/batch.out" 2>&1
}

# --- OpenSSH sftp -------------------------------------------------------------
mk o.bin 300000
cat > "$work/batch" <<B
put $work/o.bin /outbox/o.bin
ls -l /outbox/o.bin
chmod 600 /outbox/o.bin
put -p $work/o.bin /outbox/o-p.bin
B
sftp_batch
tap_eq "sftp put, ls, chmod, put -p: exit 0" 0 $?
tap_check "stat right after the upload shows its size" grep -q ' 300000 .*o.bin' "$work/batch.out"
ok_one "sftp put" o.bin o.bin
ok_one "sftp put -p (times set before CLOSE)" o-p.bin o.bin
printf 'reput %s /outbox/o.bin\n' "$work/o.bin" > "$work/batch"
sftp_batch
tap_check "sftp reput onto a sent file fails" test $? -ne 0
tap_eq "reput: still one transfer" 1 "$(ob_transfers o.bin)"
mk t.bin 200000
before=$(ob_requests initialize)
cat > "$work/batch" <<B
put $work/t.bin /outbox/t.bin.filepart
ls -l /outbox/t.bin.filepart
rename /outbox/t.bin.filepart /outbox/t.bin
B
sftp_batch
tap_eq "WinSCP habit: put NAME.filepart, rename to NAME: exit 0" 0 $?
tap_check "the temporary file is listed with its size before the rename" grep -q ' 200000 .*t.bin.filepart' "$work/batch.out"
ok_one "temp name + rename" t.bin t.bin
tap_eq "nothing was ever sent under the temporary name" 0 "$(ob_transfers t.bin.filepart)"
tap_eq "exactly one initialize for it" $((before + 1)) "$(ob_requests initialize)"
mk h.bin 150000
printf 'put %s /hs/h.bin\n' "$work/h.bin" > "$work/batch"
sftp_batch
tap_eq "HiddenStores (.in.NAME. then rename by ProFTPD): exit 0" 0 $?
ok_one "HiddenStores" h.bin h.bin
tap_eq "nothing under the hidden name" 0 "$(ob_transfers .in.h.bin.)"
ob_fault '{"endpoint":"upload","status":403,"count":1}'
printf 'put %s /hs/h-refused.bin\n' "$work/h.bin" > "$work/batch"
sftp_batch
tap_check "HiddenStores, Broker refuses: sftp fails" test $? -ne 0
none "HiddenStores refused" h-refused.bin

printf 'put %s /outbox/orphan.bin.filepart\n' "$work/t.bin" > "$work/batch"
sftp_batch
tap_eq "a temporary name never renamed: the CLOSE succeeds" 0 $?
for _ in $(seq 1 50); do grep -q 'orphan.bin.filepart (200000 bytes) was never renamed' "$log" && break; sleep 0.1; done
tap_check "at the session's end the log says it was never renamed and nothing was sent" \
  grep -q 'session ended: /outbox/orphan.bin.filepart (200000 bytes) was never renamed from its temporary name; nothing was sent' "$log"
tap_eq "and nothing was" 0 "$(ob_q "len([t for t in d['transfers'] if t['fileName'].startswith('orphan')])")"

# --- curl (libssh2) -------------------------------------------------------------
curl_url="sftp://127.0.0.1:$GW_SFTP_PORT"
mk c.bin 120000
curl -sS -k -u "$GW_USER:$GW_PASSWORD" -T "$work/c.bin" "$curl_url/outbox/c.bin" > "$work/c.out" 2>&1
tap_eq "curl sftp:// upload exits 0" 0 $?
ok_one "curl" c.bin c.bin
# curl ignores a failed CLOSE (libssh2); the recipe: temp name + rename in a post-quote
curl -sS -k -u "$GW_USER:$GW_PASSWORD" -T "$work/c.bin" "$curl_url/outbox/c2.bin.filepart" \
  -Q "-rename /outbox/c2.bin.filepart /outbox/c2.bin" > "$work/c2.out" 2>&1
tap_eq "curl upload to NAME.filepart + post-quote rename exits 0" 0 $?
ok_one "curl + rename" c2.bin c.bin
ob_fault '{"endpoint":"upload","status":403,"count":1}'
curl -sS -k -u "$GW_USER:$GW_PASSWORD" -T "$work/c.bin" "$curl_url/outbox/c3.bin.filepart" \
  -Q "-rename /outbox/c3.bin.filepart /outbox/c3.bin" > "$work/c3.out" 2>&1
tap_eq "curl + rename, Broker refuses: curl exits 21 (quote command failed)" 21 $?
none "curl + rename refused" c3.bin

# --- lftp (sftp:// over ssh) ---------------------------------------------------
lftp_sftp() {
  lftp -u "$GW_USER," -e "set sftp:connect-program 'ssh -a -x -i $GW_DIR/client/id_ed25519 \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR'; \
    set cmd:fail-exit true; set net:max-retries 1; $1; bye" "sftp://127.0.0.1:$GW_SFTP_PORT" > "$work/lftp.out" 2>&1
}
mk l.bin 130000
lftp_sftp "put $work/l.bin -o /outbox/l.bin"
tap_eq "lftp put exits 0" 0 $?
ok_one "lftp" l.bin l.bin
lftp_sftp "set xfer:use-temp-file yes; put $work/l.bin -o /outbox/l-temp.bin"
tap_eq "lftp put with xfer:use-temp-file (.in.NAME, rename) exits 0" 0 $?
ok_one "lftp temp file" l-temp.bin l.bin
ob_fault '{"endpoint":"upload","status":403,"count":1}'
lftp_sftp "put $work/l.bin -o /outbox/l-refused.bin"
tap_check "lftp put, Broker refuses: exit non-zero" test $? -ne 0
tap_check "lftp shows the CLOSE error" grep -q 'Permission denied' "$work/lftp.out"
none "lftp refused" l-refused.bin

# --- rclone (sftp backend, configured from the environment) --------------------
mk r.bin 140000
rclone_run() {
  RCLONE_CONFIG=/dev/null RCLONE_CONFIG_GW_TYPE=sftp RCLONE_CONFIG_GW_HOST=127.0.0.1 \
  RCLONE_CONFIG_GW_PORT="$GW_SFTP_PORT" RCLONE_CONFIG_GW_USER="$GW_USER" \
  RCLONE_CONFIG_GW_KEY_FILE="$GW_DIR/client/id_ed25519" \
    rclone copyto "$work/r.bin" "gw:$1" --retries 1 --low-level-retries 1 > "$work/rclone.out" 2>&1
}
rclone_run /outbox/r.bin
tap_eq "rclone copyto exits 0" 0 $?
ok_one "rclone" r.bin r.bin
ob_fault '{"endpoint":"upload","status":403,"count":1}'
rclone_run /outbox/r-refused.bin
tap_check "rclone copyto, Broker refuses: exit non-zero" test $? -ne 0
tap_check "rclone reports the failed close" grep -q 'Close failed: permission denied' "$work/rclone.out"
none "rclone refused" r-refused.bin

# --- paramiko: out-of-order writes, temp name checked step by step -------------
mk p.bin 400000
mk pt.bin 100000
"$GW_PY" - "$GW_SFTP_PORT" "$GW_USER" "$GW_DIR/client/id_ed25519" "$work" \
  "https://127.0.0.1:$GW_EMU_PORT/_emulator/state" "$GW_DIR/emu/ca.pem" > "$work/pm.out" 2>&1 <<'PY'
import json, ssl, sys, urllib.request
import paramiko
port, user, keyfile, work, state_url, ca = sys.argv[1:7]
def names():
    ctx = ssl.create_default_context(cafile=ca)
    d = json.load(urllib.request.urlopen(state_url, context=ctx))
    return [t["fileName"] for t in d["transfers"]]
t = paramiko.Transport(("127.0.0.1", int(port)))
t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile))
s = paramiko.SFTPClient.from_transport(t)
data = open(work + "/p.bin", "rb").read()
f = s.open("/outbox/p.bin", "wb")
blocks = list(range(0, len(data), 32768))
for off in reversed(blocks):               # last block first
    f.seek(off)
    f.write(data[off:off + 32768])
f.close()
print("ooo size", s.stat("/outbox/p.bin").st_size)
s.putfo(open(work + "/pt.bin", "rb"), "/outbox/pt.bin.filepart")
print("temp sent", "pt.bin.filepart" in names() or "pt.bin" in names())
s.rename("/outbox/pt.bin.filepart", "/outbox/pt.bin")
print("after rename", "pt.bin" in names())
s.close(); t.close()
PY
tap_check "paramiko: out-of-order writes, stat shows the size" grep -q '^ooo size 400000$' "$work/pm.out"
ok_one "paramiko out of order" p.bin p.bin
tap_check "out-of-order bytes were hashed by reading back only what arrived early" \
  grep -q 'sent /outbox/p.bin: .*md5-reread=[1-9]' "$log"
tap_check "paramiko: CLOSE of NAME.filepart sends nothing" grep -q '^temp sent False$' "$work/pm.out"
tap_check "paramiko: the rename sends it" grep -q '^after rename True$' "$work/pm.out"
ok_one "paramiko temp + rename" pt.bin pt.bin

# --- our libssh probe: what other clients hide ---------------------------------
mk x.bin 300000
ob_probe put "$work/x.bin" /outbox/x-rev.bin reverse > "$work/x1.out" 2>&1
tap_eq "probe: blocks written in reverse order, CLOSE ok" 0 $?
ok_one "probe reverse order" x-rev.bin x.bin
ob_probe stat /outbox/x-rev.bin > "$work/x2.out" 2>&1
ob_probe append "$work/x.bin" /outbox/x-app.bin > "$work/x3.out" 2>&1
tap_check "probe: OPEN with APPEND is refused (Permission denied)" \
  grep -q 'status=error step=open.*Permission denied' "$work/x3.out"
inits=$(ob_requests initialize)
ob_probe resume "$work/x.bin" /outbox/x-res.bin 65536 > "$work/x4.out" 2>&1
tap_check "probe: a resume that never sends the start fails at CLOSE" grep -q 'status=error step=close' "$work/x4.out"
tap_check "the log says which bytes never arrived" grep -q 'upload of /outbox/x-res.bin failed.*bytes from offset 0 on were never written' "$log"
tap_eq "resume: nothing initialized, nothing published" "$inits 0" "$(ob_requests initialize) $(ob_transfers x-res.bin)"
ob_fault '{"endpoint":"upload","status":500,"count":50}'
ob_probe put "$work/x.bin" /outbox/x-500.bin > "$work/x5.out" 2>&1
tap_check "probe: raw CLOSE status after the Broker kept failing is an error" \
  grep -q 'status=error step=close sftp=4 msg=SFTP server: Input/output error' "$work/x5.out"
ob_fault '{"clear":true}'
none "probe 500s" x-500.bin
for f in x-abort.bin x-abort-tus.bin; do
  size=300000; [ "$f" = x-abort-tus.bin ] && size=3000000
  mk "$f" "$size"
  ob_probe abort "$work/$f" "/outbox/$f" $((size / 2)) > "$work/$f.out" 2>&1
  for _ in $(seq 1 50); do grep -q "transfer upload aborted: .*file=\"$f\"" "$log" && break; sleep 0.1; done
  tap_check "probe vanishes mid-upload ($size bytes): the gateway discards the spool" \
    grep -q "transfer upload aborted: .*file=\"$f\"" "$log"
  tap_eq "vanished mid-upload: no transfer at all" 0 "$(ob_transfers "$f")"
done

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in batch.out lftp.out rclone.out pm.out x1.out x4.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  tail -n 40 "$log" | tap_diag
fi
tap_done
