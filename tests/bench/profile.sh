#!/bin/bash
# profile.sh - where a session's CPU goes: ProFTPD runs under callgrind
# (every forked session gets its own profile) while our libssh client puts
# one file into /outbox and gets one from /inbox; then callgrind_annotate
# lists each session's most expensive functions (inclusive and self).
# Run it through `make bench-profile` (BENCH_ARGS="--size MB", default 32).
# Four runs, each its own session: upload and download, plain directory and
# mount; profile-report.py turns them into one table (instructions per MB by
# what they were spent on), also written to out/profile/summary.md.
#
# perf would be cheaper, but this VM exposes no hardware counters
# (`perf stat -e instructions true` says <not supported>), so instruction
# counts come from callgrind. Sessions are not chrooted here: callgrind
# writes its file when the session exits, after the chroot would hide the
# output directory.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:?run through make bench-profile}" "${top_builddir:?run through make bench-profile}"
. "$top_srcdir/tests/integration/gateway-env.sh"
. "$here/bench-lib.sh"

size_mb=32
while [ $# -gt 0 ]; do
  case $1 in
    --size) size_mb=$2; shift ;;
    *) echo "usage: profile.sh [--size MB]" >&2; exit 2 ;;
  esac
  shift
done

BENCH_OUT=${BENCH_OUT:-$top_builddir/tests/bench/out}
prof="$BENCH_OUT/profile"
rm -rf "$prof"
mkdir -p "$prof" "$BENCH_OUT/data"
chmod 1777 "$prof"            # sessions write their profile as the SFTP user
BENCH_WORK="$BENCH_OUT/data"
gwroot=$(mktemp -d /var/tmp/ab-profile.XXXXXX)
chmod 755 "$gwroot"
trap 'gw_stop; rm -rf "$gwroot"' EXIT

gw_setup "$gwroot/gw" > /dev/null
gw_start_emulator || exit 2
GW_LAUNCH="valgrind --tool=callgrind --callgrind-out-file=$prof/callgrind.%p --dump-instr=no" \
  gw_start_proftpd || exit 2
# Under valgrind the daemon needs a while before it accepts logins.
for _ in $(seq 1 100); do
  bench_client ls / > /dev/null 2>&1 && break
  sleep 0.5
done

src="$BENCH_WORK/profile-src.bin"
bytes=$((size_mb * 1048576))
bench_make_file "$src" "$bytes"
mkdir -p "$GW_DIR/home/$GW_USER/plain"
cp "$src" "$GW_DIR/home/$GW_USER/plain/in.bin"
chown -R "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER/plain"
gw_partner send /outbox "$src" profile-in.bin > /dev/null 2>&1 ||
  bench_log "FAILED: the partner could not send profile-in.bin"

# prof_run NAME ARGS...: one client run; remembers its session's profile.
runs=()
prof_run() {
  local name=$1; shift
  bench_log "profile: $name ($size_mb MiB)"
  bench_session_watch "$prof/$name.watch" &
  local w=$!
  bench_client -x 500 "$@" > "$prof/$name.out" 2>&1 || bench_log "FAILED $name: $(tail -n 1 "$prof/$name.out")"
  wait "$w"
  runs+=("$name=$prof/callgrind.$(bench_kv pid "$prof/$name.watch"):$bytes")
}
prof_run upload-plain put "$src" "$GW_DIR/home/$GW_USER/plain/up.bin"
prof_run upload-mount put "$src" /outbox/profile.bin
prof_run download-plain get "$GW_DIR/home/$GW_USER/plain/in.bin" "$BENCH_WORK/profile-got.bin"
cmp -s "$src" "$BENCH_WORK/profile-got.bin" || bench_log "FAILED: the plain download differs"
prof_run download-mount get /inbox/profile-in.bin "$BENCH_WORK/profile-got.bin"
cmp -s "$src" "$BENCH_WORK/profile-got.bin" || bench_log "FAILED: the mount download differs"
rm -f "$BENCH_WORK/profile-got.bin"
gw_stop

"$GW_PY" "$here/profile-report.py" "${runs[@]}" | tee "$prof/summary.md"
