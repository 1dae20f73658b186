#!/bin/sh
# A bad configuration stops ProFTPD (`proftpd -t` and a real start) with the
# file, the line and the reason, also when the bad line sits in a file
# included from a directory (Debian's "Include /etc/proftpd/conf.d/", where
# ProFTPD 1.3.8 itself would only log the error and start without the line).
# The admin CLI reads the same files and reports the same place.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

work=$(mktemp -d /tmp/ab-config.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" >/dev/null
conf=$GW_DIR/proftpd.conf
mkdir -p "$GW_DIR/conf.d"
echo "Include $GW_DIR/conf.d/" >> "$conf"
cli="$top_builddir/plugin/altinn-broker"

# check NAME CONTENT EXPECTED-TEXT: conf.d/NAME holds CONTENT; proftpd -t must
# fail and say EXPECTED-TEXT (a regex), a real start must fail too.
check() {
  rm -f "$GW_DIR"/conf.d/*
  printf '%s\n' "$2" > "$GW_DIR/conf.d/$1"
  gw_proftpd -t -c "$conf" > "$work/t.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && grep -Eq "$3" "$work/t.out"; then
    tap_ok "proftpd -t refuses $1: $3"
  else
    tap_not_ok "proftpd -t refuses $1: $3 (rc=$rc)"; tap_diag < "$work/t.out"
  fi
}

check 10-bad-value.conf \
  'AltinnBrokerMount /x client=gateway resource=r direction=sideways' \
  "conf.d/10-bad-value.conf.*direction must be 'outbox' or 'inbox'"
check 20-unknown-client.conf \
  "# a comment
AltinnBrokerMount /x client=nosuch resource=r direction=inbox users=bob" \
  "conf.d/20-unknown-client.conf:2: AltinnBrokerMount /x uses client 'nosuch'"
check 30-continued.conf \
  "AltinnBrokerMount /outbox client=gateway resource=r \\
   direction=outbox recipients=0192:312345678" \
  "conf.d/30-continued.conf:2: AltinnBrokerMount /outbox is declared twice for the same users \\(first at $GW_DIR/proftpd.conf:[0-9]+\\)"
check 40-groups.conf \
  "AltinnBrokerMount /in2 client=gateway resource=r direction=inbox groups=" \
  "conf.d/40-groups.conf.*expected key=value"

# A real start refuses too (ProFTPD alone would start without the line).
rm -f "$GW_DIR"/conf.d/*
printf 'AltinnBrokerMount /x client=gateway resource=r direction=sideways\n' > "$GW_DIR/conf.d/bad.conf"
timeout 10 env LD_PRELOAD="$(gw_preload)" ASAN_OPTIONS=detect_leaks=0 proftpd -n -c "$conf" > "$work/start.out" 2>&1
rc=$?
tap_check "proftpd refuses to start (exit $rc, not killed by timeout)" test $rc -ne 0 -a $rc -ne 124
tap_check "and says where and why" grep -q "configuration error: $GW_DIR/conf.d/bad.conf:1: AltinnBrokerMount: direction must be" "$work/start.out"

# The admin CLI reads the same files: same place, same reason.
"$cli" -c "$conf" ls /inbox > "$work/cli.out" 2>&1
rc=$?
tap_eq "altinn-broker refuses the same config (exit 2)" 2 $rc
tap_check "naming the included file and line" grep -q "$GW_DIR/conf.d/bad.conf:1: AltinnBrokerMount: direction must be" "$work/cli.out"

# A good organisation file in conf.d is read by both.
cat > "$GW_DIR/conf.d/org-b.conf" <<CONF
AltinnBrokerClient partner client-id=22222222-2222-4222-8222-222222222222 org=$GW_PARTNER_ORG \\
    key=$GW_DIR/emu/keys/partner.key kid=partner-key-1
AltinnBrokerMount /b/outbox client=partner resource=demo-resource direction=outbox \\
    recipients=0192:$GW_ORG groups=orgb
CONF
rm -f "$GW_DIR/conf.d/bad.conf"
gw_proftpd -t -c "$conf" > "$work/t.out" 2>&1
tap_eq "a second organisation in conf.d passes proftpd -t" 0 $?
"$cli" -c "$conf" -g orgb ls /b/outbox > "$work/cli.out" 2>&1
tap_eq "and the CLI, acting for its group, lists its mount" 0 $?
"$cli" -c "$conf" -u alice ls /b/outbox > "$work/cli.out" 2>&1
tap_eq "while a user outside the group does not see it" 1 $?
tap_check "and is told so" grep -q "/b/outbox: not in an Altinn Broker mount" "$work/cli.out"
tap_done
