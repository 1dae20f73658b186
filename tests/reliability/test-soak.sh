#!/bin/sh
# Soak: a bounded number of sessions over a bounded time on loopback, as a
# day of batch jobs looks to the gateway - rounds of parallel OpenSSH sftp
# sessions that put a file, list the inbox, get what the partner sent and
# rm it - and then the long-lived processes must not have grown:
#   - the ProFTPD daemon (it forks every session): file descriptors equal,
#     resident memory within 256 KiB;
#   - the agent (one per gateway, all sessions talk to it): file descriptors
#     equal, and resident memory over the second half of the run within
#     what the state it keeps on purpose (upload journal, receipts, inbox
#     markers: a few hundred bytes per transfer) explains - 2 MiB here.
# Every upload must be Published once and every download confirmed once.
# SOAK_ROUNDS (default 12) x SOAK_PARALLEL (default 4) sessions per half.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

rounds=${SOAK_ROUNDS:-12}
parallel=${SOAK_PARALLEL:-4}
work=$(mktemp -d /tmp/ab-soak.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" > /dev/null
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi

agent_pid() {
  ss -xlp 2>/dev/null | grep "$GW_DIR/statedb/agent.sock" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n 1
}
rss_kb() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

head -c 262144 /dev/urandom > "$work/payload.bin"
payload_md5=$(md5sum < "$work/payload.bin" | cut -d' ' -f1)

# session ROUND SLOT: one batch job's session. Its inbox file was sent by the
# partner before the round; the job gets it, checks it, and removes it.
session() {
  name="r$1s$2"
  printf 'put %s /outbox/%s.out\nls -l /inbox\nget /inbox/%s.in %s/%s.got\nrm /inbox/%s.in\n' \
    "$work/payload.bin" "$name" "$name" "$work" "$name" "$name" > "$work/$name.batch"
  gw_sftp "$work/$name.batch" > "$work/$name.log" 2>&1
  echo $? > "$work/$name.rc"
}

# run_rounds FIRST LAST: rounds FIRST..LAST; prints failed sessions.
run_rounds() {
  r=$1
  while [ "$r" -le "$2" ]; do
    s=1
    while [ "$s" -le "$parallel" ]; do
      gw_partner send /outbox "$work/payload.bin" "r${r}s$s.in" > /dev/null 2>&1
      s=$((s + 1))
    done
    s=1
    while [ "$s" -le "$parallel" ]; do
      rel_wait_for 30 gw_inbox_lists "r${r}s$s.in"
      s=$((s + 1))
    done
    s=1; pids=
    while [ "$s" -le "$parallel" ]; do
      session "$r" "$s" &
      pids="$pids $!"
      s=$((s + 1))
    done
    # shellcheck disable=SC2086
    wait $pids   # not a bare wait: the emulator and ProFTPD are children too
    r=$((r + 1))
  done
}

# Warm-up: the first sessions create the token, the listing, the pools.
run_rounds 1 2
daemon=$GW_FTPD_PID
agent=$(agent_pid)
tap_check "the daemon and the agent run (daemon $daemon, agent ${agent:-none})" test -n "$agent"
sleep 1
d_rss0=$(rss_kb "$daemon"); d_fd0=$(fds "$daemon")
a_rss0=$(rss_kb "$agent"); a_fd0=$(fds "$agent")
t0=$(date +%s)
half=$((2 + rounds / 2))
run_rounds 3 "$half"
sleep 1
a_rss1=$(rss_kb "$agent")
run_rounds $((half + 1)) $((rounds + 2))
sleep 2
t1=$(date +%s)
d_rss2=$(rss_kb "$daemon"); d_fd2=$(fds "$daemon")
a_rss2=$(rss_kb "$agent"); a_fd2=$(fds "$agent")
sessions=$((rounds * parallel))
echo "# $sessions sessions (+ $((2 * parallel)) warm-up) in $((t1 - t0)) s"
echo "# daemon: RSS $d_rss0 -> $d_rss2 KiB, fds $d_fd0 -> $d_fd2"
echo "# agent:  RSS $a_rss0 -> $a_rss1 -> $a_rss2 KiB, fds $a_fd0 -> $a_fd2"

failed=0
for rc in "$work"/r*s*.rc; do [ "$(cat "$rc")" = 0 ] || failed=$((failed + 1)); done
tap_eq "every session of the soak exited 0" 0 "$failed"
bad=0
for got in "$work"/r*s*.got; do
  [ "$(md5sum < "$got" | cut -d' ' -f1)" = "$payload_md5" ] || bad=$((bad + 1))
done
tap_eq "every download has the sent bytes ($(ls "$work"/r*s*.got | wc -l) files)" 0 "$bad"
total=$(((rounds + 2) * parallel))
tap_eq "every upload is Published exactly once ($total)" "$total $total" \
  "$(gw_emu GET /_emulator/state | gw_json '"%d %d" % (len([t for t in d["transfers"] if t["fileName"].endswith(".out") and t["status"] == "Published"]), len(set(t["fileName"] for t in d["transfers"] if t["fileName"].endswith(".out"))))')"
tap_eq "every download is confirmed exactly once ($total)" "$total" \
  "$(gw_emu GET /_emulator/state | gw_json 'len([t for t in d["transfers"] if t["fileName"].endswith(".in") and t["recipients"][0]["status"] == "DownloadConfirmed"])')"
tap_eq "the daemon holds as many file descriptors as before ($d_fd0)" "$d_fd0" "$d_fd2"
tap_eq "the agent holds as many file descriptors as before ($a_fd0)" "$a_fd0" "$a_fd2"
if [ "${SANITIZERS:-no}" = yes ]; then
  # ASan keeps freed memory in quarantine (up to 256 MiB) on purpose.
  tap_skip "the daemon's and the agent's memory" "ASan's quarantine grows RSS by design; the default build checks it"
else
  tap_check "the daemon's memory did not grow ($d_rss0 -> $d_rss2 KiB)" test $((d_rss2 - d_rss0)) -le 256
  tap_check "the agent's memory over the second half grew at most 2 MiB ($a_rss1 -> $a_rss2 KiB)" \
    test $((a_rss2 - a_rss1)) -le 2048
fi
tap_check "no session left behind (only the daemon's children: the agent)" \
  test "$(rel_session_pids | wc -l)" -eq 0

if [ "$TAP_FAILED" -ne 0 ]; then
  for l in "$work"/r*s*.log; do
    [ "$(cat "${l%.log}.rc")" = 0 ] || { echo "--- $l"; tail -n 5 "$l"; }
  done | head -n 40 | tap_diag
  ls -l "/proc/$agent/fd" 2>/dev/null | tap_diag
  tail -n 30 "$GW_DIR/log/altinn-broker.log" | tap_diag
fi
tap_done
