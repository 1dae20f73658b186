# phase-throughput.sh - upload and download through ProFTPD, side by side:
# (a) a plain directory of the same ProFTPD (/plain, on the same disk as the
# spool and the emulator's store) and (b) the mount (/outbox, /inbox) to the
# emulator over TLS on loopback. Both clients (OpenSSH sftp, our libssh
# client), every size, every repetition interleaved: plain and mount run
# back to back, alternating which goes first, so that the load of the
# shared machine hits both alike. Every run also records the session
# process's peak RSS and CPU time and the emulator's CPU time (the memory
# table and the profile section use them). Sourced by bench.sh.

# One transfer. tp_run CLIENT DIR SIZE_LABEL TARGET SRC DST
# CLIENT sftp|libssh; DIR up|down; TARGET plain|mount|mount-post.
tp_run() {
  local client=$1 dir=$2 size=$3 target=$4 src=$5 dst=$6
  local key="${TP_PREFIX:-tp}.$client.$dir.$size.$target"
  local w="$BENCH_WORK/watch.out" out="$BENCH_WORK/client.out" tf="$BENCH_WORK/time.out"
  rm -f "$w" "$out"
  bench_session_watch "$w" &
  local watcher=$!
  local emu0 helpers0 mach0; emu0=$(bench_cpu_ticks "$GW_EMU_PID"); helpers0=$(bench_daemon_children_ticks)
  mach0=$(bench_cpu_total)
  local rc secs close_ms=
  if [ "$client" = libssh ]; then
    local op=put; [ "$dir" = down ] && op=get
    /usr/bin/time -f '%U %S' -o "$tf" \
      "$top_builddir/tests/bench/ab-bench-sftp" -p "$GW_SFTP_PORT" -u "$GW_USER" \
      -i "$GW_DIR/client/id_ed25519" -x 300 "$op" "$src" "$dst" > "$out" 2>&1
    rc=$?
    secs=$(bench_kv secs "$out")
    close_ms=$(bench_kv close_ms "$out")
  else
    # sftp's own clock lines around the one command: the login is not timed.
    local cmd="put $src $dst"; [ "$dir" = down ] && cmd="get $src $dst"
    printf '!date +%%s%%N\n%s\n!date +%%s%%N\n!sleep 0.3\n' "$cmd" > "$BENCH_WORK/batch"
    # shellcheck disable=SC2086
    /usr/bin/time -f '%U %S' -o "$tf" sftp $GW_SSH_OPTS -b "$BENCH_WORK/batch" "$GW_USER@127.0.0.1" > "$out" 2>&1
    rc=$?
    secs=$(grep -E '^[0-9]{16,}$' "$out" | awk 'NR==1{a=$1} NR==2{b=$1} END{if (b) printf "%.3f", (b-a)/1e9}')
  fi
  wait "$watcher"
  local emu1 helpers1 mach1; emu1=$(bench_cpu_ticks "$GW_EMU_PID"); helpers1=$(bench_daemon_children_ticks)
  mach1=$(bench_cpu_total)
  if [ $rc -ne 0 ] || [ -z "$secs" ]; then
    bench_log "FAILED $key (exit $rc): $(tail -n 3 "$out" | tr '\n' ' ')"
    bench_record throughput "$key.error" 1
    return 1
  fi
  local bytes; bytes=$(stat -c %s "$BENCH_WORK/src-$size.bin")
  if [ "$client" = libssh ] && [ "$(bench_kv bytes "$out")" != "$bytes" ]; then
    bench_log "FAILED $key: moved $(bench_kv bytes "$out") bytes of $bytes"
    bench_record throughput "$key.error" 1
    return 1
  fi
  bench_record throughput "$key.mbps" "$(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.1f", b/1e6/s}')"
  [ -n "$close_ms" ] && bench_record throughput "$key.close_ms" "$close_ms"
  local hz; hz=$(getconf CLK_TCK)
  bench_record throughput "$key.hwm_kb" "$(bench_kv hwm_kb "$w")"
  bench_record throughput "$key.session_cpu_s" "$(awk -v t="$(bench_kv cpu_ticks "$w")" -v h="$hz" 'BEGIN{printf "%.2f", t/h}')"
  bench_record throughput "$key.session_main_cpu_s" "$(awk -v t="$(bench_kv main_ticks "$w")" -v h="$hz" 'BEGIN{printf "%.2f", t/h}')"
  bench_record throughput "$key.emulator_cpu_s" "$(awk -v a="$emu0" -v b="$emu1" -v h="$hz" 'BEGIN{printf "%.2f", (b-a)/h}')"
  bench_record throughput "$key.agent_cpu_s" "$(awk -v a="$helpers0" -v b="$helpers1" -v h="$hz" 'BEGIN{v=(b-a)/h; if (v<0) v=0; printf "%.2f", v}')"
  bench_record throughput "$key.client_cpu_s" "$(awk '{printf "%.2f", $1+$2}' "$tf")"
  bench_record throughput "$key.secs" "$secs"
  # How busy the whole machine was meanwhile (other work included).
  bench_record throughput "$key.machine_busy_pct" "$(echo "$mach0 $mach1" | awk '{b=$3-$1; i=$4-$2; if (b+i>0) printf "%.0f", 100*b/(b+i)}')"
  return 0
}

# Checks what a user would: the Broker stored the right bytes as one
# Published transfer (upload), or the downloaded file is identical. The
# Broker publishes asynchronously (a TUS upload in parts is stitched and
# hashed after the CLOSE reply), so this waits up to 2 minutes, which also
# keeps that background work out of the next measured run.
tp_verify_upload() {
  local name=$1 md5=$2 key=$3 got
  for _ in $(seq 1 240); do
    got=$(bench_state "[t['status']+':'+str(t.get('storedMd5')) for t in d['transfers'] if t['fileName']=='$name']")
    case $got in *UploadStarted*|*UploadProcessing*|'["Initialized:'*) sleep 0.5 ;; *) break ;; esac
  done
  if [ "$got" != "[\"Published:$md5\"]" ]; then
    bench_log "FAILED $key: the Broker holds $got for $name, expected one Published with MD5 $md5"
    bench_record throughput "$key.error" 1
  fi
}

tp_verify_same() {
  if ! cmp -s "$1" "$2"; then
    bench_log "FAILED $3: $2 differs from $1"
    bench_record throughput "$3.error" 1
  fi
}

# One pair (plain and MOUNT_TARGET, default mount) in the order given by
# the repetition number.
tp_pair() {
  local client=$1 dir=$2 size=$3 rep=$4 mt=${5:-mount}
  local src="$BENCH_WORK/src-$size.bin" md5; md5=$(cat "$src.md5")
  local order="plain $mt"; [ $((rep % 2)) -eq 0 ] && order="$mt plain"
  for target in $order; do
    local key="tp.$client.$dir.$size.$target"
    if [ "$dir" = up ]; then
      if [ "$target" = plain ]; then
        tp_run "$client" up "$size" plain "$src" "/plain/up-$size.bin" &&
          tp_verify_same "$src" "$GW_DIR/home/$GW_USER/plain/up-$size.bin" "$key"
        rm -f "$GW_DIR/home/$GW_USER/plain/up-$size.bin"
      else
        local name="up-$size-$client-$rep.bin"
        tp_run "$client" up "$size" "$target" "$src" "/outbox/$name" &&
          tp_verify_upload "$name" "$md5" "$key"
        bench_emu_reset   # frees the stored bytes and the rate-limit windows
      fi
    else
      local got="$BENCH_WORK/got.bin"
      rm -f "$got"
      if [ "$target" = plain ]; then
        tp_run "$client" down "$size" plain "/plain/dl-$size.bin" "$got" &&
          tp_verify_same "$src" "$got" "$key"
      else
        tp_run "$client" down "$size" mount "/inbox/dl-$size.bin" "$got" &&
          tp_verify_same "$src" "$got" "$key"
      fi
      rm -f "$got"
    fi
  done
}

phase_throughput() {
  local sizes="100M 1G"
  [ "$BENCH_QUICK" = 1 ] && sizes="100M"
  bench_log "throughput: sizes $sizes, clients sftp libssh, $BENCH_REPS repetitions"
  bench_make_file "$BENCH_WORK/src-100M.bin" 100000000
  [ "$BENCH_QUICK" = 1 ] || bench_make_file "$BENCH_WORK/src-1G.bin" 1073741824
  for s in $sizes; do
    [ -f "$BENCH_WORK/src-$s.bin.md5" ] && [ "$BENCH_WORK/src-$s.bin.md5" -nt "$BENCH_WORK/src-$s.bin" ] ||
      md5sum < "$BENCH_WORK/src-$s.bin" | cut -d' ' -f1 > "$BENCH_WORK/src-$s.bin.md5"
  done
  mkdir -p "$GW_DIR/home/$GW_USER/plain"
  chown "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER/plain"
  TP_POST_MODE=0 TP_PIPE_MODE=0
  if bench_gateway_accepts "AltinnBrokerUpload tus-above=1T"; then
    TP_POST_MODE=1
  else
    bench_log "throughput: this build has no AltinnBrokerUpload; one upload mode only"
  fi
  bench_gateway_accepts "AltinnBrokerUpload pipeline=on" && TP_PIPE_MODE=1

  # Upload modes: the default (files from 64 MiB on go by TUS, in up to 4
  # parallel parts; smaller ones in one streamed POST); as "mount-post",
  # one streamed POST whatever the size (both spool first and send at
  # CLOSE); as "mount-pipe", pipeline=on (sent while written).
  bench_emu_reset
  for rep in $(seq 1 "$BENCH_REPS"); do
    for s in $sizes; do
      for c in sftp libssh; do
        bench_log "upload $s $c repetition $rep"
        tp_pair "$c" up "$s" "$rep"
      done
    done
    if [ "$TP_POST_MODE" = 1 ]; then
      bench_gateway_conf "AltinnBrokerUpload tus-above=1T"
      bench_restart_proftpd || return 1
      for s in $sizes; do
        bench_log "upload $s libssh repetition $rep, one streamed POST"
        tp_pair libssh up "$s" "$rep" mount-post
      done
      bench_gateway_conf
      bench_restart_proftpd || return 1
    fi
    if [ "$TP_PIPE_MODE" = 1 ]; then
      bench_gateway_conf "AltinnBrokerUpload pipeline=on"
      bench_restart_proftpd || return 1
      for s in $sizes; do
        for c in sftp libssh; do
          bench_log "upload $s $c repetition $rep, pipeline=on"
          tp_pair "$c" up "$s" "$rep" mount-pipe
        done
      done
      bench_gateway_conf
      bench_restart_proftpd || return 1
    fi
  done

  # Download sources: the partner sends each file to us once; the same
  # bytes sit in the plain directory.
  bench_emu_reset
  for s in $sizes; do
    gw_partner send /outbox "$BENCH_WORK/src-$s.bin" "dl-$s.bin" > /dev/null 2>&1 ||
      bench_log "FAILED: the partner could not send dl-$s.bin"
    cp "$BENCH_WORK/src-$s.bin" "$GW_DIR/home/$GW_USER/plain/dl-$s.bin"
  done
  chown -R "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER/plain"
  for rep in $(seq 1 "$BENCH_REPS"); do
    for s in $sizes; do
      for c in sftp libssh; do
        bench_log "download $s $c repetition $rep"
        tp_pair "$c" down "$s" "$rep"
      done
    done
  done
  rm -f "$GW_DIR/home/$GW_USER/plain/"dl-*.bin
  bench_emu_reset
}
