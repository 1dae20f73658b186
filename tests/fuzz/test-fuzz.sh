#!/bin/sh
# Runs every libFuzzer target (tests/fuzz/fuzz_*.c) for FUZZ_SECONDS each
# (default 10; `make fuzz-long`: 300), starting from the committed seed
# corpus. A crash, leak, sanitizer report or broken invariant fails the
# target; the input that did it is printed (hex) so it can be added to the
# seed corpus once fixed. SKIP when configure found no libFuzzer clang.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/integration/tap.sh"
secs=${FUZZ_SECONDS:-10}
targets="fuzz_broker_reply fuzz_problem fuzz_auth_reply fuzz_json fuzz_names fuzz_config"

if [ ! -x "$top_builddir/tests/fuzz/fuzz_names" ]; then
  for t in $targets; do tap_skip "$t" "no clang with libFuzzer (apt-get install clang libclang-rt-14-dev, then configure again)"; done
  tap_done; exit 0
fi

work=$(mktemp -d /tmp/ab-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
for t in $targets; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a reply that
  # makes us allocate without bound is a finding too.
  TMPDIR="$work/$t" "$top_builddir/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
    -max_len=65536 -dict="$top_srcdir/tests/fuzz/json.dict" -print_final_stats=1 \
    -artifact_prefix="$work/$t/artifacts/" \
    "$work/$t/corpus" "$top_srcdir/tests/fuzz/corpus/$t" < /dev/null > "$work/$t/log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log")
  if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
    tap_ok "$t: ${runs} inputs in ${secs} s, no crash, leak or broken invariant"
  else
    tap_not_ok "$t: exit $rc after ${runs:-?} inputs"
    grep -aE 'ERROR|SUMMARY|abort|error|==[0-9]+==|#[0-9]+ ' "$work/$t/log" | head -n 40 | tap_diag
    for a in "$work/$t/artifacts/"*; do
      [ -f "$a" ] || continue
      echo "input $(basename "$a") (hex):"; od -An -tx1 -v "$a" | head -n 40
    done | tap_diag
  fi
done
tap_done
