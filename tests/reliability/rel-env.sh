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

# rel_session_pids: the ProFTPD session processes (children of the daemon).
rel_session_pids() {
  pgrep -P "$GW_FTPD_PID" 2>/dev/null
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
