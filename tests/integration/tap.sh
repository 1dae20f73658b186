# tap.sh - minimal TAP producer for the shell tests (plan printed at the end).
TAP_N=0
TAP_FAILED=0
tap_ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1"; }
tap_not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $1"; }
# tap_check DESCRIPTION COMMAND...: ok when the command succeeds.
tap_check() {
  desc=$1; shift
  if "$@"; then tap_ok "$desc"; else tap_not_ok "$desc"; fi
}
# tap_eq DESCRIPTION EXPECTED ACTUAL
tap_eq() {
  if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_not_ok "$1"; echo "#   expected: $2"; echo "#   actual:   $3"; fi
}
tap_skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
tap_diag() { sed 's/^/# /'; }
tap_done() { echo "1..$TAP_N"; [ "$TAP_FAILED" -eq 0 ]; }
