# phase-listing.sh - READDIR of /inbox with 100, 1,000 and 10,000 transfers
# known, each with 20 ms added to every emulator request and Altinn's rate
# limits on: cold (ProFTPD just restarted, first listing), warm in the same
# session, warm in a new session (what a batch job that logs in each time
# sees), and how long a newly published file takes to show up in a session
# that keeps listing. Transfers are seeded through the emulator's Broker API
# by the partner organisation (seed-transfers.py).
#
# "Known" means the gateway has learned them: names and sizes come from one
# overview call per transfer, and at Altinn's 120 overviews per minute
# 10,000 transfers take 83 minutes to learn. So after seeding, the gateway
# learns them with the rate limits lifted (set-up, like the seeding; timed
# and reported), and only then is it restarted with Altinn's limits for the
# measurements. Sourced by bench.sh.

LS_LATENCY='{"endpoint":"*","latencyMs":20,"count":2000000000}'

# ls_session N FIRST_KEY REST_KEY TIMES [DIR]: one session listing DIR
# (default /inbox) TIMES times; records the first listing under FIRST_KEY
# and the others under REST_KEY.
ls_session() {
  local n=$1 first=$2 rest=$3 times=$4 dir=${5:-/inbox} out="$BENCH_WORK/ls.out"
  BENCH_CLIENT_TIMEOUT=180 bench_client ls "$dir" "$times" 0 > "$out" 2>&1
  local rc=$? i=0 ms entries
  while read -r line; do
    case $line in op=ls*) ;; *) continue ;; esac
    ms=$(echo "$line" | sed -n 's/.* ms=\([0-9.]*\).*/\1/p')
    entries=$(echo "$line" | sed -n 's/.* entries=\([0-9]*\).*/\1/p')
    local kind=$rest; [ $i -eq 0 ] && kind=$first
    bench_record listing "ls.$n.$kind" "$ms"
    bench_record listing "ls.$n.${kind%_ms}_entries" "$entries"
    i=$((i + 1))
  done < "$out"
  if [ $rc -ne 0 ] || [ $i -lt "$times" ]; then
    bench_log "FAILED listing $n (exit $rc): $(grep -v '^op=' "$out" | tail -n 2 | tr '\n' ' ')"
    bench_record listing "ls.$n.error" 1
  fi
}

# ls_learn N: lets the gateway learn the seeded transfers (limits lifted),
# listing in new sessions every 2 s until N are listed, or no more were
# learned for 60 s, or 5 minutes passed.
ls_learn() {
  local n=$1 t0=$EPOCHREALTIME listed=0 best=-1 grew=$EPOCHREALTIME out="$BENCH_WORK/learn.out"
  # What the inbox should list: every Published transfer to us not yet
  # confirmed (the seeded ones, the fresh file of the step before, and any
  # other phase's leftovers).
  LS_EXPECTED=$(bench_state "len([t for t in d['transfers'] if t['status'] == 'Published' and
    any(r['recipient'] == '0192:$GW_ORG' and r['status'] != 'DownloadConfirmed' for r in t['recipients'])])")
  bench_record listing "ls.$n.expected" "$LS_EXPECTED"
  bench_limits off || return 1
  bench_log "listing $n: the gateway learns $LS_EXPECTED transfers (limits: $BENCH_LIMITS_NOW)"
  bench_record meta learn_limits "$BENCH_LIMITS_NOW"
  while :; do
    BENCH_CLIENT_TIMEOUT=120 bench_client ls /inbox > "$out" 2>&1
    listed=$(bench_kv entries "$out"); listed=${listed:-0}
    [ "$listed" -ge "$LS_EXPECTED" ] && break
    if [ "$listed" -gt "$best" ]; then best=$listed; grew=$EPOCHREALTIME; fi
    awk -v a="$t0" -v g="$grew" -v b="$EPOCHREALTIME" 'BEGIN{exit !(b-a > 300 || b-g > 60)}' && break
    sleep 2
  done
  local secs; secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.1f", b-a}')
  bench_record listing "ls.$n.learn_s" "$secs"
  bench_record listing "ls.$n.learned" "$listed"
  bench_log "listing $n: $listed listed after $secs s"
  LS_LEARNED_AT=$EPOCHSECONDS
  return 0
}

# ls_plain_dir N: the baseline, a plain directory of N empty files in the
# SFTP user's home (/plain-ls in the session), named like the seeded ones.
ls_plain_dir() {
  local dir="$GW_DIR/home/$GW_USER/plain-ls"
  rm -rf "$dir"
  mkdir -p "$dir"
  "$GW_PY" -c 'import sys, os
for i in range(int(sys.argv[2])):
    open(os.path.join(sys.argv[1], "seed-%05d.txt" % i), "w").close()' "$dir" "$1"
  chown -R "$GW_UID:$GW_GID" "$dir"
}

ls_seed() {
  "$GW_PY" "$here/seed-transfers.py" --partner-conf "$GW_DIR/partner.conf" \
    --emulator "https://127.0.0.1:$GW_EMU_PORT" --ca "$GW_DIR/emu/ca.pem" \
    --recipient "0192:$GW_ORG" "$@"
}

phase_listing() {
  local sizes="100 1000 10000" known=0
  [ "$BENCH_QUICK" = 1 ] && sizes="100 1000"
  bench_emu_reset
  for n in $sizes; do
    bench_log "listing: seeding to $n transfers"
    gw_emu POST /_emulator/faults '{"clear":true}' > /dev/null
    # The fresh file of the last step counts among the known ones.
    if ! ls_seed --count $((n - known)) --start "$known" --prefix seed > "$BENCH_WORK/seed.out" 2>&1; then
      bench_log "FAILED seeding: $(tail -n 2 "$BENCH_WORK/seed.out")"
      bench_record listing "ls.$n.error" 1
      return 1
    fi
    known=$n
    ls_learn "$n" || return 1
    bench_limits altinn || return 1
    # The calls made while learning count in the organisation's budget for
    # a minute (the gateway shares it through its store, as Altinn counts
    # them): measure once that minute is over, as in steady operation.
    local left=$((LS_LEARNED_AT + 61 - EPOCHSECONDS))
    if [ "$left" -gt 0 ]; then
      bench_log "listing $n: waiting ${left} s for learning's calls to leave the rate window"
      sleep "$left"
    fi
    gw_emu POST /_emulator/faults "$LS_LATENCY" > /dev/null
    local rl0; rl0=$(bench_state 'd["rateLimited"]')
    bench_log "listing $n: cold, then warm in the same session"
    ls_session "$n" cold_ms warm_same_ms 3
    # New sessions take turns with the baseline: a plain directory of as
    # many files, listed by the same ProFTPD and client.
    bench_log "listing $n: warm, new sessions; a plain directory of $n files, new sessions"
    ls_plain_dir "$n"
    for _ in 1 2 3 4 5; do
      ls_session "$n" warm_new_ms warm_new_ms 1
      ls_session "$n" plain_new_ms plain_new_ms 1 /plain-ls
    done
    rm -rf "$GW_DIR/home/$GW_USER/plain-ls"

    bench_log "listing $n: a newly published file"
    local wout="$BENCH_WORK/wait.out" name="fresh$n-00000.txt"
    BENCH_CLIENT_TIMEOUT=60 bench_client wait /inbox "$name" 30000 200 > "$wout" 2>&1 &
    local waiter=$!
    sleep 2
    ls_seed --count 1 --prefix "fresh$n" --no-pause-limits > "$BENCH_WORK/seed.out" 2>&1
    local pub; pub=$(bench_kv published_at_ms "$BENCH_WORK/seed.out")
    wait "$waiter"
    local at; at=$(bench_kv at_ms "$wout")
    if [ "$(bench_kv found "$wout")" = 1 ] && [ -n "$pub" ]; then
      bench_record listing "ls.$n.fresh_s" "$(awk -v a="$at" -v p="$pub" 'BEGIN{v=(a-p)/1000; if (v<0) v=0; printf "%.2f", v}')"
    else
      bench_log "FAILED listing $n: $name not listed ($(tail -n 1 "$wout"))"
      bench_record listing "ls.$n.fresh_error" 1
    fi
    known=$((known + 1))
    bench_record listing "ls.$n.rate_limited" $(( $(bench_state 'd["rateLimited"]') - rl0 ))
  done
  gw_emu POST /_emulator/faults '{"clear":true}' > /dev/null
  bench_emu_reset
}
