#!/bin/sh
# The Debian package, built and used as a new admin would:
#
#   packaging/build-deb.sh builds proftpd-mod-altinn-broker from this tree
#   (dpkg-buildpackage -us -uc); its contents, modes and dependencies are
#   checked; it is unpacked into a scratch root (dpkg -x: nothing on this
#   machine changes) next to a copy of this machine's stock Debian ProFTPD
#   configuration, which includes /etc/proftpd/conf.d/ as shipped. The admin
#   then does what README's walkthrough says: enables the sample snippet's
#   LoadModule lines, points it at the Altinn emulator, defines two
#   organisations with their users, runs `proftpd -t` and `altinn-broker
#   check`. Two SFTP users, one per organisation, each send and receive,
#   neither sees the other's files, and the logs show every transfer with
#   its fileTransferId.
#
# Sandbox-only edits (a real install needs none of them): paths under
# /etc/proftpd, /var and /usr/lib/proftpd point into the scratch root, ports
# are free loopback ports, the daemon's pid/scoreboard/delay files live in
# the scratch root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"

if [ "${SANITIZERS:-no}" = yes ]; then
  # The package is built from the sources with Debian's flags, whatever this
  # build's flags are: once (in the default build) is enough.
  tap_skip "Debian package" "built and tested in the default build"
  tap_done; exit 0
fi
work=$(mktemp -d /tmp/ab-deb.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT

# --- build ------------------------------------------------------------------
DEB_BUILD_OPTIONS=nocheck "$top_srcdir/packaging/build-deb.sh" "$work/deb" > "$work/build.out" 2>&1
tap_eq "packaging/build-deb.sh (dpkg-buildpackage -us -uc) succeeds" 0 $?
deb=$(ls "$work"/deb/proftpd-mod-altinn-broker_*.deb 2>/dev/null | head -n 1)
if [ -z "$deb" ]; then tail -n 30 "$work/build.out" | tap_diag; tap_done; exit 1; fi

# --- contents -----------------------------------------------------------------
dpkg-deb -c "$deb" > "$work/contents"
has() { grep -Eq "^$1 +root/root +[0-9]+ [0-9-]+ [0-9:]+ \./$2\$" "$work/contents"; }
tap_check "the module in ProFTPD's module directory" has '-rw-r--r--' usr/lib/proftpd/mod_altinn_broker.so
tap_check "no libtool archive beside it" sh -c "! grep -q 'mod_altinn_broker.la' '$work/contents'"
tap_check "the CLI" has '-rwxr-xr-x' usr/bin/altinn-broker
tap_check "the sample snippet in conf.d" has '-rw-r--r--' etc/proftpd/conf.d/altinn-broker.conf
tap_check "which is a conffile" sh -c "dpkg-deb -f '$deb' Package >/dev/null && dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./conffiles | grep -qx /etc/proftpd/conf.d/altinn-broker.conf"
tap_check "man page mod_altinn_broker(5)" has '-rw-r--r--' usr/share/man/man5/mod_altinn_broker.5.gz
tap_check "man page altinn-broker(1)" has '-rw-r--r--' usr/share/man/man1/altinn-broker.1.gz
tap_check "the spool directory, mode 1733" has 'drwx-wx-wt' var/spool/altinn-broker/
tap_check "the state directory, mode 0700" has 'drwx------' var/lib/altinn-broker/
tap_check "the agent's systemd unit (for AltinnBrokerAgent external)" has '-rw-r--r--' lib/systemd/system/altinn-broker-agent.service
tap_check "the events receiver's unit (for events=webhook inboxes)" has '-rw-r--r--' lib/systemd/system/altinn-broker-events.service
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./postinst > "$work/postinst" 2>/dev/null
tap_check "both installed disabled: enabled only if the admin had enabled them, never started" sh -c \
  "grep -q \"was-enabled 'altinn-broker-agent.service'\" '$work/postinst' && grep -q \"was-enabled 'altinn-broker-events.service'\" '$work/postinst' && ! grep -q 'deb-systemd-invoke' '$work/postinst'"
depends=$(dpkg-deb -f "$deb" Depends)
tap_check "it depends on ProFTPD's module ABI (proftpd-abi-1.3.8)" sh -c "echo '$depends' | grep -q 'proftpd-abi-1.3.8'"
tap_eq "and is named like Debian's ProFTPD modules" proftpd-mod-altinn-broker "$(dpkg-deb -f "$deb" Package)"

# --- install into a scratch root beside the stock configuration --------------
root=$work/root
dpkg -x "$deb" "$root"
tap_check "the snippet as shipped leaves a stock ProFTPD unchanged (it loads nothing)" \
  sh -c "grep -Eq '^# *LoadModule mod_altinn_broker.c' '$root/etc/proftpd/conf.d/altinn-broker.conf'"
chmod 755 "$work" "$root"
mkdir -p "$root/run" "$root/var/log/proftpd" "$root/etc/ssh" "$root/etc/proftpd/altinn" \
         "$root/etc/proftpd/authorized_keys" "$root/srv/altinn-broker"
cp /etc/proftpd/proftpd.conf /etc/proftpd/modules.conf "$root/etc/proftpd/"
ftp_port=$(gw_free_port); sftp_port=$(gw_free_port); emu_port=$(gw_free_port)
"$top_srcdir/tests/emulator/demo-config.sh" "$work/emu" "$emu_port"
ssh-keygen -q -t ed25519 -N '' -f "$root/etc/ssh/ssh_host_ed25519_key"
ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -f "$root/etc/ssh/ssh_host_rsa_key"
for f in "$root"/etc/proftpd/*.conf "$root"/etc/proftpd/conf.d/*.conf; do
  sed -i -e "s|/etc/proftpd/|$root/etc/proftpd/|g" -e "s|/etc/ssh/|$root/etc/ssh/|g" \
         -e "s|/var/log/proftpd|$root/var/log/proftpd|g" -e "s|/var/spool/altinn-broker|$root/var/spool/altinn-broker|g" \
         -e "s|/var/lib/altinn-broker|$root/var/lib/altinn-broker|g" "$f"
done
conf=$root/etc/proftpd/proftpd.conf
snippet=$root/etc/proftpd/conf.d/altinn-broker.conf
sed -i -e "s/^Port[[:space:]]*21$/Port $ftp_port/" -e 's/^UseIPv6[[:space:]]*on/UseIPv6 off/' \
       -e 's/^DelayEngine[[:space:]]*on/DelayEngine off/' "$conf"
cat >> "$conf" <<CONF
# sandbox: loopback only, runtime files in the scratch root
DefaultAddress 127.0.0.1
SocketBindTight on
PidFile $root/run/proftpd.pid
ScoreboardFile $root/run/proftpd.scoreboard
CONF
sed -i -e "s/<VirtualHost 0.0.0.0>/<VirtualHost 127.0.0.1>/" -e "s/^\( *\)Port  *2222$/\1Port $sftp_port/" "$snippet"
sed -i -e "s|^# *LoadModule mod_altinn_broker.c|  ModulePath $root/usr/lib/proftpd\n  LoadModule mod_altinn_broker.c|" "$snippet"

# --- what the admin does (README: "Configure two organisations") -------------
sed -i -e 's|^# *LoadModule mod_sftp.c|    LoadModule mod_sftp.c|' "$snippet"
install -m 0600 "$work/emu/keys/gateway.key" "$root/etc/proftpd/altinn/org-a.pem"
install -m 0600 "$work/emu/keys/partner.key" "$root/etc/proftpd/altinn/org-b.pem"
"$GW_PY" - "$snippet" "$emu_port" "$work/emu/ca.pem" "$root" <<'PY'
import re, sys
path, port, ca, root = sys.argv[1:]
text = open(path).read()
# Drop the example client and mounts (logical lines, with continuations).
text = re.sub(r'\n  (AltinnBrokerClient org-a|AltinnBrokerMount /(outbox|inbox)) (?:[^\n]*\\\n)*[^\n]*', '', text)
text = text.replace("AltinnBrokerEnvironment   tt02",
    "AltinnBrokerEnvironment   custom\n"
    f"  AltinnBrokerPlatformURL   https://127.0.0.1:{port}\n"
    f"  AltinnBrokerMaskinportenURL https://127.0.0.1:{port}/\n"
    f"  AltinnBrokerCACertificate {ca}")
orgs = f"""
  AltinnBrokerClient org-a client-id=11111111-1111-4111-8111-111111111111 org=999888777 \\
      key={root}/etc/proftpd/altinn/org-a.pem kid=gateway-key-1
  AltinnBrokerClient org-b client-id=22222222-2222-4222-8222-222222222222 org=312345678 \\
      key={root}/etc/proftpd/altinn/org-b.pem kid=partner-key-1
  AltinnBrokerMount /outbox client=org-a resource=demo-resource direction=outbox recipients=0192:312345678 groups=org-a
  AltinnBrokerMount /inbox  client=org-a resource=demo-resource direction=inbox groups=org-a
  AltinnBrokerMount /outbox client=org-b resource=demo-resource direction=outbox recipients=0192:999888777 groups=org-b
  AltinnBrokerMount /inbox  client=org-b resource=demo-resource direction=inbox groups=org-b
"""
text = text.replace("  # Mounts, as users see them", orgs + "  # Mounts, as users see them", 1)
open(path, "w").write(text)
PY
ssh-keygen -q -t ed25519 -N '' -f "$work/client_key"
passwd=$root/etc/proftpd/ftpd.passwd; group=$root/etc/proftpd/ftpd.group
for u in alice:2001:org-a bob:2002:org-b; do
  name=${u%%:*}; rest=${u#*:}; uid=${rest%%:*}; grp=${rest#*:}
  mkdir -p "$root/srv/altinn-broker/$name"; chown "$uid:$uid" "$root/srv/altinn-broker/$name"
  echo "$name-pw" | ftpasswd --passwd --file="$passwd" --name="$name" --uid="$uid" --gid="$uid" \
    --home="$root/srv/altinn-broker/$name" --shell=/bin/false --stdin >/dev/null 2>&1
  ftpasswd --group --file="$group" --name="$grp" --gid="$uid" --member="$name" >/dev/null 2>&1
  ssh-keygen -e -f "$work/client_key.pub" > "$root/etc/proftpd/authorized_keys/$name"
done
chmod 440 "$passwd" "$group"

proftpd -t -c "$conf" > "$work/t.out" 2>&1
tap_eq "proftpd -t accepts the stock configuration with the snippet enabled" 0 $?
cli="$root/usr/bin/altinn-broker -c $conf"

# --- run it -------------------------------------------------------------------
"$top_builddir/tests/emulator/altinn-emulator" --config "$work/emu/emulator.json" > "$work/emu.out" 2>&1 &
GW_EMU_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$work/emu.out" 2>/dev/null && break; sleep 0.05; done
proftpd -n -c "$conf" > "$work/proftpd.out" 2>&1 &
GW_FTPD_PID=$!
for _ in $(seq 1 100); do ss -ltn | grep -q "127.0.0.1:$sftp_port " && break; sleep 0.05; done
tap_check "the installed module starts with the stock daemon" sh -c "ss -ltn | grep -q '127.0.0.1:$sftp_port '"
GW_EMU_PORT=$emu_port; GW_DIR=$work   # for gw_emu

$cli -u alice -g org-a check > "$work/check-a.out" 2>&1
tap_eq "altinn-broker check passes for organisation A's mounts" 0 $?
$cli -g org-b check > "$work/check-b.out" 2>&1
tap_eq "and for organisation B's" 0 $?

sftp_as() {
  sftp -i "$work/client_key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o LogLevel=ERROR -P "$sftp_port" -b "$2" "$1@127.0.0.1"
}
head -c 400000 /dev/urandom > "$work/a.bin"; head -c 300000 /dev/urandom > "$work/b.bin"
printf 'put %s /outbox/from-a.bin\n' "$work/a.bin" > "$work/a.batch"
sftp_as alice "$work/a.batch" > "$work/a.out" 2>&1
tap_eq "alice (organisation A) sends" 0 $?
printf 'put %s /outbox/from-b.bin\n' "$work/b.bin" > "$work/b.batch"
sftp_as bob "$work/b.batch" > "$work/b.out" 2>&1
tap_eq "bob (organisation B) sends" 0 $?
state=$(gw_emu GET /_emulator/state)
tap_eq "the Broker has both, each from its own organisation" \
  "from-a.bin 0192:999888777 Published|from-b.bin 0192:312345678 Published" \
  "$(echo "$state" | gw_json '"|".join(sorted(t["fileName"]+" "+t["sender"]+" "+t["status"] for t in d["transfers"]))')"

printf 'ls -l /inbox\nget /inbox/from-b.bin %s/a-got.bin\nrm /inbox/from-b.bin\n-get /inbox/from-a.bin %s/a-stolen.bin\n' \
  "$work" "$work" > "$work/a2.batch"
sftp_as alice "$work/a2.batch" > "$work/a2.out" 2>&1
tap_eq "alice receives and confirms bob's file" 0 $?
tap_check "with identical bytes" cmp -s "$work/b.bin" "$work/a-got.bin"
tap_check "and cannot read the file she sent to organisation B" test ! -s "$work/a-stolen.bin"
printf 'ls -l /inbox\nget /inbox/from-a.bin %s/b-got.bin\nrm /inbox/from-a.bin\n-get /inbox/from-b.bin %s/b-stolen.bin\n' \
  "$work" "$work" > "$work/b2.batch"
sftp_as bob "$work/b2.batch" > "$work/b2.out" 2>&1
tap_eq "bob receives and confirms alice's file" 0 $?
tap_check "with identical bytes" cmp -s "$work/a.bin" "$work/b-got.bin"
tap_check "and his listing never showed organisation A's inbox" sh -c "! grep -q '^-r.*from-b.bin\$' '$work/b2.out'"
tap_check "nor could he read it" test ! -s "$work/b-stolen.bin"
state=$(gw_emu GET /_emulator/state)
tap_eq "both transfers were confirmed by their recipients" "AllConfirmedDownloaded AllConfirmedDownloaded" \
  "$(echo "$state" | gw_json '" ".join(t["status"] for t in d["transfers"])')"

# --- every transfer in the logs with its id ----------------------------------
ids=$(echo "$state" | gw_json '" ".join(t["fileTransferId"] for t in d["transfers"])')
log=$root/var/log/proftpd/altinn-broker.log
xlog=$root/var/log/proftpd/altinn-broker-transfers.log
for id in $ids; do
  tap_check "module log: upload, download and confirm of $id" sh -c \
    "grep -q 'transfer upload ok: .*fileTransferId=$id' '$log' && grep -q 'transfer download ok: .*fileTransferId=$id' '$log' && grep -q 'transfer confirm ok: .*fileTransferId=$id' '$log'"
  tap_eq "ExtendedLog: STOR, RETR and DELE lines with $id" 3 "$(grep -c "id=$id " "$xlog")"
done
tap_check "no token or key in any log" sh -c "! grep -rqe 'eyJ[A-Za-z0-9_-]*\\.' -e 'PRIVATE KEY' '$root/var/log/proftpd'"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in build.out t.out check-a.out check-b.out a.out b.out a2.out b2.out proftpd.out; do
    echo "--- $f"; tail -n 25 "$work/$f"; done | tap_diag
  tail -n 20 "$log" "$xlog" 2>/dev/null | tap_diag
fi
tap_done
