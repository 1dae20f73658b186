# redis-env.sh - sourced by the multi-node tests (after gateway-env.sh): a
# real redis-server on a free loopback port (password, AOF persistence, so a
# restart keeps its data), and a second ProFTPD node sharing it.
#
#   redis_start DIR        starts (or restarts on the same port) redis-server
#   redis_stop             stops it (SIGTERM: it writes its data first)
#   redis_conf FILE        writes the AltinnBrokerRedis* lines for the gateway
#   gw_node2_setup         node 2: a copy of $GW_DIR/proftpd.conf with its
#                          own port, pid, scoreboard, state dir and logs
#   gw_node2_start / gw_node2_stop
#   gw_sftp2 BATCH         sftp -b against node 2

REDIS_BIN=$(command -v redis-server || echo /usr/bin/redis-server)

redis_start() {
  REDIS_DIR=${1:-$REDIS_DIR}
  mkdir -p "$REDIS_DIR"
  REDIS_PORT=${REDIS_PORT:-$(gw_free_port)}
  "$REDIS_BIN" --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass redis-test-pw \
    --dir "$REDIS_DIR" --appendonly yes --appendfsync always --save '' \
    --logfile "$REDIS_DIR/redis.log" --daemonize no > /dev/null 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 1 100); do
    ss -ltn 2>/dev/null | grep -q "127.0.0.1:$REDIS_PORT " && return 0
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "redis-server did not start" >&2
  return 1
}

redis_stop() {
  [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
  REDIS_PID=
}

redis_conf() {
  printf 'redis-test-pw\n' > "$GW_DIR/redis.pass"
  chmod 600 "$GW_DIR/redis.pass"
  cat > "$1" <<CONF
<IfModule mod_altinn_broker.c>
  AltinnBrokerRedis          127.0.0.1:$REDIS_PORT
  AltinnBrokerRedisPassword  file:$GW_DIR/redis.pass
  AltinnBrokerRedisPrefix    gw-test:
  AltinnBrokerRedisTimeout   1000
</IfModule>
CONF
}

gw_node2_setup() {
  GW_SFTP_PORT2=$(gw_free_port)
  mkdir -p "$GW_DIR/statedb2"
  chmod 700 "$GW_DIR/statedb2"
  sed -e "s|^Port .*|Port                    $GW_SFTP_PORT2|" \
      -e "s|$GW_DIR/state/proftpd.pid|$GW_DIR/state/proftpd2.pid|" \
      -e "s|$GW_DIR/state/proftpd.scoreboard|$GW_DIR/state/proftpd2.scoreboard|" \
      -e "s|AltinnBrokerStateDir .*|AltinnBrokerStateDir $GW_DIR/statedb2|" \
      -e "s|$GW_DIR/log/altinn-broker.log|$GW_DIR/log/altinn-broker-2.log|" \
      -e "s|$GW_DIR/log/sftp.log|$GW_DIR/log/sftp-2.log|" \
      "$GW_DIR/proftpd.conf" > "$GW_DIR/proftpd2.conf"
  GW_SSH_OPTS2=$(echo "$GW_SSH_OPTS" | sed "s/-P $GW_SFTP_PORT/-P $GW_SFTP_PORT2/")
}

gw_node2_start() {
  LD_PRELOAD="$(gw_preload)" ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 \
    ${GW_LAUNCH:-} proftpd -n -q -c "$GW_DIR/proftpd2.conf" > "$GW_DIR/log/proftpd2.out" 2>&1 &
  GW_FTPD2_PID=$!
  for _ in $(seq 1 200); do
    ss -ltn 2>/dev/null | grep -q "127.0.0.1:$GW_SFTP_PORT2 " && return 0
    kill -0 "$GW_FTPD2_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "proftpd node 2 did not start:" >&2; cat "$GW_DIR/log/proftpd2.out" >&2
  return 1
}

gw_node2_stop() {
  [ -n "${GW_FTPD2_PID:-}" ] && kill "$GW_FTPD2_PID" 2>/dev/null && wait "$GW_FTPD2_PID" 2>/dev/null
  GW_FTPD2_PID=
}

gw_sftp2() {
  # shellcheck disable=SC2086
  sftp $GW_SSH_OPTS2 -b "$1" "$GW_USER@127.0.0.1"
}
