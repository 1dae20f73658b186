#!/bin/sh
# 100 SFTP logins, each uploading one small file (OpenSSH sftp, 10 at a
# time, sessions chrooted with DefaultRoot ~), against one gateway: the
# agent gives every session the one Altinn token, so Maskinporten sees at
# most 2 grants for the gateway's client, and every upload is Published
# exactly once. Then the agent's life: a session process holds no key, the
# agent is replaced on SIGHUP, and without an agent sessions still work
# (and say they are degraded).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-logins.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
echo 'DefaultRoot ~' > "$work/extra.conf"
gw_setup "$work/gw" "$work/extra.conf"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "emulator and ProFTPD with mod_altinn_broker start (chrooted sessions)"
log="$work/gw/log/altinn-broker.log"
tap_check "the daemon started one agent" grep -q 'agent started' "$log"

# --- 100 logins, one upload each, 10 in parallel ----------------------------
N=100
mkdir -p "$work/files"
i=1
while [ $i -le $N ]; do
  printf 'file %d\n' $i > "$work/files/f$i.txt"
  printf 'put %s /outbox/login-%03d.txt\n' "$work/files/f$i.txt" $i > "$work/files/b$i"
  i=$((i + 1))
done
start=$(date +%s)
seq 1 $N | xargs -P 10 -I{} sh -c \
  "sftp $GW_SSH_OPTS -b '$work/files/b{}' $GW_USER@127.0.0.1 > '$work/files/out{}' 2>&1; echo \$? > '$work/files/rc{}'"
took=$(( $(date +%s) - start ))
ok=$(cat "$work"/files/rc* | grep -c '^0$')
tap_eq "all $N sftp logins uploaded and exited 0" $N "$ok"

state=$(gw_emu GET /_emulator/state)
grants=$(echo "$state" | gw_json 'd["grants"].get("11111111-1111-4111-8111-111111111111",0)')
echo "# $N logins took ${took}s; Maskinporten grants for the gateway's client: $grants"
tap_check "at most 2 Maskinporten grants for $N logins (got $grants)" test "$grants" -ge 1 -a "$grants" -le 2
published=$(echo "$state" | gw_json 'len([t for t in d["transfers"] if t["fileName"].startswith("login-") and t["status"]=="Published"])')
tap_eq "every upload is one Published transfer" $N "$published"
distinct=$(echo "$state" | gw_json 'len(set(t["fileName"] for t in d["transfers"] if t["fileName"].startswith("login-")))')
tap_eq "no upload was sent twice" $N "$distinct"
tap_eq "the emulator answered no 429" 0 "$(echo "$state" | gw_json 'd["rateLimited"]')"
tap_check "no session worked alone (degraded)" sh -c "! grep -q 'degraded' '$log'"

# --- a session process holds no key material -------------------------------
# The needle: 32 bytes of the RSA private exponent as OpenSSL keeps it in
# memory (little-endian limbs). A session working alone holds the parsed key
# (the control at the end proves the scan finds it); one served by the agent
# must not.
cat > "$work/scan.py" <<'PY'
import re, subprocess, sys
pid, keyfile = sys.argv[1], sys.argv[2]
text = subprocess.run(["openssl", "rsa", "-in", keyfile, "-noout", "-text"],
                      capture_output=True, text=True).stdout
m = re.search(r"privateExponent:\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
d = int(re.sub(r"[\s:]", "", m.group(1)), 16)
needle = d.to_bytes((d.bit_length() + 7) // 8, "little")[16:48]
hits = 0
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) r", line)
        if not m or "[vvar]" in line or "[vsyscall]" in line:
            continue
        a, b = int(m.group(1), 16), int(m.group(2), 16)
        try:
            mem.seek(a)
            hits += mem.read(b - a).count(needle)
        except (OSError, ValueError, OverflowError):
            pass
print(hits)
PY
# scan_session: prints how often a live session's memory holds the key.
scan_session() {
  ( sleep 4; echo bye ) | sftp $GW_SSH_OPTS "$GW_USER@127.0.0.1" > /dev/null 2>&1 &
  holder=$!
  sess=
  for _ in $(seq 1 40); do
    sess=$(pgrep -n -P "$GW_FTPD_PID" -f "proftpd: $GW_USER")
    [ -n "$sess" ] && break
    sleep 0.1
  done
  sleep 0.5
  [ -n "$sess" ] && "$GW_PY" "$work/scan.py" "$sess" "$work/gw/emu/keys/gateway.key"
  wait $holder 2>/dev/null
}
if [ "${SANITIZERS:-no}" = yes ]; then
  # ASan maps terabytes of shadow memory; the scan cannot walk it. The
  # normal build runs this check.
  tap_skip "a logged-in session's memory holds no part of the private key" "not under ASan"
elif [ "$(id -u)" = 0 ]; then
  tap_eq "a logged-in session's memory holds no part of the private key" 0 "$(scan_session)"
else
  tap_skip "a logged-in session's memory holds no part of the private key" "needs root to read /proc/PID/mem"
fi

# --- SIGHUP: the agent is replaced and keeps the token ---------------------
old=$(grep -c 'agent started' "$log")
kill -HUP "$GW_FTPD_PID"
for _ in $(seq 1 100); do
  [ "$(grep -c 'agent started' "$log")" -gt "$old" ] && break
  sleep 0.1
done
tap_check "SIGHUP replaces the agent" test "$(grep -c 'agent started' "$log")" -gt "$old"
tap_check "the old agent stopped first" grep -q 'agent stopped' "$log"
printf 'put %s /outbox/after-hup.txt\n' "$work/files/f1.txt" > "$work/hup.batch"
gw_sftp "$work/hup.batch" > "$work/hup.out" 2>&1
tap_eq "an upload after SIGHUP works" 0 $?
grants2=$(gw_emu GET /_emulator/state | gw_json 'd["grants"].get("11111111-1111-4111-8111-111111111111",0)')
tap_eq "the new agent reuses the stored token (no new grant)" "$grants" "$grants2"

# --- an agent that dies is replaced by the daemon ---------------------------
agent_pid() {
  ss -xlp 2>/dev/null | grep "$work/gw/statedb/agent.sock" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -1
}
grants_of() {
  gw_emu GET /_emulator/state | gw_json 'd["grants"].get("11111111-1111-4111-8111-111111111111",0)'
}
crashed=$(agent_pid)
if [ -n "$crashed" ]; then
  started=$(grep -c 'agent started' "$log")
  kill -KILL "$crashed"
  for _ in $(seq 1 150); do
    [ "$(grep -c 'agent started' "$log")" -gt "$started" ] && break
    sleep 0.1
  done
  tap_check "an agent killed with SIGKILL is replaced within seconds" \
    test "$(grep -c 'agent started' "$log")" -gt "$started"
  tap_check "the log says so" grep -q "the agent (pid $crashed) is gone" "$log"
  g0=$(grants_of)
  printf 'put %s /outbox/after-crash.txt\n' "$work/files/f4.txt" > "$work/crash.batch"
  gw_sftp "$work/crash.batch" > "$work/crash.out" 2>&1
  tap_eq "an upload through the new agent works" 0 $?
  tap_eq "with the token the killed agent had stored (no new grant)" "$g0" "$(grants_of)"
else
  tap_not_ok "find the agent's pid from its socket"
fi

# --- without an agent, sessions work alone and say so ----------------------
# AltinnBrokerAgent external: the daemon runs none; until `altinn-broker
# agent` runs, sessions are on their own.
echo 'AltinnBrokerAgent external' >> "$work/gw/proftpd.conf"
stopped=$(grep -c 'agent stopped' "$log")
kill -HUP "$GW_FTPD_PID"
for _ in $(seq 1 100); do
  [ "$(grep -c 'agent stopped' "$log")" -gt "$stopped" ] && [ ! -S "$work/gw/statedb/agent.sock" ] && break
  sleep 0.1
done
sleep 0.5
printf 'put %s /outbox/alone.txt\n' "$work/files/f2.txt" > "$work/alone.batch"
gw_sftp "$work/alone.batch" > "$work/alone.out" 2>&1
tap_eq "with no agent, an upload still works" 0 $?
tap_check "and the log says the session is degraded" grep -q 'degraded: no agent' "$log"
n=$(gw_emu GET /_emulator/state | gw_json 'len([t for t in d["transfers"] if t["fileName"]=="alone.txt" and t["status"]=="Published"])')
tap_eq "its transfer is Published once" 1 "$n"
if [ "$(id -u)" = 0 ] && [ "${SANITIZERS:-no}" != yes ]; then
  hits=$(scan_session)
  tap_check "control: a session working alone does hold its key, and the scan finds it ($hits)" test "${hits:-0}" -gt 0
fi
# `altinn-broker agent` (as for ServerType inetd or a systemd unit) serves
# the same sessions: no longer degraded, and the stored token is reused.
"$top_builddir/plugin/altinn-broker" -c "$work/gw/proftpd.conf" agent > "$work/ext-agent.out" 2>&1 &
ext=$!
for _ in $(seq 1 100); do [ -S "$work/gw/statedb/agent.sock" ] && break; sleep 0.1; done
before=$(grep -c 'degraded' "$log")
grants_before=$(grants_of)
printf 'put %s /outbox/external.txt\n' "$work/files/f3.txt" > "$work/ext.batch"
gw_sftp "$work/ext.batch" > "$work/ext.out" 2>&1
tap_eq "with 'altinn-broker agent' running, an upload works" 0 $?
tap_eq "and the session used it (not degraded)" "$before" "$(grep -c 'degraded' "$log")"
tap_eq "with the stored token (no new grant)" "$grants_before" "$(grants_of)"
kill -TERM "$ext"
wait "$ext" 2>/dev/null
tap_eq "'altinn-broker agent' stops cleanly on SIGTERM" 0 $?

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in "$work"/files/out1 "$work/hup.out" "$work/crash.out" "$work/alone.out" "$work/ext.out" "$work/ext-agent.out"; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done | tap_diag
  tail -n 40 "$log" "$work/gw/log/proftpd.out" 2>/dev/null | tap_diag
fi
tap_done
