#!/bin/sh
# One real file each way through every layer: OpenSSH sftp -> ProFTPD ->
# mod_altinn_broker -> core -> HTTPS -> emulated Maskinporten + Broker, and
# back. What is asserted is what a user would check: exit codes, bytes,
# checksums, and what the Broker recorded.
# With AB_CHROOT=1 the sessions run chrooted (DefaultRoot ~).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-skeleton.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
extra=
if [ "${AB_CHROOT:-0}" = 1 ]; then
  echo 'DefaultRoot ~' > "$work/extra.conf"; extra="$work/extra.conf"
fi
gw_setup "$work/gw" $extra
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "emulator and ProFTPD with mod_altinn_broker start"

# --- Outbox: put a 12 MB random file --------------------------------------
head -c 12582912 /dev/urandom > "$work/report.bin"
md5=$(md5sum "$work/report.bin" | cut -d' ' -f1)
printf 'put %s /outbox/report.bin\nls -l /outbox\n' "$work/report.bin" > "$work/put.batch"
gw_sftp "$work/put.batch" > "$work/put.out" 2>&1
tap_eq "sftp put into /outbox exits 0" 0 $?
tap_check "stat right after the upload shows the uploaded size" grep -q ' 12582912 .*report.bin' "$work/put.out"


state=$(gw_emu GET /_emulator/state)
n=$(echo "$state" | gw_json 'len([t for t in d["transfers"] if t["fileName"]=="report.bin"])')
tap_eq "the Broker recorded exactly one transfer named report.bin" 1 "$n"
t=$(echo "$state" | gw_json '[t for t in d["transfers"] if t["fileName"]=="report.bin"][0]')
tap_eq "its status is Published" Published "$(echo "$t" | gw_json 'd["status"]')"
tap_eq "its size is 12582912 bytes" 12582912 "$(echo "$t" | gw_json 'd["size"]')"
tap_eq "the stored bytes have the file's MD5" "$md5" "$(echo "$t" | gw_json 'd["storedMd5"]')"
tap_eq "the checksum sent at initialize is the lower-case MD5" "$md5" "$(echo "$t" | gw_json 'd["checksum"]')"
tap_eq "the sender is 0192:$GW_ORG" "0192:$GW_ORG" "$(echo "$t" | gw_json 'd["sender"]')"
tap_eq "the recipient is 0192:$GW_PARTNER_ORG" "[\"0192:$GW_PARTNER_ORG\"]" \
  "$(echo "$t" | gw_json '[r["recipient"] for r in d["recipients"]]')"
tap_check "the sender's reference is not empty" \
  test -n "$(echo "$t" | gw_json 'd.get("sendersFileTransferReference") or ""')"


# --- Inbox: the partner sends us a file ------------------------------------
head -c 5000000 /dev/urandom > "$work/incoming.dat"
in_md5=$(md5sum "$work/incoming.dat" | cut -d' ' -f1)
tap_check "the partner org sends a file with the admin CLI" gw_partner send /outbox "$work/incoming.dat" invoice-42.dat 2>/dev/null
id=$(gw_emu GET /_emulator/state | gw_json '[t["fileTransferId"] for t in d["transfers"] if t["fileName"]=="invoice-42.dat"][0]')

printf 'ls -l /inbox\n' > "$work/ls.batch"
gw_sftp "$work/ls.batch" > "$work/ls.out" 2>&1
tap_check "ls /inbox shows invoice-42.dat with its exact size" grep -q ' 5000000 .*invoice-42.dat' "$work/ls.out"

printf 'get /inbox/invoice-42.dat %s/got.dat\n' "$work" > "$work/get.batch"
gw_sftp "$work/get.batch" > "$work/get.out" 2>&1
tap_eq "sftp get exits 0" 0 $?
tap_eq "the downloaded bytes are identical" "$in_md5" "$(md5sum < "$work/got.dat" | cut -d' ' -f1)"
rs=$(gw_emu GET /_emulator/state | gw_json "[r['status'] for t in d['transfers'] if t['fileTransferId']=='$id' for r in t['recipients']][0]")
tap_eq "the Broker recorded DownloadStarted, not yet confirmed" DownloadStarted "$rs"

printf 'rm /inbox/invoice-42.dat\n' > "$work/rm.batch"
gw_sftp "$work/rm.batch" > "$work/rm.out" 2>&1
tap_eq "sftp rm exits 0" 0 $?
st=$(gw_emu GET /_emulator/state | gw_json "[t for t in d['transfers'] if t['fileTransferId']=='$id'][0]")
tap_eq "rm made the Broker record DownloadConfirmed" DownloadConfirmed "$(echo "$st" | gw_json "d['recipients'][0]['status']")"
tap_eq "the transfer is AllConfirmedDownloaded" AllConfirmedDownloaded "$(echo "$st" | gw_json "d['status']")"
gw_sftp "$work/ls.batch" > "$work/ls2.out" 2>&1
tap_check "the confirmed file left the listing" sh -c "! grep -q invoice-42.dat '$work/ls2.out'"

# --- A file not read whole is never confirmed -------------------------------
gw_partner send /outbox "$work/incoming.dat" unread.dat >/dev/null 2>&1
printf 'rm /inbox/unread.dat\n' > "$work/rm2.batch"
gw_sftp "$work/rm2.batch" > "$work/rm2.out" 2>&1
tap_check "rm of a file never downloaded fails" test $? -ne 0
rs=$(gw_emu GET /_emulator/state | gw_json "[r['status'] for t in d['transfers'] if t['fileName']=='unread.dat' for r in t['recipients']][0]")
tap_eq "and the Broker recorded no confirmation" Initialized "$rs"

# --- An upload the Broker rejects fails the client's CLOSE -----------------
gw_emu POST /_emulator/faults '{"endpoint":"upload","status":403,"count":1}' >/dev/null
head -c 100000 /dev/urandom > "$work/rejected.bin"
printf 'put %s /outbox/rejected.bin\n' "$work/rejected.bin" > "$work/put2.batch"
gw_sftp "$work/put2.batch" > "$work/put2.out" 2>&1
tap_check "sftp put exits non-zero when the Broker refuses the upload" test $? -ne 0
tap_check "sftp reports the failed close" grep -qi 'close remote' "$work/put2.out"
n=$(gw_emu GET /_emulator/state | gw_json "len([t for t in d['transfers'] if t['fileName']=='rejected.bin' and t['status'] in ('Published','UploadProcessing')])")
tap_eq "and nothing named rejected.bin was published" 0 "$n"
tap_check "the gateway log names the cause" grep -q 'upload of /outbox/rejected.bin failed' "$work/gw/log/altinn-broker.log"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in put.out put2.out get.out ls.out rm.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  tail -n 30 "$work/gw/log/altinn-broker.log" "$work/gw/log/proftpd.out" "$work/gw/log/emulator.err" 2>/dev/null | tap_diag
fi
tap_done
