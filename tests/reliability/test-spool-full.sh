#!/bin/sh
# The spool disk fills up: uploads are spooled to AltinnBrokerSpoolDir, here
# a 3 MB tmpfs. A file that does not fit fails at the client with a clear
# error (ENOSPC), and nothing of it is published - not even what fitted;
# the space comes back at once (spool files have no name); of two uploads
# that do not fit together, each client is told the truth; downloads do not
# need the spool at all. Needs root (mount).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

work=$(mktemp -d /tmp/ab-spool-full.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; umount "$GW_DIR/spool" 2>/dev/null; rm -rf "$work"' EXIT
gw_setup "$work/gw" >/dev/null
if ! mount -t tmpfs -o size=3m,mode=1733 tmpfs "$GW_DIR/spool" 2>"$work/mount.err"; then
  tap_skip "spool disk full" "cannot mount a tmpfs here ($(cat "$work/mount.err")); needs root"
  tap_done; exit 0
fi
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
used_kb() { df -k --output=used "$GW_DIR/spool" | tail -n 1 | tr -d ' '; }
for n in 1 2 5; do head -c $((n * 1048576)) /dev/urandom > "$work/f${n}m.bin"; done
md5_1m=$(md5sum < "$work/f1m.bin" | cut -d' ' -f1)
md5_2m=$(md5sum < "$work/f2m.bin" | cut -d' ' -f1)
# The partner (the admin CLI) spools in the same directory: send first.
gw_partner send /outbox "$work/f1m.bin" incoming.bin >/dev/null 2>&1

# --- a file larger than the spool --------------------------------------------
uploads() { gw_emu GET /_emulator/state | gw_json 'd["requests"].get("upload", 0) + d["requests"].get("tus_create", 0)'; }
uploads_before=$(uploads)
printf 'put %s /outbox/too-big.bin\n' "$work/f5m.bin" > "$work/big.batch"
gw_sftp "$work/big.batch" > "$work/big.out" 2>&1
rc=$?
tap_check "a 5 MB put into a 3 MB spool fails (exit $rc)" test $rc -ne 0
tap_check "the client is told why: $(grep -v '^sftp>' "$work/big.out" | head -n 1)" \
  grep -qi "no space\|failure" "$work/big.out"
tap_check "the gateway log says the spool is full" \
  grep -q "cannot write to the spool in .*No space left on device" "$GW_DIR/log/altinn-broker.log"
tap_eq "nothing was initialized or uploaded for it, not even the part that fitted" "none $uploads_before" \
  "$(gw_emu GET /_emulator/state | gw_json '("none" if not [t for t in d["transfers"] if t["fileName"]=="too-big.bin"] else "some")') $(uploads)"
rel_wait_for 5 sh -c "[ \$(df -k --output=used '$GW_DIR/spool' | tail -n 1) -lt 100 ]"
tap_check "the spool is empty again at once ($(used_kb) KB used)" test "$(used_kb)" -lt 100

# --- a file that fits, afterwards ---------------------------------------------
printf 'put %s /outbox/fits.bin\n' "$work/f2m.bin" > "$work/fit.batch"
gw_sftp "$work/fit.batch" > /dev/null 2>&1
tap_eq "a 2 MB put right after works" 0 $?
tap_eq "and is published whole" "Published $md5_2m" \
  "$(gw_emu GET /_emulator/state | gw_json '[t["status"] + " " + str(t["storedMd5"]) for t in d["transfers"] if t["fileName"]=="fits.bin"][0]')"

# --- two uploads that do not fit together --------------------------------------
printf 'put %s /outbox/race-a.bin\n' "$work/f2m.bin" > "$work/ra.batch"
printf 'put %s /outbox/race-b.bin\n' "$work/f2m.bin" > "$work/rb.batch"
(gw_sftp "$work/ra.batch" > /dev/null 2>&1; echo $? > "$work/ra.rc") & pa=$!
(gw_sftp "$work/rb.batch" > /dev/null 2>&1; echo $? > "$work/rb.rc") & pb=$!
wait "$pa" "$pb"
for x in a b; do
  rc=$(cat "$work/r$x.rc")
  st=$(gw_emu GET /_emulator/state | gw_json "([t['status'] + ' ' + str(t['storedMd5']) for t in d['transfers'] if t['fileName']=='race-$x.bin' and t['status']=='Published'] or ['not published'])[0]")
  if [ "$rc" -eq 0 ]; then
    tap_eq "race-$x.bin: the client was told OK and the Broker has it whole" "Published $md5_2m" "$st"
  else
    tap_eq "race-$x.bin: the client was told it failed and nothing was published" "not published" "$st"
  fi
done

# --- the spool full of a held upload: small files wait for nothing ------------
printf "write b'/outbox/hog.bin' 3000000\nhold\n" > "$work/hog.ops"
rel_probe "$work/hog.ops" > "$work/hog.out" 2>&1 &
hog=$!
rel_wait_for 30 grep -qs "OK holding" "$work/hog.out"
printf 'put %s /outbox/while-full.bin\n' "$work/f1m.bin" > "$work/wf.batch"
gw_sftp "$work/wf.batch" > /dev/null 2>&1
rc=$?
tap_check "while another session's upload fills the spool, a 1 MB put fails (exit $rc)" test $rc -ne 0
tap_eq "and is not published" none \
  "$(gw_emu GET /_emulator/state | gw_json '("some" if [t for t in d["transfers"] if t["fileName"]=="while-full.bin"] else "none")')"
rel_wait_listed incoming.bin 20
printf 'get /inbox/incoming.bin %s/got.bin\n' "$work" > "$work/get.batch"
gw_sftp "$work/get.batch" > /dev/null 2>&1
tap_eq "a download works while the spool is full" "0 $md5_1m" "$? $(md5sum < "$work/got.bin" | cut -d' ' -f1)"
rel_kill_sessions >/dev/null
wait "$hog"
rel_wait_for 5 sh -c "[ \$(df -k --output=used '$GW_DIR/spool' | tail -n 1) -lt 100 ]"
tap_check "a dead session's spool space is given back ($(used_kb) KB used)" test "$(used_kb)" -lt 100
tap_eq "the held upload was never published" none \
  "$(gw_emu GET /_emulator/state | gw_json '("some" if [t for t in d["transfers"] if t["fileName"]=="hog.bin"] else "none")')"
if [ "$TAP_FAILED" -ne 0 ]; then
  cat "$work/big.out" | tap_diag
  grep -v 'debug: stat' "$GW_DIR/log/altinn-broker.log" | tail -n 30 | tap_diag
fi
tap_done
