#!/bin/sh
# Two ProFTPD gateway nodes (two ports, one configuration otherwise) share
# their state through one Redis on loopback:
#  - the Altinn token is fetched once for both (one Maskinporten grant);
#  - 160 uploads at once (80 per node) stay inside the Broker's 120 calls
#    per minute per endpoint and organisation: the shared budget makes the
#    late ones wait, and the emulator, which enforces the limits, answers
#    no 429;
#  - a file confirmed through node 1 disappears from node 2's listing at once,
#    and is confirmed exactly once.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/redis-env.sh"

if [ ! -x "$REDIS_BIN" ]; then
  tap_skip "two nodes sharing Redis" "redis-server is not installed (apt-get install redis-server)"
  tap_done; exit 0
fi
work=$(mktemp -d /tmp/ab-redis-nodes.XXXXXX)
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
tap_check "both agents use the Redis store" sh -c "grep -q 'redis store' '$log1' && grep -q 'redis store' '$log2'"
client=11111111-1111-4111-8111-111111111111

# --- 160 uploads at once, 80 through each node -------------------------------
N=80
mkdir -p "$work/up"
for node in 1 2; do
  for i in $(seq 1 $N); do
    printf 'node %s file %d\n' $node $i > "$work/up/n$node-$i.txt"
    printf 'put %s /outbox/n%s-%03d.txt\n' "$work/up/n$node-$i.txt" $node $i > "$work/up/b$node-$i"
  done
done
run_node() {
  opts=$GW_SSH_OPTS; [ "$1" = 2 ] && opts=$GW_SSH_OPTS2
  seq 1 $N | xargs -P 8 -I{} sh -c \
    "sftp $opts -b '$work/up/b$1-{}' $GW_USER@127.0.0.1 > '$work/up/out$1-{}' 2>&1; echo \$? > '$work/up/rc$1-{}'"
}
start=$(date +%s)
run_node 1 & p1=$!
run_node 2 & p2=$!
wait $p1 $p2
took=$(( $(date +%s) - start ))
ok=$(cat "$work"/up/rc* | grep -c '^0$')
tap_eq "all $((2 * N)) uploads through the two nodes exit 0" $((2 * N)) "$ok"
state=$(gw_emu GET /_emulator/state)
echo "# $((2 * N)) uploads took ${took}s; initialize calls: $(echo "$state" | gw_json 'd["requests"].get("initialize",0)')"
tap_eq "one Maskinporten grant for both nodes" 1 "$(echo "$state" | gw_json "d['grants'].get('$client',0)")"
tap_eq "every upload is one Published transfer" $((2 * N)) \
  "$(echo "$state" | gw_json 'len(set(t["fileName"] for t in d["transfers"] if t["fileName"][:2] in ("n1","n2") and t["status"]=="Published"))')"
tap_eq "no transfer was created twice" $((2 * N)) \
  "$(echo "$state" | gw_json 'len([t for t in d["transfers"] if t["fileName"][:2] in ("n1","n2")])')"
tap_eq "the emulator, enforcing 120/min per endpoint, answered no 429" 0 "$(echo "$state" | gw_json 'd["rateLimited"]')"
tap_check "the shared budget made calls wait (logged by a node)" \
  sh -c "grep -q 'waiting .* for the Broker rate budget' '$log1' '$log2'"

# --- a confirm through node 1 shows on node 2 --------------------------------
head -c 100000 /dev/urandom > "$work/x.bin"
gw_partner send /outbox "$work/x.bin" shared-x.bin > /dev/null 2>&1
printf 'ls -l /inbox\n' > "$work/ls.batch"
gw_sftp2 "$work/ls.batch" > "$work/ls2a.out" 2>&1
tap_check "node 2 lists the new file" grep -q 'shared-x.bin' "$work/ls2a.out"
printf 'get /inbox/shared-x.bin %s/x.got\nrm /inbox/shared-x.bin\n' "$work" > "$work/getrm.batch"
gw_sftp "$work/getrm.batch" > "$work/getrm.out" 2>&1
tap_eq "node 1 downloads and confirms it (rm)" 0 $?
gw_sftp2 "$work/ls.batch" > "$work/ls2b.out" 2>&1
tap_check "node 2's listing no longer shows it" sh -c "! grep -q 'shared-x.bin' '$work/ls2b.out'"
printf 'rm /inbox/shared-x.bin\n' > "$work/rm2.batch"
gw_sftp2 "$work/rm2.batch" > "$work/rm2.out" 2>&1
tap_check "rm of it on node 2 fails (it is gone)" test $? -ne 0
state=$(gw_emu GET /_emulator/state)
tap_eq "the Broker got exactly one confirm" 1 "$(echo "$state" | gw_json 'd["requests"].get("confirm",0)')"
tap_eq "still one grant in all" 1 "$(echo "$state" | gw_json "d['grants'].get('$client',0)")"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in up/out1-1 up/out2-1 ls2a.out getrm.out ls2b.out rm2.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  grep -v debug "$log1" | tail -n 20 | tap_diag
  grep -v debug "$log2" | tail -n 20 | tap_diag
fi
tap_done
