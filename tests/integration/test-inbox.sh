#!/bin/sh
# The inbox end to end, as legacy systems use it: files the partner
# organisation sends through the Broker appear in /inbox, and real clients
# (OpenSSH sftp, curl, lftp, rclone, paramiko) list, get and rm them.
# Checked each time on both sides: the bytes and the Broker's record.
#   - an empty inbox lists nothing and is not an error;
#   - every client gets identical bytes and its rm confirms (once);
#   - two files with one name get distinct names, each with its own bytes;
#   - a partial read or a download the Broker breaks off is never confirmed;
#   - a batch job looping ls/get/rm while the partner keeps sending, with
#     the emulator enforcing Altinn's rate limits: every file received
#     exactly once, each listed within 5 s of being published, no HTTP 429;
#   - 150 transfers (more than one search page) learned at Altinn's limits,
#     and 5,000 with the limits lifted, all listed;
#   - a file the Broker purges while it is listed leaves the listing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-inbox.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" > /dev/null
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
log="$GW_DIR/log/altinn-broker.log"

state() { gw_emu GET /_emulator/state; }
# recipient_status NAME: our status on the transfer called NAME (first one).
recipient_status() {
  state | gw_json "([r['status'] for t in d['transfers'] if t['fileName']=='$1' for r in t['recipients']] or ['none'])[0]"
}
# confirmations NAME: how many transfers called NAME we confirmed.
confirmations() {
  state | gw_json "len([t for t in d['transfers'] if t['fileName']=='$1' and t['recipients'][0]['status']=='DownloadConfirmed'])"
}
listing() { gw_inbox_names; }
wait_listed() {
  for _ in $(seq 1 "$((${2:-20} * 5))"); do gw_inbox_lists "$1" && return 0; sleep 0.2; done
  return 1
}
# wait_count PREFIX N SECONDS: lists every second until N names start with
# PREFIX or SECONDS passed; prints how many did.
wait_count() {
  _n=0
  for _ in $(seq 1 "$3"); do
    _n=$(listing | grep -c "^$1")
    [ "$_n" -ge "$2" ] && break
    sleep 1
  done
  echo "$_n"
}
mk() { head -c "$2" /dev/urandom > "$work/$1"; }
md5() { md5sum < "$1" | cut -d' ' -f1; }
send() { gw_partner send /outbox "$work/$1" "$2" > /dev/null 2>&1; }
seed() {
  "$GW_PY" "$top_srcdir/tests/bench/seed-transfers.py" --partner-conf "$GW_DIR/partner.conf" \
    --emulator "https://127.0.0.1:$GW_EMU_PORT" --ca "$GW_DIR/emu/ca.pem" --recipient "0192:$GW_ORG" "$@"
}

# --- an empty inbox ------------------------------------------------------------
printf 'ls -l /inbox\n' > "$work/ls-l.batch"
gw_sftp "$work/ls-l.batch" > "$work/empty.out" 2>&1
tap_eq "ls of an empty inbox exits 0" 0 $?
tap_eq "and lists nothing" 0 "$(grep -vc '^sftp>' "$work/empty.out")"

# --- every client: get identical bytes, rm confirms ------------------------------
for c in sftp curl lftp rclone paramiko; do mk "c-$c.bin" $((300000 + ${#c} * 1000)); send "c-$c.bin" "c-$c.bin"; done
wait_listed c-paramiko.bin 30
gw_sftp "$work/ls-l.batch" > "$work/ls-l.out" 2>&1
tap_check "ls -l shows each file with its exact size" \
  grep -q " $(stat -c %s "$work/c-sftp.bin") .*c-sftp.bin" "$work/ls-l.out"

printf 'get /inbox/c-sftp.bin %s/got-sftp.bin\nrm /inbox/c-sftp.bin\n' "$work" > "$work/sftp.batch"
gw_sftp "$work/sftp.batch" > "$work/sftp.out" 2>&1
tap_eq "OpenSSH sftp: get + rm exit 0" 0 $?

curl -sS -k -u "$GW_USER:$GW_PASSWORD" -o "$work/got-curl.bin" "sftp://127.0.0.1:$GW_SFTP_PORT/inbox/c-curl.bin" > "$work/curl.out" 2>&1 &&
  curl -sS -k -u "$GW_USER:$GW_PASSWORD" -Q "rm /inbox/c-curl.bin" "sftp://127.0.0.1:$GW_SFTP_PORT/" -o /dev/null >> "$work/curl.out" 2>&1
tap_eq "curl sftp://: download + rm (quote) exit 0" 0 $?

lftp -u "$GW_USER," -e "set sftp:connect-program 'ssh -a -x -i $GW_DIR/client/id_ed25519 \
  -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR'; \
  set cmd:fail-exit true; set net:max-retries 1; get /inbox/c-lftp.bin -o $work/got-lftp.bin; rm /inbox/c-lftp.bin; bye" \
  "sftp://127.0.0.1:$GW_SFTP_PORT" > "$work/lftp.out" 2>&1
tap_eq "lftp: get + rm exit 0" 0 $?

rclone_gw() {
  RCLONE_CONFIG=/dev/null RCLONE_CONFIG_GW_TYPE=sftp RCLONE_CONFIG_GW_HOST=127.0.0.1 \
  RCLONE_CONFIG_GW_PORT="$GW_SFTP_PORT" RCLONE_CONFIG_GW_USER="$GW_USER" \
  RCLONE_CONFIG_GW_KEY_FILE="$GW_DIR/client/id_ed25519" rclone "$@" --retries 1 --low-level-retries 1
}
rclone_gw copyto gw:/inbox/c-rclone.bin "$work/got-rclone.bin" > "$work/rclone.out" 2>&1 &&
  rclone_gw deletefile gw:/inbox/c-rclone.bin >> "$work/rclone.out" 2>&1
tap_eq "rclone: copyto + deletefile exit 0" 0 $?

# paramiko: a whole read, then one of 1000 bytes of another file.
mk partial.bin 400000
send partial.bin partial.bin
wait_listed partial.bin 20
"$GW_PY" - "$GW_SFTP_PORT" "$GW_USER" "$GW_DIR/client/id_ed25519" "$work" > "$work/pm.out" 2>&1 <<'PY'
import sys
import paramiko
port, user, keyfile, work = sys.argv[1:5]
t = paramiko.Transport(("127.0.0.1", int(port)))
t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(keyfile))
s = paramiko.SFTPClient.from_transport(t)
s.get("/inbox/c-paramiko.bin", work + "/got-paramiko.bin")
s.remove("/inbox/c-paramiko.bin")
print("whole ok")
f = s.open("/inbox/partial.bin", "rb")
f.read(1000)
f.close()
try:
    s.remove("/inbox/partial.bin")
    print("partial rm ok")
except IOError as e:
    print("partial rm refused:", e)
t.close()
PY
tap_check "paramiko: get + remove" grep -q 'whole ok' "$work/pm.out"
for c in sftp curl lftp rclone paramiko; do
  tap_eq "$c: identical bytes" "$(md5 "$work/c-$c.bin")" "$(md5 "$work/got-$c.bin" 2>/dev/null)"
  tap_eq "$c: its rm confirmed the download once" 1 "$(confirmations "c-$c.bin")"
done
left=$(listing | grep -c '^c-')
tap_eq "the confirmed files left the listing" 0 "$left"

# --- a partial read is never confirmed ----------------------------------------
tap_check "rm after reading 1000 of 400000 bytes is refused" grep -q 'partial rm refused' "$work/pm.out"
tap_check "the log says why" grep -q 'partial.bin.*has not been downloaded whole' "$log"
tap_eq "and the Broker has no confirmation" DownloadStarted "$(recipient_status partial.bin)"
printf 'get /inbox/partial.bin %s/got-partial.bin\nrm /inbox/partial.bin\n' "$work" > "$work/partial.batch"
gw_sftp "$work/partial.batch" > /dev/null 2>&1
tap_eq "after a whole get, rm confirms it" "0 DownloadConfirmed" "$? $(recipient_status partial.bin)"

# --- a download the Broker breaks off ------------------------------------------
mk broken.bin 3000000
send broken.bin broken.bin
wait_listed broken.bin 20
gw_emu POST /_emulator/faults '{"endpoint":"download","kind":"truncate","afterBytes":1000000,"count":1}' > /dev/null
printf 'get /inbox/broken.bin %s/got-broken.bin\n' "$work" > "$work/broken.batch"
gw_sftp "$work/broken.batch" > "$work/broken.out" 2>&1
tap_check "a download the Broker cuts off after 1 MB fails at the client (exit $?)" test $? -ne 0
printf 'rm /inbox/broken.bin\n' > "$work/broken-rm.batch"
gw_sftp "$work/broken-rm.batch" > /dev/null 2>&1
tap_check "rm of it is refused" test $? -ne 0
tap_eq "and nothing was confirmed" DownloadStarted "$(recipient_status broken.bin)"
gw_emu POST /_emulator/faults '{"clear":true}' > /dev/null
printf 'get /inbox/broken.bin %s/got-broken.bin\nrm /inbox/broken.bin\n' "$work" > "$work/broken2.batch"
gw_sftp "$work/broken2.batch" > /dev/null 2>&1
tap_eq "the next get has every byte, and rm confirms" "0 $(md5 "$work/broken.bin") DownloadConfirmed" \
  "$? $(md5 "$work/got-broken.bin") $(recipient_status broken.bin)"

# --- one name, three files --------------------------------------------------------
mk same1.xml 1001; mk same2.xml 1002; mk same3.xml 1003
send same1.xml report.xml; send same2.xml report.xml; send same3.xml Report.xml
ids=$(state | gw_json "' '.join(t['fileTransferId'] for t in d['transfers'] if t['fileName'].lower()=='report.xml')")
set -- $ids
for _ in $(seq 1 100); do [ "$(listing | grep -ci '^report')" -ge 3 ] && break; sleep 0.2; done
names=$(listing | grep -i '^report' | sort | tr '\n' ' ')
tap_eq "three transfers named report.xml / Report.xml get three names" \
  "$(printf '%s\n' report.xml "report~$(echo "$2" | cut -c1-8).xml" "Report~$(echo "$3" | cut -c1-8).xml" | sort | tr '\n' ' ')" "$names"
i=1
for n in report.xml "report~$(echo "$2" | cut -c1-8).xml" "Report~$(echo "$3" | cut -c1-8).xml"; do
  printf 'get "/inbox/%s" %s/got-same%d.xml\n' "$n" "$work" "$i" > "$work/same.batch"
  gw_sftp "$work/same.batch" > /dev/null 2>&1
  tap_eq "$n has its own transfer's bytes" "$(md5 "$work/same$i.xml")" "$(md5 "$work/got-same$i.xml" 2>/dev/null)"
  i=$((i + 1))
done

# --- a batch job while the partner keeps sending (Altinn's rate limits on) ------
rl0=$(state | gw_json 'd["rateLimited"]')
mkdir -p "$work/batch-src" "$work/batch-got"
n_batch=12
for i in $(seq 1 $n_batch); do head -c $((20000 + i)) /dev/urandom > "$work/batch-src/b$i.dat"; done
(
  for i in $(seq 1 $n_batch); do
    gw_partner send /outbox "$work/batch-src/b$i.dat" "b$i.dat" > /dev/null 2>&1
    sleep 0.5
  done
) &
sender=$!
# The job: every second a new session lists, gets and removes what is there.
end=$(($(date +%s) + 90))
while [ "$(date +%s)" -lt "$end" ]; do
  now=$(date +%s.%N)
  for n in $(listing | grep '^b[0-9]*\.dat$'); do
    [ -f "$work/batch-got/$n.seen" ] || echo "$now" > "$work/batch-got/$n.seen"
    printf 'get /inbox/%s %s/batch-got/%s\nrm /inbox/%s\n' "$n" "$work" "$n" "$n" > "$work/job.batch"
    if gw_sftp "$work/job.batch" > /dev/null 2>&1; then
      echo x >> "$work/batch-got/$n.count"
    fi
  done
  [ "$(ls "$work/batch-got"/*.count 2>/dev/null | wc -l)" -ge $n_batch ] && ! kill -0 "$sender" 2>/dev/null && break
  sleep 1
done
wait "$sender"
got=0; twice=0; wrong=0
for i in $(seq 1 $n_batch); do
  f="$work/batch-got/b$i.dat"
  [ -f "$f.count" ] && got=$((got + 1))
  [ "$(wc -l < "$f.count" 2>/dev/null || echo 0)" -gt 1 ] && twice=$((twice + 1))
  [ -f "$f" ] && [ "$(md5 "$f")" != "$(md5 "$work/batch-src/b$i.dat")" ] && wrong=$((wrong + 1))
done
tap_eq "the batch job received all $n_batch files" $n_batch "$got"
tap_eq "none twice, none with other bytes" "0 0" "$twice $wrong"
tap_eq "each confirmed once on the Broker" $n_batch \
  "$(state | gw_json "len([t for t in d['transfers'] if t['fileName'].startswith('b') and t['fileName'].endswith('.dat') and t['recipients'][0]['status']=='DownloadConfirmed'])")"
# Seen (the first listing that had it, which the job takes every second)
# minus published, per file.
state > "$work/batch-state.json"
lag=$("$GW_PY" - "$work/batch-state.json" "$work/batch-got" <<'PY'
import json, sys, os
from datetime import datetime
d = json.load(open(sys.argv[1]))
worst = 0.0
for t in d["transfers"]:
    n = t["fileName"]
    p = os.path.join(sys.argv[2], n + ".seen")
    if not (n.startswith("b") and n.endswith(".dat") and os.path.exists(p)):
        continue
    pub = datetime.fromisoformat(t["published"].replace("Z", "+00:00")).timestamp()
    worst = max(worst, float(open(p).read()) - pub)
print("%.1f" % worst)
PY
)
tap_check "every file was listed within 5 s of being published (worst ${lag} s, listing every ~1 s)" \
  awk -v l="$lag" 'BEGIN{exit !(l <= 5.0)}'
tap_eq "the Broker answered no request with 429" 0 $(($(state | gw_json 'd["rateLimited"]') - rl0))

# --- 150 transfers: more than one search page, at Altinn's rate limits ----------
seed --count 150 --prefix page --size 100 > "$work/seed150.out" 2>&1
tap_check "150 transfers seeded" grep -q 'seeded=150' "$work/seed150.out"
rl0=$(state | gw_json 'd["rateLimited"]')
n=$(wait_count page- 150 150)
tap_eq "all 150 are listed (learned at Altinn's 120 overviews a minute)" 150 "$n"
tap_eq "with no 429 from the Broker" 0 $(($(state | gw_json 'd["rateLimited"]') - rl0))

# --- 5,000 transfers, the rate limits lifted ----------------------------------------
gw_emu POST /_emulator/knobs '{"rateLimits":false}' > /dev/null
kill "$GW_FTPD_PID"; wait "$GW_FTPD_PID" 2>/dev/null
echo 'AltinnBrokerRateLimit overview=1000000 search=1000000 details=1000000 download=1000000 confirmdownload=1000000' >> "$GW_DIR/proftpd.conf"
for _ in $(seq 1 100); do ss -ltn | grep -q "127.0.0.1:$GW_SFTP_PORT " || break; sleep 0.05; done
gw_start_proftpd
seed --count 5000 --prefix many --size 10 > "$work/seed5000.out" 2>&1
tap_check "5,000 more transfers seeded ($(cat "$work/seed5000.out"))" grep -q 'seeded=5000' "$work/seed5000.out"
n=$(wait_count many- 5000 120)
tap_eq "all 5,000 are listed" 5000 "$n"
t0=$(date +%s%N)
total=$(listing | wc -l)
t1=$(date +%s%N)
echo "# a whole session listing $total entries: $(( (t1 - t0) / 1000000 )) ms (login included)"
printf 'get /inbox/many-04999.txt %s/got-many.txt\nrm /inbox/many-04999.txt\n' "$work" > "$work/many.batch"
gw_sftp "$work/many.batch" > /dev/null 2>&1
tap_eq "the last of them downloads and is confirmed" "0 DownloadConfirmed" "$? $(recipient_status many-04999.txt)"

# --- purged while listed ---------------------------------------------------------------
mk purge.bin 5000
send purge.bin will-expire.bin
wait_listed will-expire.bin 20
# The resource keeps files 30 days: past that the Broker expires and purges them.
gw_emu POST /_emulator/clock '{"advance":"P31D"}' > /dev/null
gone=no
for _ in $(seq 1 60); do gw_inbox_lists will-expire.bin || { gone=yes; break; }; sleep 1; done
tap_eq "a file the Broker purged leaves the listing" yes "$gone"
tap_eq "(the Broker shows it purged)" Purged \
  "$(state | gw_json "([t['status'] for t in d['transfers'] if t['fileName']=='will-expire.bin'] or ['none'])[0]")"
tap_check "ProFTPD is still running" kill -0 "$GW_FTPD_PID"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in "$work"/*.out; do echo "--- $f"; tail -n 5 "$f"; done | tap_diag
  grep -v 'debug: stat' "$log" | tail -n 40 | tap_diag
fi
tap_done
