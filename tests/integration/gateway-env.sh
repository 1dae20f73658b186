# gateway-env.sh - sourced by the integration tests, the benchmarks and the
# demo: builds a complete local gateway in one directory and runs it.
#
#   the Altinn emulator (tests/emulator, HTTPS with a generated test CA),
#   a real ProFTPD with mod_sftp and mod_altinn_broker on 127.0.0.1,
#   an SFTP user "tester" (publickey and password "tester-pw") whose
#   mounts act for org 999888777: /outbox (sends to 312345678) and /inbox,
#   and partner.conf: a CLI config acting for org 312345678, the other side.
#
# Usage: . gateway-env.sh; gw_setup DIR; gw_start; ...; gw_stop
# Needs: top_builddir and top_srcdir (absolute).

GW_USER=tester
GW_PASSWORD=tester-pw
GW_ORG=999888777
GW_PARTNER_ORG=312345678
GW_PY=/usr/bin/python3   # Debian's python3 (paramiko, json), not a pyenv one

gw_free_port() {
  "$GW_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# gw_setup DIR [EXTRA_CONF_FILE]: writes everything into DIR (absolute).
gw_setup() {
  GW_DIR=$1
  mkdir -p "$GW_DIR"
  GW_DIR=$(cd "$GW_DIR" && pwd)
  chmod 755 "$GW_DIR"
  mkdir -p "$GW_DIR/modules" "$GW_DIR/hostkeys" "$GW_DIR/log" "$GW_DIR/state" \
           "$GW_DIR/home/$GW_USER" "$GW_DIR/spool" "$GW_DIR/statedb" "$GW_DIR/client"
  chmod 755 "$GW_DIR/modules" "$GW_DIR/log" "$GW_DIR/state"
  # Sessions create anonymous (O_TMPFILE) spool files here as the user.
  chmod 1733 "$GW_DIR/spool"
  # The agent's store (tokens): its owner only.
  chmod 700 "$GW_DIR/statedb"
  GW_EMU_PORT=${GW_EMU_PORT:-$(gw_free_port)}
  GW_SFTP_PORT=${GW_SFTP_PORT:-$(gw_free_port)}
  "$top_srcdir/tests/emulator/demo-config.sh" "$GW_DIR/emu" "$GW_EMU_PORT"

  # The module is copied: ModulePath may not be world-writable, and a .so
  # replaced under a running daemon can crash it.
  cp "$top_builddir/gateway-glue/proftpd/.libs/mod_altinn_broker.so" "$GW_DIR/modules/mod_altinn_broker.so.new"
  mv -f "$GW_DIR/modules/mod_altinn_broker.so.new" "$GW_DIR/modules/mod_altinn_broker.so"

  [ -f "$GW_DIR/hostkeys/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$GW_DIR/hostkeys/host_ed25519"
  [ -f "$GW_DIR/hostkeys/host_rsa" ] || ssh-keygen -q -t rsa -b 3072 -m PEM -N '' -f "$GW_DIR/hostkeys/host_rsa"
  [ -f "$GW_DIR/client/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$GW_DIR/client/id_ed25519"
  ssh-keygen -e -f "$GW_DIR/client/id_ed25519.pub" > "$GW_DIR/hostkeys/$GW_USER.rfc4716"

  if [ "$(id -u)" = 0 ]; then
    GW_UID=$(id -u proftpd 2>/dev/null || echo 65534); GW_GID=65534
    GW_DAEMON_USER=proftpd; GW_DAEMON_GROUP=nogroup
  else
    GW_UID=$(id -u); GW_GID=$(id -g)
    GW_DAEMON_USER=$(id -un); GW_DAEMON_GROUP=$(id -gn)
  fi
  rm -f "$GW_DIR/ftpd.passwd"
  echo "$GW_PASSWORD" | ftpasswd --passwd --file="$GW_DIR/ftpd.passwd" --name=$GW_USER \
    --uid="$GW_UID" --gid="$GW_GID" --home="$GW_DIR/home/$GW_USER" --shell=/bin/false --stdin >/dev/null 2>&1
  echo "ftpgroup:x:$GW_GID:" > "$GW_DIR/ftpd.group"
  chmod 440 "$GW_DIR/ftpd.passwd" "$GW_DIR/ftpd.group"
  chown -R "$GW_UID:$GW_GID" "$GW_DIR/home/$GW_USER" 2>/dev/null || true

  cat > "$GW_DIR/proftpd.conf" <<CONF
ServerType              standalone
ServerName              "altinn-broker-sftp test gateway"
DefaultAddress          127.0.0.1
SocketBindTight         on
Port                    $GW_SFTP_PORT
User                    $GW_DAEMON_USER
Group                   $GW_DAEMON_GROUP
Umask                   022
MaxInstances            200
UseIPv6                 off
UseReverseDNS           off
<IfModule mod_ident.c>
  IdentLookups          off
</IfModule>
WtmpLog                 off
PidFile                 $GW_DIR/state/proftpd.pid
ScoreboardFile          $GW_DIR/state/proftpd.scoreboard
TransferLog             none
<IfModule mod_ctrls.c>
  ControlsEngine        off
</IfModule>
<IfModule mod_delay.c>
  DelayEngine           off
</IfModule>
AuthOrder               mod_auth_file.c
AuthUserFile            $GW_DIR/ftpd.passwd
AuthGroupFile           $GW_DIR/ftpd.group
RequireValidShell       off
AllowOverride           off
AllowOverwrite          on

<IfModule mod_dso.c>
  ModulePath            /usr/lib/proftpd
  LoadModule            mod_sftp.c
  ModulePath            $GW_DIR/modules
  LoadModule            mod_altinn_broker.c
</IfModule>

<IfModule mod_sftp.c>
  SFTPEngine            on
  SFTPLog               $GW_DIR/log/sftp.log
  SFTPHostKey           $GW_DIR/hostkeys/host_ed25519
  SFTPHostKey           $GW_DIR/hostkeys/host_rsa
  SFTPAuthMethods       publickey password
  SFTPAuthorizedUserKeys file:$GW_DIR/hostkeys/%u.rfc4716
</IfModule>

<IfModule mod_altinn_broker.c>
  AltinnBrokerEnvironment     custom
  AltinnBrokerPlatformURL     https://127.0.0.1:$GW_EMU_PORT
  AltinnBrokerMaskinportenURL https://127.0.0.1:$GW_EMU_PORT/
  AltinnBrokerCACertificate   $GW_DIR/emu/ca.pem
  AltinnBrokerSpoolDir        $GW_DIR/spool
  AltinnBrokerStateDir        $GW_DIR/statedb
  AltinnBrokerLog             $GW_DIR/log/altinn-broker.log
  AltinnBrokerClient gateway client-id=11111111-1111-4111-8111-111111111111 org=$GW_ORG \\
      key=$GW_DIR/emu/keys/gateway.key kid=gateway-key-1
  AltinnBrokerMount /outbox client=gateway resource=demo-resource direction=outbox recipients=0192:$GW_PARTNER_ORG
  AltinnBrokerMount /inbox  client=gateway resource=demo-resource direction=inbox events=pull
</IfModule>
CONF
  if [ -n "${2:-}" ]; then cat "$2" >> "$GW_DIR/proftpd.conf"; fi

  # The other organisation, driven with the admin CLI.
  cat > "$GW_DIR/partner.conf" <<CONF
AltinnBrokerEnvironment     custom
AltinnBrokerPlatformURL     https://127.0.0.1:$GW_EMU_PORT
AltinnBrokerMaskinportenURL https://127.0.0.1:$GW_EMU_PORT/
AltinnBrokerCACertificate   $GW_DIR/emu/ca.pem
AltinnBrokerSpoolDir        $GW_DIR/spool
AltinnBrokerStateDir        $GW_DIR/partner-state
AltinnBrokerClient partner client-id=22222222-2222-4222-8222-222222222222 org=$GW_PARTNER_ORG key=$GW_DIR/emu/keys/partner.key kid=partner-key-1
AltinnBrokerMount /outbox client=partner resource=demo-resource direction=outbox recipients=0192:$GW_ORG
AltinnBrokerMount /inbox  client=partner resource=demo-resource direction=inbox
CONF

  GW_SSH_OPTS="-i $GW_DIR/client/id_ed25519 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -P $GW_SFTP_PORT"
  cat > "$GW_DIR/connection.env" <<ENV
# Connection details of the local altinn-broker-sftp gateway (shell-sourceable).
GW_HOST=127.0.0.1
GW_SFTP_PORT=$GW_SFTP_PORT
GW_USER=$GW_USER
GW_PASSWORD=$GW_PASSWORD
GW_KEY=$GW_DIR/client/id_ed25519
GW_SFTP="sftp $GW_SSH_OPTS $GW_USER@127.0.0.1"
GW_EMULATOR=https://127.0.0.1:$GW_EMU_PORT
GW_CA=$GW_DIR/emu/ca.pem
GW_PARTNER_CLI="$top_builddir/plugin/altinn-broker -c $GW_DIR/partner.conf"
ENV
}

# Runs the daemon under the sanitizer runtime when the module was built with it.
gw_preload() {
  if [ "${SANITIZERS:-no}" = yes ]; then
    printf '%s %s' "$(gcc -print-file-name=libasan.so)" "$(gcc -print-file-name=libubsan.so)"
  fi
}

# gw_proftpd ARGS...: runs proftpd in the foreground with the sanitizer
# runtime preloaded when needed (for -t syntax checks and start-up tests).
gw_proftpd() {
  LD_PRELOAD="$(gw_preload)" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 proftpd "$@"
}

gw_start_emulator() {
  rm -f "$GW_DIR/log/emulator.out"
  ${GW_LAUNCH:-} "$top_builddir/tests/emulator/altinn-emulator" --config "$GW_DIR/emu/emulator.json" \
    > "$GW_DIR/log/emulator.out" 2> "$GW_DIR/log/emulator.err" &
  GW_EMU_PID=$!
  echo "$GW_EMU_PID" > "$GW_DIR/state/emulator.pid"
  for _ in $(seq 1 200); do
    grep -q 'listening on' "$GW_DIR/log/emulator.out" 2>/dev/null && return 0
    kill -0 "$GW_EMU_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "emulator did not start:" >&2; cat "$GW_DIR/log/emulator.err" >&2
  return 1
}

gw_start_proftpd() {
  LD_PRELOAD="$(gw_preload)" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
    ${GW_LAUNCH:-} proftpd -n -q -c "$GW_DIR/proftpd.conf" > "$GW_DIR/log/proftpd.out" 2>&1 &
  GW_FTPD_PID=$!
  echo "$GW_FTPD_PID" > "$GW_DIR/state/proftpd.fg.pid"
  for _ in $(seq 1 200); do
    ss -ltn 2>/dev/null | grep -q "127.0.0.1:$GW_SFTP_PORT " && return 0
    kill -0 "$GW_FTPD_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "proftpd did not start:" >&2; cat "$GW_DIR/log/proftpd.out" >&2
  return 1
}

gw_start() {
  gw_start_emulator && gw_start_proftpd
}

gw_stop() {
  [ -n "${GW_FTPD_PID:-}" ] && kill "$GW_FTPD_PID" 2>/dev/null
  [ -n "${GW_EMU_PID:-}" ] && kill "$GW_EMU_PID" 2>/dev/null
  wait 2>/dev/null
  GW_FTPD_PID=; GW_EMU_PID=
}

# gw_sftp BATCHFILE: runs OpenSSH sftp in batch mode as the test user.
gw_sftp() {
  # shellcheck disable=SC2086
  sftp $GW_SSH_OPTS -b "$1" "$GW_USER@127.0.0.1"
}

# gw_emu GET|POST PATH [JSON]: calls the emulator (inspection endpoints).
gw_emu() {
  if [ -n "${3:-}" ]; then
    curl -sS --cacert "$GW_DIR/emu/ca.pem" -X "$1" -H 'Content-Type: application/json' \
      --data "$3" "https://127.0.0.1:$GW_EMU_PORT$2"
  else
    curl -sS --cacert "$GW_DIR/emu/ca.pem" -X "$1" "https://127.0.0.1:$GW_EMU_PORT$2"
  fi
}

# gw_json EXPR: evaluates a Python expression over the JSON on stdin as `d`.
gw_json() {
  "$GW_PY" -c "import json,sys; d=json.load(sys.stdin); r=($1); print(r if not isinstance(r,(dict,list)) else json.dumps(r))"
}

# gw_inbox_names: what /inbox lists now, one name per line (a new session).
gw_inbox_names() {
  printf 'ls -1 /inbox\n' > "$GW_DIR/inbox-ls.batch"
  gw_sftp "$GW_DIR/inbox-ls.batch" 2>/dev/null | grep -v '^sftp>' | sed 's|^/inbox/||'
}

# gw_inbox_lists NAME: true when /inbox lists NAME now.
gw_inbox_lists() {
  gw_inbox_names | grep -qxF "$1"
}

gw_partner() {
  "$top_builddir/plugin/altinn-broker" -c "$GW_DIR/partner.conf" "$@"
}
