# phase-memory.sh - peak RSS of the session process against file size.
# The 100 MB and 1 GiB figures come from every throughput run (each run
# samples its session's VmHWM); this phase adds 10 GiB, with --long only:
# a sparse source file (the client reads zeros, so only the gateway's spool
# and the emulator's store take disk space, and only for one run at a time).
# Sourced by bench.sh.

phase_memory() {
  if [ "$BENCH_LONG" != 1 ]; then
    bench_log "memory: 100 MB and 1 GiB from the throughput runs; 10 GiB only with make bench-long"
    return 0
  fi
  local src="$BENCH_WORK/src-10G.bin"
  rm -f "$src"
  truncate -s 10G "$src"
  mkdir -p "$GW_DIR/home/$GW_USER/plain"
  chown "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER/plain"
  bench_emu_reset
  bench_log "memory: 10 GiB upload, plain"
  TP_PREFIX=mem tp_run libssh up 10G plain "$src" /plain/up-10G.bin
  rm -f "$GW_DIR/home/$GW_USER/plain/up-10G.bin"
  bench_log "memory: 10 GiB upload, mount"
  TP_PREFIX=mem tp_run libssh up 10G mount "$src" /outbox/up-10G.bin
  local st
  st=$(bench_state "[t['status']+':'+str(t['size']) for t in d['transfers'] if t['fileName']=='up-10G.bin']")
  [ "$st" = '["Published:10737418240"]' ] ||
    { bench_log "FAILED mem 10G upload: the Broker holds $st"; bench_record throughput mem.libssh.up.10G.mount.error 1; }
  bench_emu_reset

  bench_log "memory: 10 GiB download (the partner sends it first)"
  gw_partner send /outbox "$src" dl-10G.bin > /dev/null 2>&1 ||
    bench_log "FAILED: the partner could not send dl-10G.bin"
  ln -f "$src" "$GW_DIR/home/$GW_USER/plain/dl-10G.bin" 2>/dev/null ||
    cp --sparse=always "$src" "$GW_DIR/home/$GW_USER/plain/dl-10G.bin"
  chown "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER/plain/dl-10G.bin"
  TP_PREFIX=mem tp_run libssh down 10G plain /plain/dl-10G.bin /dev/null
  TP_PREFIX=mem tp_run libssh down 10G mount /inbox/dl-10G.bin /dev/null
  rm -f "$GW_DIR/home/$GW_USER/plain/dl-10G.bin" "$src"
  bench_emu_reset
}
