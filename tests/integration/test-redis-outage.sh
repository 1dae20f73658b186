#!/bin/sh
# Redis stopped and started again while two gateway nodes are busy:
#  - uploads keep going through on both nodes (tokens and the rate budget
#    fall back to node-local), and each is one Published transfer: nothing
#    lost, nothing duplicated;
#  - listings still answer; confirming (rm) is refused while Redis is down,
#    so nothing can be confirmed twice, and works once it is back;
#  - the log says what was degraded and when it recovered, and the writes
#    made meanwhile (upload journal) reach Redis.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/redis-env.sh"

if [ ! -x "$REDIS_BIN" ]; then
  tap_skip "Redis outage with two nodes" "redis-server is not installed (apt-get install redis-server)"
  tap_done; exit 0
fi
work=$(mktemp -d /tmp/ab-redis-outage.XXXXXX)
chmod 755 "$work"
trap 'gw_node2_stop; redis_stop; gw_stop; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
redis_start "$work/redis" || { tap_not_ok "redis-server starts"; tap_done; exit 1; }
mkdir -p "$work/gw"; GW_DIR=$work/gw
redis_conf "$work/redis.conf"
gw_setup "$work/gw" "$work/redis.conf"
gw_node2_setup
if ! gw_start || ! gw_node2_start; then tap_not_ok "both nodes start"; tap_done; exit 1; fi
tap_ok "Redis and two ProFTPD nodes start"
log1="$work/gw/log/altinn-broker.log"; log2="$work/gw/log/altinn-broker-2.log"
client=11111111-1111-4111-8111-111111111111

# Before the outage: a file read whole on node 1 (not yet confirmed), and
# both nodes have listed and hold the token.
head -c 150000 /dev/urandom > "$work/r.bin"
gw_partner send /outbox "$work/r.bin" read-before.bin > /dev/null 2>&1
printf 'get /inbox/read-before.bin %s/r.got\n' "$work" > "$work/get.batch"
gw_sftp "$work/get.batch" > "$work/get.out" 2>&1
tap_eq "node 1 reads a file whole before the outage" 0 $?
printf 'ls -l /inbox\n' > "$work/ls.batch"
gw_sftp2 "$work/ls.batch" > /dev/null 2>&1

# --- uploads on both nodes while Redis goes away and comes back -------------
N=24
mkdir -p "$work/up"
for node in 1 2; do
  for i in $(seq 1 $N); do
    printf 'outage node %s file %d\n' $node $i > "$work/up/n$node-$i.txt"
    printf 'put %s /outbox/o%s-%03d.txt\n' "$work/up/n$node-$i.txt" $node $i > "$work/up/b$node-$i"
  done
done
run_node() {
  opts=$GW_SSH_OPTS; [ "$1" = 2 ] && opts=$GW_SSH_OPTS2
  for i in $(seq 1 $N); do
    sftp $opts -b "$work/up/b$1-$i" "$GW_USER@127.0.0.1" > "$work/up/out$1-$i" 2>&1
    echo $? > "$work/up/rc$1-$i"
    sleep 0.25
  done
}
run_node 1 & p1=$!
run_node 2 & p2=$!
sleep 2
redis_stop
tap_ok "Redis stopped mid-run"
sleep 1
# While Redis is down:
gw_sftp2 "$work/ls.batch" > "$work/ls-down.out" 2>&1
tap_eq "a listing on node 2 still answers" 0 $?
tap_check "and shows what is known" grep -q 'read-before.bin' "$work/ls-down.out"
printf 'rm /inbox/read-before.bin\n' > "$work/rm.batch"
gw_sftp "$work/rm.batch" > "$work/rm-down.out" 2>&1
tap_check "rm (confirm) on node 1 is refused while Redis is down" test $? -ne 0
tap_check "the log says confirming is paused" grep -q 'confirming is paused' "$log1"
tap_check "and what else is degraded" grep -q 'shared state degraded' "$log1"
sleep 2
redis_start
tap_ok "Redis started again (same data, AOF)"
wait $p1 $p2

ok=$(cat "$work"/up/rc* | grep -c '^0$')
tap_eq "all $((2 * N)) uploads during the outage exit 0" $((2 * N)) "$ok"
state=$(gw_emu GET /_emulator/state)
tap_eq "each is one Published transfer (none lost)" $((2 * N)) \
  "$(echo "$state" | gw_json 'len(set(t["fileName"] for t in d["transfers"] if t["fileName"][:2] in ("o1","o2") and t["status"]=="Published"))')"
tap_eq "none was sent twice" $((2 * N)) \
  "$(echo "$state" | gw_json 'len([t for t in d["transfers"] if t["fileName"][:2] in ("o1","o2")])')"
tap_eq "the emulator answered no 429" 0 "$(echo "$state" | gw_json 'd["rateLimited"]')"
grants=$(echo "$state" | gw_json "d['grants'].get('$client',0)")
tap_check "tokens stayed node-local meanwhile: at most 2 grants ($grants)" test "$grants" -le 2

# --- after Redis is back -----------------------------------------------------
for _ in $(seq 1 50); do
  grep -q 'available again' "$log1" && break
  sleep 0.2
done
gw_sftp "$work/rm.batch" > "$work/rm-up.out" 2>&1
tap_eq "rm on node 1 confirms once Redis is back" 0 $?
tap_check "the log says Redis is available again" grep -q 'available again' "$log1"
state=$(gw_emu GET /_emulator/state)
tap_eq "the Broker got exactly one confirm" 1 "$(echo "$state" | gw_json 'd["requests"].get("confirm",0)')"
gw_sftp2 "$work/rm.batch" > "$work/rm2.out" 2>&1
tap_check "rm of the same file on node 2 does not confirm it again" \
  test "$(gw_emu GET /_emulator/state | gw_json 'd["requests"].get("confirm",0)')" = 1
for _ in $(seq 1 50); do
  grep -q 'replayed' "$log1" "$log2" && break
  sleep 0.2
done
tap_check "writes queued during the outage were replayed into Redis" grep -q 'replayed' "$log1" "$log2"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in get.out ls-down.out rm-down.out rm-up.out rm2.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  for f in "$work"/up/out*; do grep -q 'Failure\|error' "$f" && { echo "--- $f"; cat "$f"; }; done | head -20 | tap_diag
  grep -v debug "$log1" | tail -n 25 | tap_diag
  grep -v debug "$log2" | tail -n 15 | tap_diag
fi
tap_done
