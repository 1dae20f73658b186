#!/bin/sh
# The outbox's conventions, as a batch job uses them over SFTP: receipts in
# /outbox/sent (kept current: Published, DownloadConfirmed and
# AllConfirmedDownloaded, Failed by the malware scan; kept across sessions),
# recipient directories, .properties sidecars and reference templates,
# duplicate and resend policies, and unsafe names.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/outbox-env.sh"

work=$(mktemp -d /tmp/ab-outbox-conv.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
cat > "$work/extra.conf" <<CONF
<IfModule mod_altinn_broker.c>
  AltinnBrokerMount /multi  client=gateway resource=demo-resource direction=outbox recipient-dirs=any sidecars=yes reference=%u-%n
  AltinnBrokerMount /listed client=gateway resource=demo-resource direction=outbox recipients=0192:$GW_PARTNER_ORG recipient-dirs=$GW_PARTNER_ORG
  AltinnBrokerMount /strict client=gateway resource=demo-resource direction=outbox recipients=0192:$GW_PARTNER_ORG duplicates=refuse resend=refuse
</IfModule>
CONF
gw_setup "$work/gw" "$work/extra.conf"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "gateway starts with /multi (recipient dirs, sidecars), /listed and /strict"
log=$GW_DIR/log/altinn-broker.log
mk() { head -c "$2" /dev/urandom > "$work/$1"; }
batch() { printf '%s\n' "$@" > "$work/batch"; gw_sftp "$work/batch" > "$work/batch.out" 2>&1; }
# receipt NAME EXPR: EXPR over the receipt /outbox/sent/NAME (as d), fetched over SFTP
receipt() {
  rm -f "$work/receipt.json"
  batch "get /outbox/sent/$1 $work/receipt.json" && gw_json "$2" < "$work/receipt.json"
}
emu_of() { ob_q "[t for t in d['transfers'] if t['fileName']=='$1'][-1]" | gw_json "$2"; }

# --- Receipts ----------------------------------------------------------------
mk r.bin 100000
batch "put $work/r.bin /outbox/r.bin" "ls -l /outbox/sent"
tap_eq "put /outbox/r.bin exits 0" 0 $?
tap_check "its receipt is listed in /outbox/sent" grep -q ' r.bin.json$' "$work/batch.out"
id=$(emu_of r.bin "d['fileTransferId']")
tap_eq "the receipt names the Broker's fileTransferId" "$id" "$(receipt r.bin.json "d['fileTransferId']")"
tap_eq "status, size, MD5 and recipient" "Published 100000 $(ob_md5 "$work/r.bin") 0192:$GW_PARTNER_ORG=Initialized" \
  "$(gw_json "'%s %s %s %s=%s' % (d['status'], d['size'], d['md5'], d['recipients'][0]['recipient'], d['recipients'][0]['status'])" < "$work/receipt.json")"
gw_partner get /inbox r.bin "$work/r-got.bin" --confirm > /dev/null 2>&1
tap_eq "the partner downloaded and confirmed it" AllConfirmedDownloaded "$(emu_of r.bin "d['status']")"
overviews=$(ob_requests overview)
sleep 5.2
tap_eq "a new session, 5 s later: the receipt shows the confirmation" \
  "AllConfirmedDownloaded DownloadConfirmed" \
  "$(receipt r.bin.json "d['status'] + ' ' + d['recipients'][0]['status']")"
for i in 1 2 3 4; do receipt r.bin.json "d['status']" > /dev/null; done
tap_eq "reading it 4 more times at once costs no more status reads (overview)" $((overviews + 1)) "$(ob_requests overview)"
mk r2.bin 1000
batch "put $work/r2.bin /outbox/r.bin" "ls -1 /outbox/sent"
id2=$(ob_q "[t['fileTransferId'] for t in d['transfers'] if t['fileName']=='r.bin'][-1]")
tap_eq "re-put of a name: r.bin.json is the newest upload" "$id2" "$(receipt r.bin.json "d['fileTransferId']")"
tap_eq "and the earlier one is r.bin~<id>.json" "$id" "$(receipt "r.bin~$(echo "$id" | cut -c1-8).json" "d['fileTransferId']")"
batch "put $work/r.bin /outbox/sent/x.json"
tap_check "receipts are read-only: a put into /outbox/sent fails" test $? -ne 0
batch "rm /outbox/sent/r.bin.json"
tap_check "and rm of a receipt fails" test $? -ne 0
# malware: the scan fails the transfer after the CLOSE accepted it
gw_emu POST /_emulator/knobs '{"virusScan":true,"uploadProcessingDelayMs":500}' > /dev/null
printf 'X5O!P%%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > "$work/eicar.txt"
mk clean.bin 5000
batch "put $work/eicar.txt /outbox/eicar.txt" "put $work/clean.bin /outbox/clean.bin"
tap_eq "uploads into a scanning Broker: accepted (UploadProcessing)" 0 $?
for _ in $(seq 1 50); do [ "$(emu_of eicar.txt "d['status']")" = Failed ] && break; sleep 0.1; done
sleep 5
tap_eq "the receipt of the infected file: Failed by the malware scan" "Failed True True" \
  "$(receipt eicar.txt.json "'%s %s %s' % (d['status'], 'alware' in d['statusText'], d['final'])")"
tap_eq "the clean file's receipt: Published" Published "$(receipt clean.bin.json "d['status']")"
gw_emu POST /_emulator/knobs '{"virusScan":false}' > /dev/null

# --- Recipient directories, sidecars, reference template ------------------------
mk a.bin 20000
batch "put $work/a.bin /multi/$GW_PARTNER_ORG/a.bin"
tap_eq "put /multi/<org>/a.bin exits 0" 0 $?
tap_eq "sent to that organisation, reference from the template %u-%n" "['0192:$GW_PARTNER_ORG'] tester-a.bin" \
  "$(emu_of a.bin "'%s %s' % ([r['recipient'] for r in d['recipients']], d['sendersFileTransferReference'])")"
batch "put $work/a.bin /multi/a-root.bin"
tap_check "put into /multi itself (no default recipients) fails" test $? -ne 0
tap_eq "nothing sent" 0 "$(ob_transfers a-root.bin)"
batch "put $work/a.bin /multi/12345/a-bad.bin"
tap_check "a directory that is not an organisation number fails" test $? -ne 0
batch "cd /multi/$GW_PARTNER_ORG" "put $work/a.bin a-cd.bin"
tap_eq "cd into a recipient directory, put a relative name: exit 0" 0 $?
tap_eq "sent to that organisation" "[\"0192:$GW_PARTNER_ORG\"]" "$(emu_of a-cd.bin "[r['recipient'] for r in d['recipients']]")"
printf '# case data\ncaseNumber = 42\narchive=Sak 2026/17\nsendersFileTransferReference=ref-77\n' > "$work/s.bin.properties"
mk s.bin 3000
batch "put $work/s.bin.properties /multi/$GW_PARTNER_ORG/s.bin.properties" "put $work/s.bin /multi/$GW_PARTNER_ORG/s.bin"
tap_eq "sidecar, then the file: exit 0" 0 $?
tap_eq "the sidecar gave propertyList and reference" "{'archive': 'Sak 2026/17', 'caseNumber': '42'} ref-77" \
  "$(emu_of s.bin "'%s %s' % (dict(sorted(d['propertyList'].items())), d['sendersFileTransferReference'])")"
tap_eq "the sidecar itself was not sent" 0 "$(ob_transfers s.bin.properties)"
for i in 1 2 3 4 5 6 7 8 9 10 11; do echo "k$i=v"; done > "$work/bad.properties"
batch "put $work/bad.properties /multi/$GW_PARTNER_ORG/bad.properties"
tap_check "a sidecar with 11 properties fails at CLOSE" test $? -ne 0
tap_check "the log says why" grep -q 'upload of /multi/312345678/bad.properties failed.*at most 10 properties' "$log"
batch "put $work/a.bin /listed/$GW_PARTNER_ORG/l.bin" "ls -1 /listed"
tap_eq "an allowed recipient directory: exit 0" 0 $?
tap_check "allowed recipient directories are listed" grep -q "^/listed/$GW_PARTNER_ORG\$\|^$GW_PARTNER_ORG\$" "$work/batch.out"
batch "put $work/a.bin /listed/111111111/l2.bin"
tap_check "an organisation the admin did not allow: fails" test $? -ne 0
tap_check "and the log says it is not allowed" grep -q 'sending to organisation 111111111 is not allowed' "$log"

# --- Duplicates and re-sends -----------------------------------------------------
mk d.bin 30000
batch "put $work/d.bin /outbox/d1.bin" "put $work/d.bin /outbox/d2.bin"
tap_eq "default: the same bytes again are sent again" "1 1" "$(ob_published d1.bin) $(ob_published d2.bin)"
tap_eq "and d2's receipt names the earlier transfer" "$(emu_of d1.bin "d['fileTransferId']")" \
  "$(receipt d2.bin.json "d.get('duplicateOf')")"
batch "put $work/d.bin /strict/s1.bin"
tap_eq "/strict: the first upload exits 0" 0 $?
batch "put $work/d.bin /strict/s2.bin"
tap_check "/strict (duplicates=refuse): the same bytes again fail" test $? -ne 0
tap_eq "nothing of it was sent" 0 "$(ob_transfers s2.bin)"
tap_check "the log names the earlier transfer" \
  grep -q "upload of /strict/s2.bin failed: duplicate: the same 30000 bytes .*$(emu_of s1.bin "d['fileTransferId']")" "$log"
mk e.bin 31000
batch "put $work/e.bin /strict/s1.bin"
tap_check "/strict (resend=refuse): a name already sent fails" test $? -ne 0
tap_check "the log says so" grep -q '/strict/s1.bin was already sent (fileTransferId' "$log"
tap_eq "still one transfer named s1.bin" 1 "$(ob_transfers s1.bin)"

# --- Unsafe names ----------------------------------------------------------------
bad=$(printf 'bad\001name.bin')
ob_probe put "$work/a.bin" "/outbox/$bad" > "$work/n1.out" 2>&1
tap_check "a name with a control character is refused at OPEN" grep -q 'status=error step=open' "$work/n1.out"
long=$(printf 'x%.0s' $(seq 1 300))
ob_probe put "$work/a.bin" "/outbox/$long" > "$work/n2.out" 2>&1
tap_check "a name over 255 bytes is refused" grep -q 'status=error step=open' "$work/n2.out"
ob_probe put "$work/a.bin" /outbox/sent > "$work/n3.out" 2>&1
tap_check "\"sent\" (the receipts directory) cannot be a file" grep -q 'status=error step=open' "$work/n3.out"
tap_eq "none of them reached the Broker" 0 \
  "$(ob_q "len([t for t in d['transfers'] if t['fileName'] in ('sent',) or t['fileName'].startswith('bad') or t['fileName'].startswith('xxx')])")"

if [ "$TAP_FAILED" -ne 0 ]; then
  cat "$work/batch.out" | tap_diag
  tail -n 40 "$log" | tap_diag
fi
tap_done
