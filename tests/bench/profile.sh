#!/bin/bash
# profile.sh - where a session's CPU goes: ProFTPD runs under callgrind
# (every forked session gets its own profile) while our libssh client puts
# one file into /outbox and gets one from /inbox; then callgrind_annotate
# lists each session's most expensive functions (inclusive and self).
# Run it through `make bench-profile` (BENCH_ARGS="--size MB", default 32).
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
bench_make_file "$src" $((size_mb * 1048576))
bench_log "profile: upload of $size_mb MiB into /outbox"
bench_client put "$src" /outbox/profile.bin | tee "$prof/upload.out"
gw_partner send /outbox "$src" profile-in.bin > /dev/null 2>&1
bench_log "profile: download of $size_mb MiB from /inbox"
bench_client get /inbox/profile-in.bin "$BENCH_WORK/profile-got.bin" | tee "$prof/download.out"
cmp -s "$src" "$BENCH_WORK/profile-got.bin" || bench_log "FAILED: the downloaded bytes differ"
rm -f "$BENCH_WORK/profile-got.bin"
gw_stop

# The session profiles: the files written by processes other than the daemon.
for f in "$prof"/callgrind.*; do
  grep -q 'altinn\|ab_' "$f" 2>/dev/null || continue
  total=$(sed -n 's/^summary: //p;s/^totals: //p' "$f" | head -n 1)
  [ -n "$total" ] && [ "$total" -gt 0 ] 2>/dev/null || continue
  echo "=== $(basename "$f"): $total instructions"
  callgrind_annotate --inclusive=yes "$f" 2>/dev/null | sed -n '/Ir/,$p' | head -n 30
  echo "--- self"
  callgrind_annotate "$f" 2>/dev/null | sed -n '/Ir/,$p' | head -n 20
done | tee "$prof/summary.txt"
