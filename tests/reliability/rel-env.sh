# rel-env.sh - helpers shared by the reliability and security tests, on top
# of tests/integration/gateway-env.sh (sourced first).

# rel_probe OPSFILE: runs tests/reliability/sftp_probe.py as the test user;
# one "<n> OK ..." or "<n> ERR ..." line per operation.
rel_probe() {
  "$GW_PY" "$top_srcdir/tests/reliability/sftp_probe.py" "$GW_SFTP_PORT" \
    "$GW_DIR/client/id_ed25519" "$GW_USER" < "$1"
}

# rel_result N FILE: the result line of operation N in a probe output.
rel_result() {
  sed -n "s/^$1 //p" "$2"
}

# rel_transfers: the fileNames the Broker recorded, one per line, sorted.
rel_transfers() {
  gw_emu GET /_emulator/state | gw_json '"\n".join(sorted(t["fileName"] for t in d["transfers"]))'
}

# rel_published: the fileNames of Published (or later) transfers, sorted.
rel_published() {
  gw_emu GET /_emulator/state | gw_json '"\n".join(sorted(t["fileName"] for t in d["transfers"] if t["status"] not in ("Initialized", "UploadStarted", "UploadProcessing", "Failed")))'
}

# rel_wait_listed NAME SECONDS: waits until /inbox lists NAME (listings are
# shared and kept fresh for a few seconds, so a new file shows up shortly).
rel_wait_listed() {
  rel_wait_for "$2" gw_inbox_lists "$1"
}

# rel_session_pids: the ProFTPD session processes of the test user (children
# of the daemon whose title names the user; the agent is a child too).
rel_session_pids() {
  for _p in $(pgrep -P "$GW_FTPD_PID" 2>/dev/null); do
    ps -o args= -p "$_p" 2>/dev/null | grep -q "^proftpd: $GW_USER " && echo "$_p"
  done
}

# rel_kill_sessions: SIGKILLs every session of the test user; prints how many.
rel_kill_sessions() {
  _n=0
  for _p in $(rel_session_pids); do kill -9 "$_p" 2>/dev/null && _n=$((_n + 1)); done
  echo "$_n"
}

# rel_session_doing WORD: true when a session's title shows WORD (e.g. CLOSE).
rel_session_doing() {
  for _p in $(rel_session_pids); do
    ps -o args= -p "$_p" 2>/dev/null | grep -q "$1" && return 0
  done
  return 1
}

# rel_restart_emulator: SIGKILLs the emulator and starts it again on the
# same port (it forgets every transfer, as a Broker that lost its state).
rel_restart_emulator() {
  kill -9 "$GW_EMU_PID" 2>/dev/null
  # Its port is free once the kernel closed its sockets (the process itself
  # may linger as a zombie until this shell reaps it).
  rel_wait_for 10 sh -c "! ss -ltn | grep -q '127.0.0.1:$GW_EMU_PORT '"
  gw_start_emulator
}

# rel_wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
rel_wait_for() {
  _limit=$(( $1 * 10 )); shift
  _i=0
  while [ "$_i" -lt "$_limit" ]; do
    "$@" && return 0
    sleep 0.1; _i=$((_i + 1))
  done
  return 1
}
