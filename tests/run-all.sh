#!/bin/sh
# tests/run-all.sh - the whole test suite, as the README and CI run it.
#
# Builds out of tree in _build/default and, with --sanitizers, again in
# _build/asan (ASan + UBSan), runs `make check` in each, and ends with one
# line: "N passed, N failed, N skipped (T test scripts)". With --distcheck,
# `make distcheck` (tarball builds and passes its own make check) counts as
# one more test.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
builds="default"
distcheck=no
for arg in "$@"; do
  case $arg in
    --sanitizers) builds="default asan" ;;
    --distcheck) distcheck=yes ;;
    *) echo "usage: tests/run-all.sh [--sanitizers] [--distcheck]" >&2; exit 2 ;;
  esac
done

if [ ! -x configure ] || [ configure.ac -nt configure ]; then
  autoreconf -fi || { echo "0 passed, 1 failed, 0 skipped (autoreconf failed)"; exit 1; }
fi

total_pass=0; total_fail=0; total_skip=0; total_scripts=0
for b in $builds; do
  dir="$src/_build/$b"
  mkdir -p "$dir"
  flags=""
  [ "$b" = asan ] && flags="--enable-sanitizers"
  echo "=== build $b ($dir)"
  if [ ! -f "$dir/Makefile" ] || [ "$dir/config.status" -ot "$src/configure" ]; then
    (cd "$dir" && "$src/configure" $flags >"$dir/configure.out" 2>&1) || {
      tail -n 20 "$dir/configure.out"; total_fail=$((total_fail + 1)); continue; }
  fi
  if ! make -C "$dir" -j2 >"$dir/make.out" 2>&1; then
    tail -n 40 "$dir/make.out"; total_fail=$((total_fail + 1)); continue
  fi
  echo "=== make check ($b)"
  make -C "$dir" -j1 check 2>&1 | grep -E '^(PASS|FAIL|ERROR|SKIP|XFAIL|XPASS|# )' 
  line=$(sh "$src/tests/summary.sh" "$dir" | tail -n 1)
  sh "$src/tests/summary.sh" "$dir" | grep -v passed
  echo "--- $b: $line"
  set -- $line
  total_pass=$((total_pass + $1)); total_fail=$((total_fail + $3)); total_skip=$((total_skip + $5))
  total_scripts=$((total_scripts + $(echo "$7" | tr -d '(')))
done
if [ "$distcheck" = yes ]; then
  echo "=== make distcheck"
  if make -C "$src/_build/default" distcheck >"$src/_build/default/distcheck.out" 2>&1; then
    echo "PASS: make distcheck"; total_pass=$((total_pass + 1))
  else
    tail -n 40 "$src/_build/default/distcheck.out"; echo "FAIL: make distcheck"; total_fail=$((total_fail + 1))
  fi
fi
echo "$total_pass passed, $total_fail failed, $total_skip skipped ($total_scripts test scripts; builds: $builds)"
[ "$total_fail" -eq 0 ]
