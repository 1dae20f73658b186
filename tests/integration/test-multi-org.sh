#!/bin/sh
# One gateway, two organisations (tests/integration/multi-org-env.sh): alice
# acts for org 999888777, bob (by group) for org 312345678, both with /outbox
# and /inbox, every session chrooted (DefaultRoot ~) and running as its own
# uid. Each sends to the other and receives; neither can list, read, write,
# confirm or rename the other's files by any path a client can spell.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/multi-org-env.sh"

work=$(mktemp -d /tmp/ab-multiorg.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
printf 'DefaultRoot ~\n' > "$work/extra.conf"
gw_setup "$work/gw" "$work/extra.conf"
mo_setup
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "ProFTPD starts with two organisations' mounts at the same paths"
# Every session below lists /inbox afresh, and each listing is a Broker
# search (10 per minute per organisation): this test is about paths, not
# about the rate budget, so the emulator does not enforce it here.
gw_emu POST /_emulator/knobs '{"rateLimits": false}' >/dev/null

state() { gw_emu GET /_emulator/state; }
# transfer NAME EXPR: evaluates EXPR over the transfer named NAME as `t`.
transfer() {
  state | gw_json "[t for t in d['transfers'] if t['fileName']=='$1'][0]" | gw_json "$2"
}

# --- Each organisation sends -----------------------------------------------
head -c 300000 /dev/urandom > "$work/for-b.bin"
head -c 200000 /dev/urandom > "$work/for-a.bin"
printf 'put %s /outbox/for-b.bin\n' "$work/for-b.bin" > "$work/a-put.batch"
mo_sftp alice "$work/a-put.batch" > "$work/a-put.out" 2>&1
tap_eq "alice puts into her /outbox" 0 $?
printf 'cd /outbox\nput %s for-a.bin\n' "$work/for-a.bin" > "$work/b-put.batch"
mo_sftp bob "$work/b-put.batch" > "$work/b-put.out" 2>&1
tap_eq "bob puts into his /outbox (relative path after cd)" 0 $?
tap_eq "alice's file was sent as org $GW_ORG" "0192:$GW_ORG" "$(transfer for-b.bin 'd["sender"]')"
tap_eq "to org $GW_PARTNER_ORG" "[\"0192:$GW_PARTNER_ORG\"]" "$(transfer for-b.bin '[r["recipient"] for r in d["recipients"]]')"
tap_eq "bob's file was sent as org $GW_PARTNER_ORG" "0192:$GW_PARTNER_ORG" "$(transfer for-a.bin 'd["sender"]')"

# --- Each sees only its own inbox ------------------------------------------
printf 'ls -l /inbox\n' > "$work/ls.batch"
mo_sftp alice "$work/ls.batch" > "$work/a-ls.out" 2>&1
mo_sftp bob "$work/ls.batch" > "$work/b-ls.out" 2>&1
tap_check "alice's /inbox lists the file bob sent her" grep -q ' 200000 .*for-a.bin' "$work/a-ls.out"
tap_check "and not the file she sent to bob's organisation" sh -c "! grep -q for-b.bin '$work/a-ls.out'"
tap_check "bob's /inbox lists the file alice sent him" grep -q ' 300000 .*for-b.bin' "$work/b-ls.out"
tap_check "and not his own" sh -c "! grep -q for-a.bin '$work/b-ls.out'"

# --- alice tries every spelling of a path to org B's file ------------------
for p in /inbox/for-b.bin inbox/for-b.bin /outbox/../inbox/for-b.bin //inbox//for-b.bin \
         /./inbox/./for-b.bin ../bob/inbox/for-b.bin /../../inbox/for-b.bin \
         "$work/gw/home/bob/inbox/for-b.bin" /outbox/for-b.bin; do
  rm -f "$work/stolen"
  printf 'get %s %s/stolen\n' "$p" "$work" > "$work/steal.batch"
  mo_sftp alice "$work/steal.batch" > "$work/steal.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && [ ! -s "$work/stolen" ]; then
    tap_ok "alice cannot read org B's file as $p"
  else
    tap_not_ok "alice cannot read org B's file as $p"; tap_diag < "$work/steal.out"
  fi
done
printf 'cd /inbox\nget for-b.bin %s/stolen\n' "$work" > "$work/steal.batch"
mo_sftp alice "$work/steal.batch" > "$work/steal.out" 2>&1
tap_check "nor after cd /inbox" test $? -ne 0 -a ! -s "$work/stolen"
curl -sS -k -u alice:alice-pw -o "$work/stolen-curl" \
  "sftp://127.0.0.1:$GW_SFTP_PORT/inbox/for-b.bin" > "$work/curl.out" 2>&1
tap_check "nor with curl" test $? -ne 0 -a ! -s "$work/stolen-curl"
for cmd in "rm /inbox/for-b.bin" "rename /inbox/for-b.bin /outbox/moved.bin" \
           "rename /inbox/for-b.bin for-b.bin" "symlink /inbox/for-b.bin /outbox/link.bin" \
           "ln /inbox/for-b.bin /outbox/hard.bin" \
           "mkdir /inbox/sub" "rename /outbox /inbox/x"; do
  printf '%s\n' "$cmd" > "$work/w.batch"
  mo_sftp alice "$work/w.batch" > "$work/w.out" 2>&1
  tap_check "alice's '$cmd' fails" test $? -ne 0
done
# A symlink on alice's own disk pointing at the path still resolves in her
# session, i.e. to her own organisation's /inbox.
printf 'symlink /inbox/for-b.bin link.bin\nget link.bin %s/stolen\n' "$work" > "$work/steal.batch"
rm -f "$work/stolen"
mo_sftp alice "$work/steal.batch" > "$work/steal.out" 2>&1
tap_check "nor through a symlink in her home" test $? -ne 0 -a ! -s "$work/stolen"
tap_eq "nobody downloaded or confirmed org B's file" Initialized \
  "$(transfer for-b.bin "[r['status'] for r in d['recipients']][0]")"
tap_eq "the Broker still has exactly the two transfers the users sent" 2 \
  "$(state | gw_json 'len(d["transfers"])')"

# --- Each receives its own file --------------------------------------------
printf 'get /inbox/for-b.bin %s/b-got.bin\nrm /inbox/for-b.bin\n' "$work" > "$work/b-get.batch"
mo_sftp bob "$work/b-get.batch" > "$work/b-get.out" 2>&1
tap_eq "bob downloads and confirms his file" 0 $?
tap_check "with identical bytes" cmp -s "$work/for-b.bin" "$work/b-got.bin"
tap_eq "the Broker recorded org $GW_PARTNER_ORG's confirmation" DownloadConfirmed \
  "$(transfer for-b.bin "[r['status'] for r in d['recipients'] if r['recipient']=='0192:$GW_PARTNER_ORG'][0]")"
printf 'get /inbox/for-a.bin %s/a-got.bin\n' "$work" > "$work/a-get.batch"
mo_sftp alice "$work/a-get.batch" > "$work/a-get.out" 2>&1
tap_eq "alice downloads hers" 0 $?
tap_check "with identical bytes" cmp -s "$work/for-a.bin" "$work/a-got.bin"

# --- A user bound to no mount sees none; one in both audiences is refused --
echo "mallory-pw" | ftpasswd --passwd --file="$GW_DIR/ftpd.passwd" --name=mallory --uid=2003 \
  --gid=2003 --home="$GW_DIR/home/mallory" --shell=/bin/false --stdin >/dev/null 2>&1
mkdir -p "$GW_DIR/home/mallory"; chown 2003:2003 "$GW_DIR/home/mallory"
ssh-keygen -e -f "$GW_DIR/client/id_ed25519.pub" > "$GW_DIR/hostkeys/mallory.rfc4716"
printf 'ls /inbox\n' > "$work/m.batch"
mo_sftp mallory "$work/m.batch" > "$work/m.out" 2>&1
tap_check "a user bound to no mount has no /inbox" test $? -ne 0
sed -i 's/^orgb:x:\([0-9]*\):bob$/orgb:x:\1:bob,alice/' "$GW_DIR/ftpd.group"
mo_sftp alice "$work/ls.batch" > "$work/both.out" 2>&1
tap_check "alice added to bob's group can no longer log in" test $? -ne 0
tap_check "the log says why" grep -q 'alice would see two mounts at /outbox' "$GW_DIR/log/altinn-broker.log"

if [ "$TAP_FAILED" -ne 0 ]; then
  for f in a-put.out b-put.out a-ls.out b-ls.out b-get.out a-get.out; do echo "--- $f"; cat "$work/$f"; done | tap_diag
  tail -n 30 "$GW_DIR/log/altinn-broker.log" "$GW_DIR/log/proftpd.out" 2>/dev/null | tap_diag
fi
tap_done
