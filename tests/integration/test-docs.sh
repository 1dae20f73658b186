#!/bin/sh
# The reference stays complete: every directive the module accepts is in
# mod_altinn_broker(5) and README's configuration tables, every command of
# the CLI is in altinn-broker(1) and README, and both man pages render
# without warnings. (A directive or command added without documentation
# fails here, naming it.)
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"

man5=$top_srcdir/packaging/man/mod_altinn_broker.5
man1=$top_srcdir/packaging/man/altinn-broker.1
readme=$top_srcdir/README.md
directives=$(grep -o '{ "AltinnBroker[A-Za-z]*"' "$top_srcdir/gateway-glue/proftpd/mod_altinn_broker.c" | tr -d '{" ' | sort -u)
tap_check "the module's conftable lists directives" test -n "$directives"
for d in $directives; do
  tap_check "$d is in mod_altinn_broker(5)" grep -q "$d" "$man5"
  tap_check "$d is in README" grep -q "\`$d" "$readme"
done
commands=$(sed -n '/^} commands\[\] = {/,/^};/p' "$top_srcdir/plugin/altinn_broker_cli.c" | grep -o '^  { "[a-z-]*"' | tr -d '{" ')
tap_check "the CLI's dispatch table lists commands" test -n "$commands"
for c in $commands; do
  tap_check "altinn-broker $c is in altinn-broker(1)" grep -Eq "^\\.(B|BI|BR) \"?$c\\b" "$man1"
  tap_check "altinn-broker $c is in README" grep -q "| \`$c" "$readme"
done
for m in "$man5" "$man1"; do
  out=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$m" 2>&1 >/dev/null)
  tap_eq "$(basename "$m") renders without warnings" "" "$out"
done
tap_done
