# outbox-env.sh - sourced (after gateway-env.sh) by the outbox tests:
# extra Broker resources, our libssh probe, and questions to the emulator.

# ob_add_resources: after gw_setup, before gw_start. Adds to the emulator:
#   small-resource   maxFileTransferSize 300000 bytes (the Broker refuses more)
#   locked-resource  our organisation may read but not write (401 BRO-00006)
ob_add_resources() {
  "$GW_PY" - "$GW_DIR/emu/emulator.json" "$GW_ORG" "$GW_PARTNER_ORG" <<'PY'
import json, sys
path, org, partner = sys.argv[1:4]
cfg = json.load(open(path))
base = dict(cfg["resources"][0])
small = dict(base, id="small-resource", maxFileTransferSize=300000)
locked = dict(base, id="locked-resource", access={org: ["read"], partner: ["read", "write"]})
cfg["resources"] += [small, locked]
json.dump(cfg, open(path, "w"), indent=2)
PY
}

# ob_probe ARGS...: our libssh client (tests/clients/ab_sftp_probe.c).
ob_probe() {
  "$top_builddir/tests/clients/ab-sftp-probe" -p "$GW_SFTP_PORT" -u "$GW_USER" \
    -i "$GW_DIR/client/id_ed25519" "$@"
}

# ob_put LOCAL REMOTE [OUT]: OpenSSH sftp -b put; returns sftp's exit code.
ob_put() {
  printf 'put %s %s\n' "$1" "$2" > "$GW_DIR/put.batch"
  gw_sftp "$GW_DIR/put.batch" > "${3:-/dev/null}" 2>&1
}

# ob_q EXPR: EXPR over the emulator's transfers (as t) and state (as d).
ob_q() {
  gw_emu GET /_emulator/state | gw_json "$1"
}

# ob_published NAME: transfers named NAME that are Published or UploadProcessing.
ob_published() {
  ob_q "len([t for t in d['transfers'] if t['fileName']=='$1' and t['status'] in ('Published','UploadProcessing')])"
}

# ob_transfers NAME: transfers named NAME in any state.
ob_transfers() {
  ob_q "len([t for t in d['transfers'] if t['fileName']=='$1'])"
}

# ob_stored_md5 NAME: the MD5 of the bytes the Broker stored for NAME.
ob_stored_md5() {
  ob_q "[t['storedMd5'] for t in d['transfers'] if t['fileName']=='$1' and t['status'] in ('Published','UploadProcessing')]"
}

# ob_ok_one DESC NAME FILE: exactly one transfer NAME Published, holding FILE's bytes (a TAP check).
ob_ok_one() {
  tap_eq "$1: one transfer Published with identical bytes" "1 [\"$(ob_md5 "$3")\"]" \
    "$(ob_published "$2") $(ob_stored_md5 "$2")"
}

# ob_requests ENDPOINT: how many requests the emulator got for ENDPOINT.
ob_requests() {
  ob_q "d['requests'].get('$1', 0)"
}

# ob_fault JSON: queue an emulator fault.
ob_fault() {
  gw_emu POST /_emulator/faults "$1" > /dev/null
}

# ob_md5 FILE
ob_md5() {
  md5sum < "$1" | cut -d' ' -f1
}
