#!/bin/sh
# packaging/quickstart.sh - install, build and start a local demo gateway:
# ProFTPD with mod_altinn_broker on 127.0.0.1, backed by the Altinn emulator
# (the embedded default; production config points at TT02 or production).
#
#   packaging/quickstart.sh          (as root) install packages, build, start, print how to connect
#   packaging/quickstart.sh stop     stop the demo
#
# Everything lives in ./run/demo; connection details go to
# ./run/demo/connection.env (shell-sourceable).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
demo="$src/run/demo"

stop_demo() {
  for p in "$demo/state/proftpd.fg.pid" "$demo/state/emulator.pid"; do
    [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null || true
    rm -f "$p"
  done
}
if [ "${1:-}" = stop ]; then stop_demo; sleep 0.2; echo "demo stopped"; exit 0; fi

if [ "$(id -u)" != 0 ]; then
  echo "quickstart: run as root (sudo): it installs packages and starts ProFTPD, which switches users" >&2
  exit 1
fi
echo "==> installing Debian packages"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q $(cat packaging/build-deps.txt) >/dev/null
# Debian's proftpd-core may start a system daemon on port 21; the demo does not need it.
systemctl disable --now proftpd >/dev/null 2>&1 || true

echo "==> building"
[ -x configure ] || autoreconf -fi >/dev/null 2>&1
mkdir -p _build/default
( cd _build/default && { [ -f Makefile ] || "$src/configure" >configure.out 2>&1; } && make -j2 >make.out 2>&1 ) || {
  echo "quickstart: build failed; see _build/default/configure.out and make.out" >&2; exit 1; }

echo "==> starting the Altinn emulator and ProFTPD"
stop_demo
top_srcdir=$src
top_builddir=$src/_build/default
GW_LAUNCH=setsid
. "$src/tests/integration/gateway-env.sh"
gw_setup "$demo"
gw_start
. "$demo/connection.env"
cat <<MSG

The gateway is running (ProFTPD pid $(cat "$demo/state/proftpd.fg.pid"), emulator pid $(cat "$demo/state/emulator.pid")).
Connect (key auth; password "$GW_PASSWORD" also works):

  $GW_SFTP

  sftp> put somefile /outbox/somefile     # becomes a Broker transfer to org $GW_PARTNER_ORG
  sftp> ls -l /inbox                      # files other organisations sent to org $GW_ORG
  sftp> get /inbox/NAME ; rm /inbox/NAME  # download, then confirm

Connection details: $demo/connection.env   (. it; then: \$GW_SFTP)
Send a file to the gateway as the partner org: \$GW_PARTNER_CLI send /outbox FILE
What the Broker recorded: curl --cacert $GW_CA $GW_EMULATOR/_emulator/state
Stop: packaging/quickstart.sh stop
MSG
