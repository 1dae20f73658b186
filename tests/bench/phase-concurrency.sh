# phase-concurrency.sh - 50 OpenSSH sftp sessions at once, each putting 20
# files of 1 MiB: into the plain directory, then through the mount, with
# the emulator's rate limits off (the gateway's own capacity) and, with
# --long, on at Altinn's numbers (1,000 initializes at 120/min take at
# least 8.3 minutes; what is checked there is that nothing fails and no 429
# is provoked). Runs interleave plain and mount. Sourced by bench.sh.

CC_CLIENT_ID=11111111-1111-4111-8111-111111111111

# cc_wave TARGET LIMITS REP: one wave; records wall time, aggregate MB/s,
# failed sessions, and for the mount what the Broker recorded.
cc_wave() {
  local target=$1 limits=$2 rep=$3 key="cc.$1${2:+.$2}"
  local dest=/outbox
  if [ "$target" = plain ]; then
    dest=/plain/cc
    rm -rf "$GW_DIR/home/$GW_USER/plain/cc"
    mkdir -p "$GW_DIR/home/$GW_USER/plain/cc"
    chown "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER/plain/cc"
  else
    bench_emu_reset
  fi
  local dir="$BENCH_WORK/cc"
  rm -rf "$dir/run"; mkdir -p "$dir/run"
  for i in $(seq 1 "$CC_SESSIONS"); do
    : > "$dir/run/batch-$i"
    for f in $(seq 1 "$CC_FILES"); do
      echo "put $dir/src-$i-$f.bin $dest/c$i-f$f.bin" >> "$dir/run/batch-$i"
    done
  done
  bench_log "concurrency: $CC_SESSIONS x $CC_FILES into $target${limits:+ (rate limits $limits)}, repetition $rep"
  local t0=$EPOCHREALTIME pids=
  for i in $(seq 1 "$CC_SESSIONS"); do
    ( gw_sftp "$dir/run/batch-$i" > "$dir/run/out-$i" 2>&1; echo $? > "$dir/run/rc-$i" ) &
    pids="$pids $!"
  done
  wait $pids
  local t1=$EPOCHREALTIME
  local secs; secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  local failed=0
  for i in $(seq 1 "$CC_SESSIONS"); do
    [ "$(cat "$dir/run/rc-$i")" = 0 ] || failed=$((failed + 1))
  done
  local bytes=$((CC_SESSIONS * CC_FILES * 1048576))
  bench_record concurrency "$key.secs" "$secs"
  bench_record concurrency "$key.mbps" "$(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.1f", b/1e6/s}')"
  bench_record concurrency "$key.errors" "$failed"
  if [ $failed -gt 0 ]; then
    bench_log "concurrency: $failed session(s) failed, e.g.: $(grep -h -v '^sftp>' "$dir"/run/out-* | sort | uniq -c | sort -rn | head -n 3 | tr '\n' ' ')"
  fi
  if [ "$target" = mount ]; then
    # Published with the right bytes, per file (the Broker publishes
    # asynchronously: wait until nothing is still being processed).
    for _ in $(seq 1 120); do
      [ "$(bench_state "sum(1 for t in d['transfers'] if t['status'] in ('UploadStarted','UploadProcessing'))")" = 0 ] && break
      sleep 0.5
    done
    gw_emu GET /_emulator/state > "$dir/state.json"
    local ok
    ok=$("$GW_PY" - "$dir" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1] + "/state.json"))
ok = 0
for t in d["transfers"]:
    m = re.fullmatch(r"c(\d+)-f(\d+)\.bin", t["fileName"])
    if m and t["status"] == "Published":
        with open("%s/src-%s-%s.bin.md5" % (sys.argv[1], m.group(1), m.group(2))) as f:
            ok += t.get("storedMd5") == f.read().strip()
print(ok)
PY
)
    bench_record concurrency "$key.published" "$ok"
    bench_record concurrency "$key.expected" $((CC_SESSIONS * CC_FILES))
    bench_record concurrency "$key.grants" "$(bench_state "d['grants'].get('$CC_CLIENT_ID', 0)")"
    bench_record concurrency "$key.rate_limited" "$(bench_state "d['rateLimited']")"
    bench_emu_reset
  else
    local copied; copied=$(find "$GW_DIR/home/$GW_USER/plain/cc" -name 'c*-f*.bin' -size 1024k | wc -l)
    [ "$copied" = $((CC_SESSIONS * CC_FILES)) ] || bench_log "concurrency: only $copied files arrived in the plain directory"
    rm -rf "$GW_DIR/home/$GW_USER/plain/cc"
  fi
}

phase_concurrency() {
  CC_SESSIONS=50; CC_FILES=20
  [ "$BENCH_QUICK" = 1 ] && { CC_SESSIONS=10; CC_FILES=5; }
  mkdir -p "$BENCH_WORK/cc" "$GW_DIR/home/$GW_USER/plain"
  chown "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER/plain"
  # Every file its own bytes (the gateway's duplicate detection would
  # otherwise see the same file sent by 50 sessions).
  local i f
  for i in $(seq 1 "$CC_SESSIONS"); do
    for f in $(seq 1 "$CC_FILES"); do
      local src="$BENCH_WORK/cc/src-$i-$f.bin"
      if [ ! -f "$src.md5" ]; then
        head -c 1048576 /dev/urandom > "$src"
        md5sum < "$src" | cut -d' ' -f1 > "$src.md5"
      fi
    done
  done
  bench_record concurrency cc.sessions "$CC_SESSIONS"
  bench_record concurrency cc.files "$CC_FILES"
  local reps=2; [ "$BENCH_QUICK" = 1 ] && reps=1
  # Limits off at both ends: the gateway's own capacity (if this build can
  # lift its budget; otherwise it keeps Altinn's 120 initializes a minute,
  # a wave takes 8 minutes and runs once).
  bench_limits off || return 1
  bench_record meta cc_limits_off "$BENCH_LIMITS_NOW"
  [ "$BENCH_LIMITS_NOW" = off ] || reps=1
  for rep in $(seq 1 $reps); do
    if [ $((rep % 2)) -eq 1 ]; then
      cc_wave plain "" "$rep"; cc_wave mount off "$rep"
    else
      cc_wave mount off "$rep"; cc_wave plain "" "$rep"
    fi
  done
  bench_limits altinn || return 1
  if [ "$BENCH_LONG" = 1 ]; then
    cc_wave mount on 1
  fi
  rm -rf "$BENCH_WORK/cc/run"
}
