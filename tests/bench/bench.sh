#!/bin/bash
# bench.sh - the benchmarks of DESIGN.md's bars: one real ProFTPD with
# mod_altinn_broker and the emulator (tests/integration/gateway-env.sh),
# every figure a ratio against a baseline measured side by side in the same
# run. Run it through `make bench` / `make bench-long` (see README.md here).
#
#   bench.sh [--long] [--quick] [--reps N] [--phases "throughput memory listing concurrency"]
#            [--readme FILE]
#
#   --long    adds 10 GiB uploads/downloads (memory) and the concurrency run
#             at Altinn's rate limits
#   --quick   a smoke run of the harness itself: 100 MB only, 1 repetition,
#             listings up to 1,000, 10 sessions x 5 files
#   --readme  replaces the part of FILE between "<!-- bench:begin -->" and
#             "<!-- bench:end -->" with the results
#
# Writes $BENCH_OUT (default: <build>/tests/bench/out): raw.tsv (every
# measurement), results.md (the tables) and the logs of the runs; prints the
# tables. Exit status 0 when every bar is met, 1 when one is not, 2 when the
# harness itself failed. Needs root (ProFTPD switches to the test user).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:?run through make bench}" "${top_builddir:?run through make bench}"
. "$top_srcdir/tests/integration/gateway-env.sh"
. "$here/bench-lib.sh"
. "$here/phase-throughput.sh"
. "$here/phase-memory.sh"
. "$here/phase-listing.sh"
. "$here/phase-concurrency.sh"

BENCH_LONG=0
BENCH_QUICK=0
BENCH_REPS=3
phases="throughput memory listing concurrency"
readme=
while [ $# -gt 0 ]; do
  case $1 in
    --long) BENCH_LONG=1 ;;
    --quick) BENCH_QUICK=1; BENCH_REPS=1 ;;
    --reps) BENCH_REPS=$2; shift ;;
    --phases) phases=$2; shift ;;
    --readme) readme=$2; shift ;;
    *) echo "usage: bench.sh [--long] [--quick] [--reps N] [--phases LIST] [--readme FILE]" >&2; exit 2 ;;
  esac
  shift
done
export BENCH_LONG BENCH_QUICK BENCH_REPS

if [ "$(id -u)" != 0 ]; then
  echo "bench.sh: needs root (ProFTPD switches to the SFTP user's uid)" >&2
  exit 2
fi
if [ "${SANITIZERS:-no}" = yes ]; then
  echo "bench.sh: this build has sanitizers on; benchmark an ordinary build" >&2
  exit 2
fi

BENCH_OUT=${BENCH_OUT:-$top_builddir/tests/bench/out}
mkdir -p "$BENCH_OUT/data"
BENCH_OUT=$(cd "$BENCH_OUT" && pwd)
BENCH_WORK="$BENCH_OUT/data"       # generated source files, kept between runs
rm -f "$BENCH_OUT/raw.tsv"
gwroot=$(mktemp -d /var/tmp/ab-bench.XXXXXX)
chmod 755 "$gwroot"
cleanup() {
  gw_stop
  # The gateway's logs stay with the results (the gateway directory goes).
  rm -rf "$BENCH_OUT/logs"
  cp -r "$gwroot/gw/log" "$BENCH_OUT/logs" 2>/dev/null
  rm -rf "$gwroot"
  rm -f "$BENCH_WORK"/got.bin "$BENCH_WORK"/*-10G.bin
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# Production-like: sessions chrooted to the user's home (the plain directory
# of the baseline lives there too).
echo 'DefaultRoot ~' > "$gwroot/extra.conf"
gw_setup "$gwroot/gw" "$gwroot/extra.conf" > /dev/null
gw_start || exit 2

bench_record meta started "$(date -u +%Y-%m-%dT%H:%MZ)"
bench_record meta commit "$(git -C "$top_srcdir" rev-parse --short HEAD 2>/dev/null)$(git -C "$top_srcdir" diff --quiet HEAD 2>/dev/null || echo '+changes')"
bench_record meta cpu "$(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
bench_record meta memory "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
bench_record meta kernel "$(uname -r)"
bench_record meta os "$(. /etc/os-release && echo "$PRETTY_NAME")"
bench_record meta software "ProFTPD $(proftpd -v 2>&1 | sed -n 's/.*ProFTPD Version \([^ ]*\).*/\1/p'), $(ssh -V 2>&1 | cut -d, -f1), libssh $(pkg-config --modversion libssh), $(curl --version | head -n 1 | cut -d' ' -f1-2)"
bench_record meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
bench_record meta mode "$([ "$BENCH_QUICK" = 1 ] && echo quick || ([ "$BENCH_LONG" = 1 ] && echo long || echo standard)), $BENCH_REPS repetitions"
bench_record meta command "make bench$([ "$BENCH_LONG" = 1 ] && echo -long)"

for p in $phases; do
  case $p in
    throughput|memory|listing|concurrency) "phase_$p" ;;
    *) echo "bench.sh: unknown phase $p" >&2; exit 2 ;;
  esac
done
bench_record meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
gw_stop

args=(--raw "$BENCH_OUT/raw.tsv" --out "$BENCH_OUT/results.md")
[ -n "$readme" ] && args+=(--readme "$readme")
"$GW_PY" "$here/report.py" "${args[@]}"
