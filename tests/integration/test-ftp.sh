#!/bin/sh
# The same mounts over FTP and FTPS (explicit AUTH TLS, mod_tls): ProFTPD
# serves them through the same FSIO handlers as SFTP, but mod_xfer drives
# them differently (CWD + relative names, sendfile for downloads, one close
# for complete and aborted uploads). Clients: curl, lftp, and Python's
# ftplib for what the others cannot do (ABOR, a reset data connection).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/ftp-env.sh"

work=$(mktemp -d /tmp/ab-ftp.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
ftp_port=$(gw_free_port)
FTP_DEFAULT_ROOT="~" ftp_extra_conf "$work/ftp.conf" "$ftp_port"
gw_setup "$work/gw" "$work/ftp.conf"
ftp_fix_paths
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "ProFTPD serves SFTP and FTP/FTPS with mod_altinn_broker"
ca=$GW_DIR/emu/ca.pem
url="ftp://$GW_USER:$GW_PASSWORD@127.0.0.1:$ftp_port"
state() { gw_emu GET /_emulator/state; }
# named NAME EXPR: EXPR over the list of transfers named NAME (as d).
named() { state | gw_json "[t for t in d['transfers'] if t['fileName']=='$1']" | gw_json "$2"; }
lftp_run() {
  lftp -u "$GW_USER,$GW_PASSWORD" -e "set ftp:ssl-force true; set ftp:ssl-protect-data true; \
    set ssl:ca-file $ca; set net:max-retries 1; set cmd:fail-exit true; $1; bye" "ftp://127.0.0.1:$ftp_port"
}

head -c 1500000 /dev/urandom > "$work/a.bin"
md5=$(md5sum < "$work/a.bin" | cut -d' ' -f1)

# --- Uploads ------------------------------------------------------------
curl -sS -T "$work/a.bin" "$url/outbox/curl-ftp.bin" > "$work/c1.out" 2>&1
tap_eq "curl FTP upload exits 0" 0 $?
tap_eq "one Published transfer with the file's MD5" "[['Published', '$md5']]" \
  "$(named curl-ftp.bin "[[t['status'], t['storedMd5']] for t in d]" | tr '"' "'")"
curl -sS --ssl-reqd --cacert "$ca" -T "$work/a.bin" "$url/outbox/curl-ftps.bin" > "$work/c2.out" 2>&1
tap_eq "curl FTPS upload exits 0" 0 $?
tap_eq "one Published transfer" 1 "$(named curl-ftps.bin "len([t for t in d if t['status']=='Published'])")"
lftp_run "cd /outbox; put $work/a.bin -o lftp.bin" > "$work/l1.out" 2>&1
tap_eq "lftp FTPS upload (after cd) exits 0" 0 $?
tap_eq "one Published transfer" 1 "$(named lftp.bin "len([t for t in d if t['status']=='Published'])")"
tap_check "nothing landed on the real disk" test -z "$(ls -A "$GW_DIR/home/$GW_USER")"

# --- Downloads and confirm ---------------------------------------------
gw_partner send /outbox "$work/a.bin" for-ftp.bin >/dev/null 2>&1
curl -sS "$url/inbox/" > "$work/list.out" 2>&1
tap_check "FTP LIST of /inbox shows the file with its size" grep -q ' 1500000 .*for-ftp.bin' "$work/list.out"
curl -sS -o "$work/got-ftp.bin" "$url/inbox/for-ftp.bin" > "$work/c3.out" 2>&1
tap_eq "curl FTP download exits 0" 0 $?
tap_check "with identical bytes (not sendfile from a placeholder)" cmp -s "$work/a.bin" "$work/got-ftp.bin"
curl -sS --ssl-reqd --cacert "$ca" -o "$work/got-ftps.bin" "$url/inbox/for-ftp.bin" > "$work/c4.out" 2>&1
tap_check "curl FTPS download gets identical bytes" cmp -s "$work/a.bin" "$work/got-ftps.bin"
lftp_run "get /inbox/for-ftp.bin -o $work/got-lftp.bin; rm /inbox/for-ftp.bin" > "$work/l2.out" 2>&1
tap_eq "lftp FTPS get + rm exits 0" 0 $?
tap_check "with identical bytes" cmp -s "$work/a.bin" "$work/got-lftp.bin"
tap_eq "rm (DELE) confirmed the download" DownloadConfirmed \
  "$(named for-ftp.bin "d[0]['recipients'][0]['status']")"
gw_partner send /outbox "$work/a.bin" unread.bin >/dev/null 2>&1
curl -sS -Q "DELE /inbox/unread.bin" "$url/" > "$work/c5.out" 2>&1
tap_check "DELE of a file never downloaded fails" test $? -ne 0
tap_eq "and confirms nothing" Initialized "$(named unread.bin "d[0]['recipients'][0]['status']")"

# --- A Broker refusal fails the STOR ------------------------------------
gw_emu POST /_emulator/faults '{"endpoint":"upload","status":403,"count":1}' >/dev/null
curl -sS -v -T "$work/a.bin" "$url/outbox/refused.bin" > "$work/c6.out" 2>&1
tap_check "curl's upload fails when the Broker refuses it" test $? -ne 0
tap_check "the STOR reply is 550 with the Broker's reason" \
  grep -q '^< 550-.*upload of /outbox/refused.bin failed.*HTTP 403' "$work/c6.out"
gw_emu POST /_emulator/faults '{"endpoint":"upload","status":403,"count":1}' >/dev/null
lftp_run "put $work/a.bin -o /outbox/refused2.bin" > "$work/l3.out" 2>&1
tap_check "lftp's upload fails too" test $? -ne 0
tap_eq "nothing of either was published" 0 \
  "$(state | gw_json "len([t for t in d['transfers'] if t['fileName'].startswith('refused') and t['status']=='Published'])")"

# --- Aborted uploads are discarded, never sent ----------------------------
cat > "$work/abort.py" <<'PY'
import ftplib, socket, struct, sys, time
port, mode, name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ftp = ftplib.FTP(timeout=10)
ftp.connect('127.0.0.1', port)
ftp.login(sys.argv[4], sys.argv[5])
ftp.voidcmd('TYPE I')
conn = ftp.transfercmd('STOR ' + name)
conn.sendall(b'x' * 200000)
time.sleep(0.3)
if mode == 'abor':
    print(ftp.abort())
    conn.close()
else:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    conn.close()
    try:
        print(ftp.getresp())
    except ftplib.Error as e:
        print(e)
ftp.close()
PY
for mode in abor reset; do
  "$GW_PY" "$work/abort.py" "$ftp_port" $mode "/outbox/$mode.bin" "$GW_USER" "$GW_PASSWORD" > "$work/$mode.out" 2>&1
  tap_check "an upload ended by $mode is answered 426" grep -q '^426' "$work/$mode.out"
  tap_eq "and the Broker never heard of it" 0 "$(named $mode.bin 'len(d)')"
  tap_check "the gateway log says it was discarded" grep -q "transfer upload aborted: user=$GW_USER mount=/outbox file=\"$mode.bin\"" "$GW_DIR/log/altinn-broker.log"
done

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in c1.out c2.out l1.out c3.out l2.out c6.out l3.out abor.out reset.out; do
    echo "--- $f"; cat "$work/$f" 2>/dev/null; done | tap_diag
  tail -n 30 "$GW_DIR/log/altinn-broker.log" "$GW_DIR/log/proftpd.out" 2>/dev/null | tap_diag
fi
tap_done
