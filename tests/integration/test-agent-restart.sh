#!/bin/sh
# The embedded store survives a gateway restart: a file read whole before
# ProFTPD is stopped can be confirmed (rm) after it is started again, a file
# confirmed before the restart is not confirmed again, and the Altinn token
# is reused instead of a new grant. The store's files are closed to others.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-restart.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "emulator and ProFTPD with mod_altinn_broker start"
client=11111111-1111-4111-8111-111111111111

head -c 300000 /dev/urandom > "$work/a.bin"
head -c 200000 /dev/urandom > "$work/b.bin"
gw_partner send /outbox "$work/a.bin" before-restart.bin > /dev/null 2>&1
gw_partner send /outbox "$work/b.bin" confirmed-before.bin > /dev/null 2>&1
printf 'get /inbox/before-restart.bin %s/got-a.bin\nget /inbox/confirmed-before.bin %s/got-b.bin\nrm /inbox/confirmed-before.bin\n' \
  "$work" "$work" > "$work/get.batch"
gw_sftp "$work/get.batch" > "$work/get.out" 2>&1
tap_eq "before the restart: both files read whole, one confirmed" 0 $?
tap_eq "the bytes are identical" "$(md5sum < "$work/a.bin")" "$(md5sum < "$work/got-a.bin")"
grants=$(gw_emu GET /_emulator/state | gw_json "d['grants'].get('$client',0)")

# --- restart ProFTPD (and with it the agent) --------------------------------
kill "$GW_FTPD_PID"
wait "$GW_FTPD_PID" 2>/dev/null
for _ in $(seq 1 50); do [ -S "$work/gw/statedb/agent.sock" ] || break; sleep 0.1; done
tap_check "stopping the daemon stops the agent (its socket is gone)" test ! -S "$work/gw/statedb/agent.sock"
mode=$(stat -c '%a' "$work/gw/statedb")
tap_eq "the state directory is closed to others" 700 "$mode"
open=$(find "$work/gw/statedb" -type f -perm /077 | wc -l)
tap_eq "and so is every file in it" 0 "$open"
if ! gw_start_proftpd; then tap_not_ok "ProFTPD starts again"; tap_done; exit 1; fi
tap_ok "ProFTPD starts again"

printf 'rm /inbox/before-restart.bin\n' > "$work/rm.batch"
gw_sftp "$work/rm.batch" > "$work/rm.out" 2>&1
tap_eq "after the restart, rm of the file read before it succeeds" 0 $?
state=$(gw_emu GET /_emulator/state)
rs=$(echo "$state" | gw_json "[r['status'] for t in d['transfers'] if t['fileName']=='before-restart.bin' for r in t['recipients']][0]")
tap_eq "and the Broker recorded DownloadConfirmed" DownloadConfirmed "$rs"
printf 'ls -l /inbox\n' > "$work/ls.batch"
gw_sftp "$work/ls.batch" > "$work/ls.out" 2>&1
tap_check "the file confirmed before the restart is not listed" sh -c "! grep -q confirmed-before.bin '$work/ls.out'"
confirms=$(echo "$state" | gw_json "d['requests'].get('confirm',0)")
tap_eq "two confirms in all: one per file, none repeated" 2 "$confirms"
tap_eq "the stored token was reused: no new grant after the restart" "$grants" \
  "$(echo "$state" | gw_json "d['grants'].get('$client',0)")"

# --- the admin CLI with the gateway's configuration uses the running agent --
"$top_builddir/plugin/altinn-broker" -c "$work/gw/proftpd.conf" ls /inbox > "$work/cli.out" 2>&1
tap_eq "altinn-broker ls with the gateway's configuration exits 0" 0 $?
tap_eq "and used the agent's token (no new grant)" "$grants" \
  "$(gw_emu GET /_emulator/state | gw_json "d['grants'].get('$client',0)")"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in get.out rm.out ls.out cli.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  tail -n 30 "$work/gw/log/altinn-broker.log" "$work/gw/log/proftpd.out" 2>/dev/null | tap_diag
fi
tap_done
