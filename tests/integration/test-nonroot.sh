#!/bin/sh
# ProFTPD started as an unprivileged user (no root at any point): the daemon,
# its agent and every session run as that user, which then owns the keys,
# the spool and the state directory. Uploads, listings, downloads and
# confirms work as under root; the admin CLI, run as the same user, reaches
# the same agent. (Without root there is no chroot: DefaultRoot cannot work,
# and ProFTPD says so at login.)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

if [ "$(id -u)" != 0 ]; then
  tap_skip "unprivileged daemon" "the test switches to the proftpd user itself, which needs root"
  tap_done; exit 0
fi
work=$(mktemp -d /tmp/ab-nonroot.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" >/dev/null
uid=$(id -u proftpd); gid=$(id -g proftpd)
# Everything the daemon reads or writes belongs to its user; the emulator
# (root) only reads its own files.
chown -R "$uid:$gid" "$GW_DIR"
# ...except the partner organisation's, driven with the admin CLI as root.
chown -R 0:0 "$GW_DIR/emu/keys/partner.key" "$GW_DIR/partner-state" 2>/dev/null
GW_LAUNCH="setpriv --reuid=$uid --regid=$gid --clear-groups"
gw_start_emulator() {   # the emulator is not part of the gateway: run it as root
  "$top_builddir/tests/emulator/altinn-emulator" --config "$GW_DIR/emu/emulator.json" \
    > "$GW_DIR/log/emulator.out" 2> "$GW_DIR/log/emulator.err" &
  GW_EMU_PID=$!
  for _ in $(seq 1 200); do
    grep -q 'listening on' "$GW_DIR/log/emulator.out" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
if ! gw_start; then tap_not_ok "gateway starts as uid $uid"; cat "$GW_DIR/log/proftpd.out" | tap_diag; tap_done; exit 1; fi
tap_eq "the daemon runs as the unprivileged user" "$uid" "$(ps -o uid= -p "$GW_FTPD_PID" | tr -d ' ')"
agent=$(pgrep -P "$GW_FTPD_PID" | head -n 1)
tap_check "its agent too" test -n "$agent" -a "$(ps -o uid= -p "${agent:-1}" | tr -d ' ')" = "$uid"

head -c 700000 /dev/urandom > "$work/up.bin"
printf 'put %s /outbox/nonroot.bin\nls -l /outbox\n' "$work/up.bin" > "$work/put.batch"
gw_sftp "$work/put.batch" > "$work/put.out" 2>&1
tap_eq "sftp put into /outbox exits 0" 0 $?
state=$(gw_emu GET /_emulator/state)
tap_eq "the Broker published it" "Published 700000" \
  "$(echo "$state" | gw_json '[t["status"]+" "+str(t["size"]) for t in d["transfers"] if t["fileName"]=="nonroot.bin"][0]')"
gw_partner send /outbox "$work/up.bin" to-nonroot.bin >/dev/null 2>&1
printf 'get /inbox/to-nonroot.bin %s/got.bin\nrm /inbox/to-nonroot.bin\n' "$work" > "$work/get.batch"
gw_sftp "$work/get.batch" > "$work/get.out" 2>&1
tap_eq "sftp get + rm exits 0" 0 $?
tap_check "identical bytes" cmp -s "$work/up.bin" "$work/got.bin"
tap_eq "and the download was confirmed" DownloadConfirmed \
  "$(gw_emu GET /_emulator/state | gw_json '[t["recipients"][0]["status"] for t in d["transfers"] if t["fileName"]=="to-nonroot.bin"][0]')"
tap_check "the module log is the daemon user's" test "$(stat -c %u "$GW_DIR/log/altinn-broker.log")" = "$uid"
tap_check "and names both transfers" sh -c "grep -q 'transfer upload ok: .*nonroot.bin' '$GW_DIR/log/altinn-broker.log' && grep -q 'transfer confirm ok: .*to-nonroot.bin' '$GW_DIR/log/altinn-broker.log'"
setpriv --reuid="$uid" --regid="$gid" --clear-groups \
  "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" metrics > "$work/metrics.out" 2>&1
tap_eq "the CLI as the same user reaches the agent" 0 $?
tap_check "which counted the upload" grep -q 'altinn_broker_transfers_total{op="upload",outcome="ok"' "$work/metrics.out"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in put.out get.out metrics.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  tail -n 20 "$GW_DIR/log/altinn-broker.log" "$GW_DIR/log/proftpd.out" | tap_diag
fi
tap_done
