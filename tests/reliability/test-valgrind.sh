#!/bin/sh
# The core under valgrind (memcheck): no invalid read or write, no use of
# uninitialised memory, and no memory definitely or indirectly lost, in
#   - every unit test program (the core's pieces one by one),
#   - the agent (`altinn-broker agent`, AltinnBrokerAgent external) while
#     real SFTP sessions send, list, download and confirm through it, until
#     it stops on SIGTERM,
#   - the ProFTPD session processes themselves (the glue and the core in a
#     forked, chrooted session), each checked when its client logs out,
#   - the admin CLI: send (streamed and TUS), ls, get, confirm, status.
# "Still reachable" memory (libraries' one-time set-up at exit) is not a
# leak and is not counted. Valgrind cannot run ASan-built programs, so the
# sanitizer build skips this and the default build runs it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

if [ "${SANITIZERS:-no}" = yes ]; then
  tap_skip "valgrind" "this is the ASan build; the default build runs the core under valgrind"
  tap_done; exit 0
fi
if ! command -v valgrind > /dev/null 2>&1; then
  tap_skip "valgrind" "valgrind is not installed (apt-get install valgrind)"
  tap_done; exit 0
fi

work=$(mktemp -d /tmp/ab-valgrind.XXXXXX)
chmod 755 "$work"
agent=
trap '[ -n "$agent" ] && kill "$agent" 2>/dev/null; gw_stop; rm -rf "$work"' EXIT
VG="valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=40"

# vg_clean LOG...: the logs hold no valgrind report (an empty -q log).
vg_clean() {
  for _l in "$@"; do
    if grep -q '^==[0-9]*== ' "$_l" 2>/dev/null; then
      echo "--- $_l"; head -n 60 "$_l"
      return 1
    fi
  done
  return 0
}

# --- every unit test program ---------------------------------------------------
# Forked children are not checked here: test_store's child "crashes" on
# purpose (_exit without closing), and the agent test_agent forks is checked
# below as `altinn-broker agent`.
srcdir=$top_srcdir; export srcdir   # test_key finds its fixtures script there
for t in "$top_builddir"/tests/unit/test_*; do
  case $t in *.log|*.trs|*.o) continue ;; esac
  [ -x "$t" ] || continue
  name=$(basename "$t")
  $VG --child-silent-after-fork=yes --log-file="$work/unit.$name.vg" "$t" > "$work/unit.$name.out" 2>&1
  rc=$?
  if [ $rc -eq 0 ] && vg_clean "$work/unit.$name.vg" > "$work/unit.$name.report"; then
    tap_ok "unit $name under valgrind: passes, no error, no leak"
  else
    tap_not_ok "unit $name under valgrind (exit $rc)"
    { cat "$work/unit.$name.report"; tail -n 20 "$work/unit.$name.out"; } | tap_diag
  fi
done

# --- a gateway: sessions and the agent under valgrind ----------------------------
# Sessions are forks of the daemon, so the daemon runs under valgrind and
# every session writes its own log (%p) when it ends.
cat > "$work/extra.conf" <<'CONF'
AltinnBrokerAgent external
CONF
gw_setup "$work/gw" "$work/extra.conf" > /dev/null
mkdir -p "$work/vg"
chmod 777 "$work/vg"   # sessions write their log after dropping privileges
if ! gw_start_emulator; then tap_not_ok "the emulator starts"; tap_done; exit 1; fi
GW_LAUNCH="$VG --log-file=$work/vg/proftpd.%p.vg" gw_start_proftpd 2> /dev/null ||
  rel_wait_for 60 sh -c "ss -ltn | grep -q '127.0.0.1:$GW_SFTP_PORT '"
if ! ss -ltn | grep -q "127.0.0.1:$GW_SFTP_PORT "; then
  tap_not_ok "ProFTPD starts under valgrind"; cat "$GW_DIR/log/proftpd.out" | tap_diag; tap_done; exit 1
fi
$VG --log-file="$work/vg/agent.vg" "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" agent \
  > "$work/agent.out" 2>&1 &
agent=$!
rel_wait_for 120 test -S "$GW_DIR/statedb/agent.sock"
tap_check "the agent runs under valgrind and listens" test -S "$GW_DIR/statedb/agent.sock"

head -c 3000000 /dev/urandom > "$work/out.bin"
head -c 2000000 /dev/urandom > "$work/in.bin"
out_md5=$(md5sum < "$work/out.bin" | cut -d' ' -f1)
in_md5=$(md5sum < "$work/in.bin" | cut -d' ' -f1)
printf 'put %s /outbox/vg-out.bin\nls -l /outbox\n' "$work/out.bin" > "$work/put.batch"
gw_sftp "$work/put.batch" > "$work/put.out" 2>&1
tap_eq "put through a session under valgrind exits 0" 0 $?
tap_eq "the Broker has it Published whole" "Published $out_md5" \
  "$(gw_emu GET /_emulator/state | gw_json '([t["status"] + " " + str(t["storedMd5"]) for t in d["transfers"] if t["fileName"]=="vg-out.bin"] or ["none"])[0]')"

gw_partner send /outbox "$work/in.bin" vg-in.bin > /dev/null 2>&1
rel_wait_for 120 gw_inbox_lists vg-in.bin
printf 'get /inbox/vg-in.bin %s/got.bin\nrm /inbox/vg-in.bin\n' "$work" > "$work/get.batch"
gw_sftp "$work/get.batch" > "$work/get.out" 2>&1
tap_eq "get and rm through a session under valgrind exit 0" 0 $?
tap_eq "the bytes are identical" "$in_md5" "$(md5sum < "$work/got.bin" 2>/dev/null | cut -d' ' -f1)"
tap_eq "and the Broker recorded the confirmation" DownloadConfirmed \
  "$(gw_emu GET /_emulator/state | gw_json '([r["status"] for t in d["transfers"] if t["fileName"]=="vg-in.bin" for r in t["recipients"]] or ["none"])[0]')"
# A refused upload exercises the error path.
gw_emu POST /_emulator/faults '{"endpoint":"initialize","status":403,"count":1}' > /dev/null
printf 'put %s /outbox/vg-refused.bin\n' "$work/out.bin" > "$work/refused.batch"
gw_sftp "$work/refused.batch" > "$work/refused.out" 2>&1
tap_check "a refused upload fails at the client under valgrind too" test $? -ne 0
gw_emu POST /_emulator/faults '{"clear":true}' > /dev/null

# --- the admin CLI (the gateway's one talks to the agent, still under valgrind) ---
cli() { $VG --log-file="$work/vg/cli.%p.vg" "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/partner.conf" "$@" >> "$work/cli.out" 2>&1; }
tap_check "CLI send (one streamed POST) under valgrind" cli send /outbox "$work/in.bin" cli-small.bin
cat "$GW_DIR/partner.conf" > "$work/partner-tus.conf"
echo 'AltinnBrokerUpload tus-above=1M chunk=256K parallel=2' >> "$work/partner-tus.conf"
tap_check "CLI send (TUS in chunks) under valgrind" \
  sh -c "$(printf '%s ' $VG) --log-file='$work/vg/cli.%p.vg' '$top_builddir/plugin/altinn-broker' -c '$work/partner-tus.conf' send /outbox '$work/out.bin' cli-tus.bin >> '$work/cli.out' 2>&1"
tap_eq "the TUS send arrived whole" "Published $out_md5" \
  "$(gw_emu GET /_emulator/state | gw_json '([t["status"] + " " + str(t["storedMd5"]) for t in d["transfers"] if t["fileName"]=="cli-tus.bin"] or ["none"])[0]')"
id=$(gw_emu GET /_emulator/state | gw_json '[t["fileTransferId"] for t in d["transfers"] if t["fileName"]=="cli-tus.bin"][0]')
tap_check "CLI status under valgrind" cli status "$id"
# The gateway's org receives what the partner sent: its config, read by the
# CLI, once the Broker has published it and the agent learned of it.
cli_lists() {
  "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" ls /inbox 2>/dev/null | grep -q "$1"
}
rel_wait_for 60 cli_lists cli-small.bin
gwcli() { $VG --log-file="$work/vg/cli.%p.vg" "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/proftpd.conf" "$@" >> "$work/cli.out" 2>&1; }
tap_check "CLI ls under valgrind" sh -c "$(printf '%s ' $VG) --log-file='$work/vg/cli.%p.vg' '$top_builddir/plugin/altinn-broker' -c '$GW_DIR/proftpd.conf' ls /inbox | grep -q cli-small.bin"
tap_check "CLI get under valgrind" gwcli get /inbox cli-small.bin "$work/cli-got.bin"
tap_eq "CLI get: identical bytes" "$in_md5" "$(md5sum < "$work/cli-got.bin" 2>/dev/null | cut -d' ' -f1)"
tap_check "CLI confirm under valgrind" gwcli confirm /inbox cli-small.bin
tap_check "the CLI's valgrind logs are clean" vg_clean "$work"/vg/cli.*.vg

kill -TERM "$agent"
wait "$agent"
rc=$?
agent=
tap_eq "the agent stops on SIGTERM with no valgrind error (exit $rc)" 0 "$rc"
tap_check "the agent's valgrind log is clean" vg_clean "$work/vg/agent.vg"
kill "$GW_FTPD_PID"
wait "$GW_FTPD_PID" 2>/dev/null
GW_FTPD_PID=
n_logs=$(ls "$work"/vg/proftpd.*.vg 2>/dev/null | wc -l)
tap_check "the daemon and its sessions left valgrind logs ($n_logs)" test "$n_logs" -ge 4
# ProFTPD's own allocations are pools freed at exit or kept for the
# process's life; a report naming our code is what this test is after.
ours=$(grep -l 'ab_\|mod_altinn_broker\|altinn_' "$work"/vg/proftpd.*.vg 2>/dev/null)
if [ -z "$ours" ]; then
  tap_ok "no session reported an error or a leak in the glue or the core"
else
  tap_not_ok "sessions reported errors or leaks in the glue or the core"
  for l in $ours; do echo "--- $l"; head -n 60 "$l"; done | tap_diag
fi
other=$(grep -L 'ab_\|mod_altinn_broker\|altinn_' "$work"/vg/proftpd.*.vg 2>/dev/null | xargs -r grep -l '^==' 2>/dev/null)
if [ -n "$other" ]; then
  echo "# reports outside our code (ProFTPD, libraries), not counted:"
  for l in $other; do
    echo "$(basename "$l"): $(grep -c 'definitely lost in' "$l") definitely lost, first from $(grep -m 1 -A 2 'definitely lost in' "$l" | sed -n 's/.* by 0x[0-9A-F]*: \([^ ]*\) (in \([^)]*\)).*/\1 in \2/p' | head -n 1)"
  done | tap_diag
fi

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in "$work/put.out" "$work/get.out" "$work/agent.out" "$work/cli.out"; do echo "--- $f"; tail -n 10 "$f"; done | tap_diag
  tail -n 30 "$GW_DIR/log/altinn-broker.log" | tap_diag
fi
tap_done
