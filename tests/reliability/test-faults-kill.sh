#!/bin/sh
# Faults that kill a process in the middle of a transfer: the ProFTPD
# session (SIGKILL) while the client writes, while the gateway uploads at
# CLOSE, while the client reads; the Broker (the emulator, SIGKILL and a
# restart that forgets everything) during an upload and a download.
# The promise checked each time: the client never sees success for what the
# Broker did not get whole, the Broker never publishes a partial file, and
# nothing is confirmed that was not read whole.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

work=$(mktemp -d /tmp/ab-faults-kill.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" >/dev/null
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
head -c 41943040 /dev/urandom > "$work/f40m.bin"
head -c 8388608 /dev/urandom > "$work/f8m.bin"
md5_8m=$(md5sum < "$work/f8m.bin" | cut -d' ' -f1)
transfer() { # NAME EXPR: EXPR over the transfer named NAME (t), or "none"
  gw_emu GET /_emulator/state | gw_json "([($2) for t in d['transfers'] if t['fileName']=='$1'] or ['none'])[0]"
}
wait_line() { # FILE TEXT SECONDS
  rel_wait_for "$3" grep -q "$2" "$1"
}

# --- A: the session dies while the client is still writing ----------------
printf "write b'/outbox/killed-writing.bin' 8388608\nhold\n" > "$work/a.ops"
rel_probe "$work/a.ops" > "$work/a.out" 2>&1 &
probe_pid=$!
wait_line "$work/a.out" "2 OK holding" 30
inits=$(gw_emu GET /_emulator/state | gw_json 'd["requests"].get("initialize", 0)')
tap_eq "A: one session killed while it held 8 MB of an unfinished upload" 1 "$(rel_kill_sessions)"
wait "$probe_pid"
tap_eq "A: the Broker never heard of the file" none "$(transfer killed-writing.bin 't["status"]')"
tap_eq "A: no initialize was made for it" "$inits" "$(gw_emu GET /_emulator/state | gw_json 'd["requests"].get("initialize", 0)')"

# --- B: the session dies while it uploads to the Broker at CLOSE ------------
# The emulator stops reading after 2 MB, so most of the 40 MB is still in the
# spool when the session dies.
gw_emu POST /_emulator/faults '[{"endpoint":"upload","kind":"stall","afterBytes":2097152,"latencyMs":4000,"count":1},
  {"endpoint":"tus_patch","kind":"stall","afterBytes":2097152,"latencyMs":4000,"count":1}]' >/dev/null
printf 'put %s /outbox/killed-closing.bin\n' "$work/f40m.bin" > "$work/b.batch"
(gw_sftp "$work/b.batch" > "$work/b.out" 2>&1; echo "exit=$?" >> "$work/b.out") &
put_pid=$!
rel_wait_for 30 rel_session_doing CLOSE
sleep 1
tap_eq "B: one session killed in the middle of its CLOSE upload" 1 "$(rel_kill_sessions)"
wait "$put_pid"
tap_check "B: the client's put fails" sh -c "! grep -q 'exit=0' '$work/b.out'"
sleep 5   # past the stall: whatever reached the Broker has been processed
gw_emu POST /_emulator/faults '{"clear":true}' >/dev/null
tap_eq "B: nothing was published from the half-sent upload" none \
  "$(transfer killed-closing.bin 't["status"] if t["status"] in ("Published","UploadProcessing","AllConfirmedDownloaded") else "none"')"

# --- C: the session dies while the client reads ----------------------------
gw_partner send /outbox "$work/f8m.bin" read-killed.bin >/dev/null 2>&1
rel_wait_listed read-killed.bin 20
id=$(transfer read-killed.bin 't["fileTransferId"]')
gw_emu POST /_emulator/faults '{"endpoint":"download","kind":"bandwidth","bytesPerSecond":2000000,"count":1}' >/dev/null
printf "read b'/inbox/read-killed.bin' 2097152\nhold\n" > "$work/c.ops"
rel_probe "$work/c.ops" > "$work/c.out" 2>&1 &
probe_pid=$!
wait_line "$work/c.out" "2 OK holding" 30
tap_eq "C: one session killed after reading 2 of 8 MB" 1 "$(rel_kill_sessions)"
wait "$probe_pid"
gw_emu POST /_emulator/faults '{"clear":true}' >/dev/null
recipient() { transfer "$1" '[r["status"] for r in t["recipients"]][0]'; }
tap_eq "C: the Broker shows the download started, not confirmed" DownloadStarted "$(recipient read-killed.bin)"
printf "remove b'/inbox/read-killed.bin'\nget b'/inbox/read-killed.bin'\nremove b'/inbox/read-killed.bin'\n" > "$work/c2.ops"
rel_probe "$work/c2.ops" > "$work/c2.out" 2>&1
r=$(rel_result 1 "$work/c2.out")
tap_check "C: rm in a new session is refused: the file was never read whole ($r)" test "${r%% *}" = ERR
tap_eq "C: a full download afterwards has every byte" "OK 8388608 $md5_8m" "$(rel_result 2 "$work/c2.out")"
tap_eq "C: and then rm confirms it" "DownloadConfirmed $(rel_result 3 "$work/c2.out")" "$(recipient read-killed.bin) OK None"

# --- D: the Broker restarts (and forgets) during an upload -----------------
gw_emu POST /_emulator/faults '[{"endpoint":"upload","kind":"bandwidth","bytesPerSecond":1000000,"count":1},
  {"endpoint":"tus_patch","kind":"bandwidth","bytesPerSecond":1000000,"count":1}]' >/dev/null
printf 'put %s /outbox/broker-restarted.bin\n' "$work/f8m.bin" > "$work/d.batch"
(gw_sftp "$work/d.batch" > "$work/d.out" 2>&1; echo "exit=$?" >> "$work/d.out") &
put_pid=$!
rel_wait_for 30 rel_session_doing CLOSE
sleep 1
rel_restart_emulator
tap_check "D: the emulator was restarted in the middle of the upload" kill -0 "$GW_EMU_PID"
wait "$put_pid"
st=$(transfer broker-restarted.bin 't["status"] + " " + str(t["storedMd5"])')
if grep -q 'exit=0' "$work/d.out"; then
  tap_eq "D: the client was told OK, so the restarted Broker has the whole file" "Published $md5_8m" "$st"
else
  tap_check "D: the client's put fails ($(grep -v '^sftp>' "$work/d.out" | head -n 1))" true
  tap_eq "D: and the restarted Broker published nothing" none \
    "$(transfer broker-restarted.bin 't["status"] if t["status"]=="Published" else "none"')"
fi
printf 'put %s /outbox/after-restart.bin\n' "$work/f8m.bin" > "$work/d2.batch"
gw_sftp "$work/d2.batch" > /dev/null 2>&1
tap_eq "D: the next upload works against the restarted Broker" 0 $?
tap_eq "D: and is published whole" "Published $md5_8m" "$(transfer after-restart.bin 't["status"] + " " + str(t["storedMd5"])')"

# --- E: the Broker restarts during a download ------------------------------
gw_partner send /outbox "$work/f8m.bin" download-restarted.bin >/dev/null 2>&1
rel_wait_listed download-restarted.bin 20
gw_emu POST /_emulator/faults '{"endpoint":"download","kind":"bandwidth","bytesPerSecond":1000000,"count":1}' >/dev/null
printf 'get /inbox/download-restarted.bin %s/e.bin\nrm /inbox/download-restarted.bin\n' "$work" > "$work/e.batch"
(gw_sftp "$work/e.batch" > "$work/e.out" 2>&1; echo "exit=$?" >> "$work/e.out") &
get_pid=$!
rel_wait_for 30 sh -c "[ \$(stat -c %s '$work/e.bin' 2>/dev/null || echo 0) -gt 1048576 ]"
rel_restart_emulator
wait "$get_pid"
tap_check "E: the client's get fails when the Broker goes away mid-download (after $(stat -c %s "$work/e.bin") bytes)" \
  sh -c "! grep -q 'exit=0' '$work/e.out'"
tap_check "E: the log names the broken download" \
  grep -q "download of /inbox/download-restarted.bin" "$GW_DIR/log/altinn-broker.log"
tap_check "ProFTPD survived all of it" kill -0 "$GW_FTPD_PID"
if [ "$TAP_FAILED" -ne 0 ]; then
  for f in a.out b.out c.out c2.out d.out e.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  grep -v 'debug: stat' "$GW_DIR/log/altinn-broker.log" | tail -n 40 | tap_diag
fi
tap_done
