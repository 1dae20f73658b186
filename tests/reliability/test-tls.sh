#!/bin/sh
# TLS verification is always on. A CA that did not sign the Broker's
# certificate, no CA at all (the test CA is not in the system store), or a
# certificate for another host name each stop the gateway with a message
# that says so - in the admin CLI and at the SFTP client's CLOSE. No
# directive turns verification off, http:// URLs are refused, and the
# source has no way to disable it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

work=$(mktemp -d /tmp/ab-tls.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" >/dev/null
conf=$GW_DIR/proftpd.conf
cp "$conf" "$work/good.conf"
cli() { "$top_builddir/plugin/altinn-broker" -c "$conf" "$@"; }

# Another CA, and a certificate from the right CA for the wrong host name.
"$top_srcdir/tests/emulator/make-test-pki.sh" "$work/rogue"
mkdir -p "$work/wrong"
printf 'subjectAltName=DNS:wrong.example\nextendedKeyUsage=serverAuth\n' > "$work/wrong/ext.cnf"
openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$work/wrong/server.key" \
  -out "$work/wrong/server.csr" -subj "/CN=wrong.example" >/dev/null 2>&1
openssl x509 -req -sha256 -days 2 -in "$work/wrong/server.csr" -CA "$GW_DIR/emu/ca.pem" \
  -CAkey "$GW_DIR/emu/ca.key" -set_serial 0x42 -extfile "$work/wrong/ext.cnf" \
  -out "$work/wrong/server.pem" >/dev/null 2>&1
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi

cli check --timeout 10 > "$work/cli.out" 2>&1
tap_eq "control: with the emulator's CA, altinn-broker check passes" 0 $?

restart_ftpd() { # CONF-SED: rewrites the module's config, restarts ProFTPD
  cp "$work/good.conf" "$conf"
  sed -i "$1" "$conf"
  kill "$GW_FTPD_PID"; wait "$GW_FTPD_PID" 2>/dev/null
  rel_wait_for 10 sh -c "! ss -ltn | grep -q '127.0.0.1:$GW_SFTP_PORT '"
  gw_start_proftpd
}
refused() { # WHAT LOG-REGEX
  cli check --timeout 10 > "$work/cli.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && grep -Eq "$2" "$work/cli.out"; then
    tap_ok "$1: altinn-broker check fails (exit $rc) saying so"
  else
    tap_not_ok "$1: the admin CLI (exit $rc)"; tap_diag < "$work/cli.out"
  fi
  name=tls-$TAP_N.bin
  head -c 1000 /dev/urandom > "$work/$name"
  printf 'put %s /outbox/%s\n' "$work/$name" "$name" > "$work/put.batch"
  gw_sftp "$work/put.batch" > "$work/put.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && grep -q 'close remote' "$work/put.out" && grep -Eq "$2" "$GW_DIR/log/altinn-broker.log"; then
    tap_ok "$1: an SFTP put fails at CLOSE (exit $rc) and the gateway log says why"
  else
    tap_not_ok "$1: SFTP put (exit $rc)"; tap_diag < "$work/put.out"
    tail -n 5 "$GW_DIR/log/altinn-broker.log" | tap_diag
  fi
  tap_eq "$1: the Broker got nothing" none \
    "$(emu_state | gw_json "('some' if [t for t in d['transfers'] if t['fileName']=='$name'] else 'none')")"
}
# The emulator's state, also while it presents the wrong.example certificate.
emu_state() {
  curl -sS --cacert "$GW_DIR/emu/ca.pem" --resolve "wrong.example:$GW_EMU_PORT:127.0.0.1" \
    "https://$emu_host:$GW_EMU_PORT/_emulator/state"
}
emu_host=127.0.0.1
not_trusted='TLS verification of 127\.0\.0\.1 failed \(certificate not trusted by the configured CA bundle or wrong host name\)'

restart_ftpd "s|AltinnBrokerCACertificate .*|AltinnBrokerCACertificate $work/rogue/ca.pem|"
refused "a CA that did not sign the Broker's certificate" "$not_trusted"

restart_ftpd "/AltinnBrokerCACertificate/d"
refused "no CA configured (the system store does not know the test CA)" "$not_trusted"

# The right CA, but the emulator presents a certificate for wrong.example.
sed "s|\"cert\": *\"[^\"]*\"|\"cert\": \"$work/wrong/server.pem\"|; s|\"key\": *\"$GW_DIR/emu/server.key\"|\"key\": \"$work/wrong/server.key\"|" \
  "$GW_DIR/emu/emulator.json" > "$work/emulator-wrong.json"
cp "$GW_DIR/emu/emulator.json" "$work/emulator-good.json"
cp "$work/emulator-wrong.json" "$GW_DIR/emu/emulator.json"
rel_restart_emulator
emu_host=wrong.example
restart_ftpd "s|^X||"
refused "a certificate for another host name" "$not_trusted.*(host name|subject name)"

# Back to the right certificate: everything works again.
cp "$work/emulator-good.json" "$GW_DIR/emu/emulator.json"
rel_restart_emulator
emu_host=127.0.0.1
cli check --timeout 10 > "$work/cli.out" 2>&1
tap_eq "with the right CA and certificate, check passes again" 0 $?

# No directive turns verification off; plain HTTP is refused at startup.
cp "$work/good.conf" "$conf"
sed -i "s|AltinnBrokerPlatformURL .*|AltinnBrokerPlatformURL http://127.0.0.1:$GW_EMU_PORT|" "$conf"
gw_proftpd -t -c "$conf" > "$work/t.out" 2>&1
rc=$?
tap_check "proftpd -t refuses an http:// platform URL (exit $rc)" \
  sh -c "[ $rc -ne 0 ] && grep -q 'must be an https:// URL' '$work/t.out'"
for d in AltinnBrokerTLSVerify AltinnBrokerInsecure AltinnBrokerSSLVerify; do
  cp "$work/good.conf" "$conf"
  sed -i "s|^\(  AltinnBrokerLog .*\)|\1\n  $d off|" "$conf"
  gw_proftpd -t -c "$conf" > "$work/t.out" 2>&1
  tap_check "there is no $d directive (proftpd -t refuses it)" test $? -ne 0
done
found=$(grep -rnE 'VERIFY(PEER|HOST|STATUS)[^;]*, *0L?\)|SSL_VERIFY_NONE|CURLSSLOPT_NO_REVOKE|allow_plain_http *= *1' \
  "$top_srcdir/plugin" "$top_srcdir/gateway-glue" 2>/dev/null)
tap_eq "no source line in plugin/ or gateway-glue/ turns TLS verification off" "" "$found"
tap_eq "the plain-HTTP switch is set only by the unit tests" "" \
  "$(grep -rln 'allow_plain_http' "$top_srcdir/plugin" "$top_srcdir/gateway-glue" | grep -v 'ab_http\.[ch]$')"
tap_done
