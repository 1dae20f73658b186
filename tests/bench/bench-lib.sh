# bench-lib.sh - helpers the benchmark phases share (sourced by bench.sh,
# after tests/integration/gateway-env.sh). Bash: the session sampler uses
# only builtins so that watching the server costs (almost) nothing.
#
# Every measurement goes into $BENCH_OUT/raw.tsv as one line
#   phase <TAB> key <TAB> value
# and report.py turns those lines into the tables (medians over the
# repetitions, ratios, bars).

# bench_record PHASE KEY VALUE
bench_record() {
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$BENCH_OUT/raw.tsv"
}

bench_log() {
  printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

# bench_now_ms: wall clock in ms (CLOCK_REALTIME), as the client's at_ms.
bench_now_ms() {
  local t=${EPOCHREALTIME/./}
  echo "${t:0:13}"
}

# bench_client ARGS...: our libssh client as the test user (bench_ab_client
# is tests/bench/ab-bench-sftp in the build tree).
bench_client() {
  timeout "${BENCH_CLIENT_TIMEOUT:-600}" "$top_builddir/tests/bench/ab-bench-sftp" \
    -p "$GW_SFTP_PORT" -u "$GW_USER" -i "$GW_DIR/client/id_ed25519" "$@"
}

# bench_cpu_ticks PID: utime+stime of PID in clock ticks (0 when gone).
bench_cpu_ticks() {
  local stat rest
  if ! { read -r stat < "/proc/$1/stat"; } 2>/dev/null; then echo 0; return; fi
  rest=${stat##*) }          # fields after "(comm) "
  set -- $rest
  echo $(( ${12} + ${13} ))   # fields 14 and 15 of stat(5)
}

# bench_cpu_total: "busy idle" jiffies of the whole machine (/proc/stat).
bench_cpu_total() {
  local cpu user nice system idle iowait irq softirq steal rest
  read -r cpu user nice system idle iowait irq softirq steal rest < /proc/stat
  echo "$((user + nice + system + irq + softirq + steal)) $((idle + iowait))"
}

# bench_daemon_children_ticks: CPU ticks of the daemon's children that are
# running now (the agent and any helper; sessions come and go).
bench_daemon_children_ticks() {
  local sum=0 p
  for p in $(pgrep -P "$GW_FTPD_PID"); do
    sum=$((sum + $(bench_cpu_ticks "$p")))
  done
  echo "$sum"
}

# bench_session_watch OUTFILE: waits for the next session process (a new
# child of the ProFTPD daemon) and samples it every 50 ms until it exits;
# writes "pid=<pid> hwm_kb=<VmHWM> cpu_ticks=<utime+stime> main_ticks=<the
# same for its main thread>" with the last values seen (the main thread is
# the one ProFTPD serves the session in; helper threads are the rest). VmHWM is the kernel's own peak, so sampling only has to see
# the process once more before it exits: the clients hold the session open
# after their last operation for that.
bench_session_watch() {
  local out=$1 pid= known hwm=0 ticks=0 main=0 key val unit
  known=" $(pgrep -P "$GW_FTPD_PID" | tr '\n' ' ') "
  for _ in $(seq 1 400); do
    for p in $(pgrep -P "$GW_FTPD_PID"); do
      case $known in *" $p "*) ;; *) pid=$p; break ;; esac
    done
    [ -n "$pid" ] && break
    sleep 0.025
  done
  if [ -z "$pid" ]; then echo "pid=0 hwm_kb=0 cpu_ticks=0 main_ticks=0" > "$out"; return; fi
  while [ -d "/proc/$pid" ]; do
    { while read -r key val unit; do
        [ "$key" = "VmHWM:" ] && hwm=$val
      done < "/proc/$pid/status"; } 2>/dev/null
    local t; t=$(bench_cpu_ticks "$pid")
    [ "$t" -gt 0 ] && ticks=$t
    t=$(bench_cpu_ticks "$pid/task/$pid")
    [ "$t" -gt 0 ] && main=$t
    sleep 0.05
  done
  echo "pid=$pid hwm_kb=$hwm cpu_ticks=$ticks main_ticks=$main" > "$out"
}

# bench_kv KEY FILE: the value of KEY=... in the first line of FILE that has it.
bench_kv() {
  sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" "$2" | head -n 1
}

# bench_state_json EXPR: evaluates EXPR over the emulator's /_emulator/state.
bench_state() {
  gw_emu GET /_emulator/state | gw_json "$1"
}

# bench_emu_reset: forgets every transfer, file, counter and rate-limit window.
# The gateway starts afresh too: its listings and journal would otherwise
# show transfers the Broker no longer has until the next reconciliation
# sweep (a real Broker never forgets; this is the benchmark's clean slate).
bench_emu_reset() {
  gw_emu POST /_emulator/reset >/dev/null
  bench_restart_proftpd wipe
}

# bench_gateway_conf [LINE...]: the gateway's configuration as gw_setup
# wrote it, plus LINEs (e.g. "AltinnBrokerUpload tus-above=1T"); takes
# effect at the next bench_restart_proftpd.
bench_gateway_conf() {
  [ -f "$GW_DIR/proftpd.conf.base" ] || cp "$GW_DIR/proftpd.conf" "$GW_DIR/proftpd.conf.base"
  { cat "$GW_DIR/proftpd.conf.base"; printf '%s\n' "$@"; } > "$GW_DIR/proftpd.conf"
}

# bench_gateway_accepts LINE: 0 when this build's ProFTPD module accepts the
# directive (features other branches add are used when they are there).
bench_gateway_accepts() {
  [ -f "$GW_DIR/proftpd.conf.base" ] || cp "$GW_DIR/proftpd.conf" "$GW_DIR/proftpd.conf.base"
  { cat "$GW_DIR/proftpd.conf.base"; echo "$1"; } > "$GW_DIR/proftpd.conf.probe"
  proftpd -t -c "$GW_DIR/proftpd.conf.probe" > /dev/null 2>&1
}

# The gateway's own budget lifted (AltinnBrokerRateLimit, where the build
# has it): for set-up steps and for measuring the gateway's own capacity.
BENCH_NO_LIMITS="AltinnBrokerRateLimit initialize=1000000 upload=1000000 overview=1000000 details=1000000 search=1000000 download=1000000 confirmdownload=1000000"

# bench_limits off|altinn: the Broker's rate limits, at the emulator and in
# the gateway's shared budget (restarts ProFTPD). Prints what took effect.
bench_limits() {
  if [ "$1" = off ]; then
    gw_emu POST /_emulator/knobs '{"rateLimits":false}' > /dev/null
    if bench_gateway_accepts "$BENCH_NO_LIMITS"; then
      bench_gateway_conf "$BENCH_NO_LIMITS"
      BENCH_LIMITS_NOW=off
    else
      bench_gateway_conf
      BENCH_LIMITS_NOW=gateway-only   # this build cannot lift its own budget
    fi
  else
    gw_emu POST /_emulator/knobs '{"rateLimits":true}' > /dev/null
    bench_gateway_conf
    BENCH_LIMITS_NOW=altinn
  fi
  bench_restart_proftpd
}

# bench_restart_proftpd [wipe]: a cold gateway (the emulator keeps its
# state); with wipe, the agent's state directory is emptied in between.
bench_restart_proftpd() {
  # The agent (a child of the daemon) removes its socket first and writes
  # its store last: wait for the children to exit, or a wipe can land
  # before that write and the old inbox comes back.
  local children; children=$(pgrep -P "$GW_FTPD_PID" | tr '\n' ' ')
  kill "$GW_FTPD_PID" 2>/dev/null
  wait "$GW_FTPD_PID" 2>/dev/null
  for _ in $(seq 1 200); do
    local alive=0 p
    for p in $children; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] || { sleep 0.05; continue; }
    ss -ltn 2>/dev/null | grep -q "127.0.0.1:$GW_SFTP_PORT " || [ -S "$GW_DIR/statedb/agent.sock" ] || break
    sleep 0.05
  done
  if [ "${1:-}" = wipe ]; then
    rm -rf "${GW_DIR:?}/statedb/"*
  fi
  gw_start_proftpd
}

# bench_make_file PATH BYTES: random bytes (kept between runs of bench.sh).
bench_make_file() {
  if [ ! -f "$1" ] || [ "$(stat -c %s "$1")" != "$2" ]; then
    bench_log "generating $1 ($2 bytes)"
    head -c "$2" /dev/urandom > "$1.tmp" && mv -f "$1.tmp" "$1"
  fi
}
