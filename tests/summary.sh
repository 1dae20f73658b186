#!/bin/sh
# Prints one closing line over all TAP results of the last `make check`:
#   "N passed, N failed, N skipped (T test scripts)"
# Usage: tests/summary.sh BUILDDIR
dir=${1:-.}
find "$dir" -name '*.trs' -newer "$dir/config.status" 2>/dev/null | sort > /tmp/ab-trs.$$
scripts=$(wc -l < /tmp/ab-trs.$$)
pass=0; fail=0; skip=0
for trs in $(cat /tmp/ab-trs.$$); do
  log=${trs%.trs}.log
  p=$(grep -c '^ok ' "$log" 2>/dev/null); s=$(grep -c '^ok .*# *SKIP' "$log" 2>/dev/null)
  f=$(grep -c '^not ok ' "$log" 2>/dev/null)
  pass=$((pass + p - s)); skip=$((skip + s)); fail=$((fail + f))
  # A script that crashed or printed no plan counts as one failure.
  if grep -q '^:test-result: ERROR' "$trs"; then fail=$((fail + 1)); echo "ERROR in ${log}"; fi
  if grep -q '^:test-result: FAIL' "$trs"; then echo "FAIL in ${log}"; fi
done
rm -f /tmp/ab-trs.$$
echo "$pass passed, $fail failed, $skip skipped ($scripts test scripts)"
[ "$fail" -eq 0 ]
