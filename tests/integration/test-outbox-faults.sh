#!/bin/sh
# Every Broker failure the emulator can inject, through a real SFTP client
# (OpenSSH sftp -b), for a streamed upload and for a TUS upload in parallel
# parts, each checked on both sides: success means sftp exits 0 and the
# Broker holds exactly one Published transfer with identical bytes; failure
# means sftp exits non-zero, nothing is published, and the gateway's log
# names the cause. Retries are fast here (AltinnBrokerUpload below).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/tap.sh"
. "$here/gateway-env.sh"
. "$here/outbox-env.sh"

work=$(mktemp -d /tmp/ab-outbox-faults.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
cat > "$work/extra.conf" <<CONF
<IfModule mod_altinn_broker.c>
  AltinnBrokerUpload tus-above=1M chunk=256K parallel=3 retries=4 retry-delay=300ms retry-max-wait=5s stall-timeout=1s connect-timeout=2s
  AltinnBrokerMount /small  client=gateway resource=small-resource  direction=outbox recipients=0192:$GW_PARTNER_ORG
  AltinnBrokerMount /locked client=gateway resource=locked-resource direction=outbox recipients=0192:$GW_PARTNER_ORG
  AltinnBrokerMount /capped client=gateway resource=demo-resource   direction=outbox recipients=0192:$GW_PARTNER_ORG max-size=100K
</IfModule>
CONF
gw_setup "$work/gw" "$work/extra.conf"
ob_add_resources
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
tap_ok "gateway with fast retries, a 1 MiB TUS threshold and three extra outboxes starts"
log=$GW_DIR/log/altinn-broker.log

head -c 200000 /dev/urandom > "$work/small.bin"     # streamed
head -c 3200000 /dev/urandom > "$work/big.bin"      # TUS, 3 parallel parts
head -c 1500000 /dev/urandom > "$work/single.bin"   # TUS, one upload

# case_ DESC REMOTE_DIR FILE NAME FAULT ok|fail [LOG_TEXT]  (FILE in $work)
case_() {
  c_desc=$1; c_dir=$2; c_file=$work/$3; c_name=$4; c_fault=$5; c_expect=$6; c_text=${7:-}
  ob_fault '{"clear":true}'
  [ -n "$c_fault" ] && ob_fault "$c_fault"
  ob_put "$c_file" "$c_dir/$c_name" "$work/out.$c_name"
  c_rc=$?
  if [ "$c_expect" = ok ]; then
    tap_eq "$c_desc: sftp exits 0" 0 "$c_rc"
    tap_eq "$c_desc: one transfer Published, identical bytes" "1 [\"$(ob_md5 "$c_file")\"]" \
      "$(ob_published "$c_name") $(ob_stored_md5 "$c_name")"
  else
    tap_check "$c_desc: sftp exits non-zero" test "$c_rc" -ne 0
    tap_check "$c_desc: sftp reports the failed close" grep -q 'close remote' "$work/out.$c_name"
    tap_eq "$c_desc: nothing published" 0 "$(ob_published "$c_name")"
    tap_check "$c_desc: the log says \"$c_text\"" grep -q "upload of $c_dir/$c_name failed.*$c_text" "$log"
  fi
}

# --- Streamed uploads ------------------------------------------------------
case_ "no fault" /outbox small.bin s-ok.bin "" ok
case_ "initialize 500 once" /outbox small.bin s-init500.bin '{"endpoint":"initialize","status":500,"count":1}' ok
case_ "upload 500 once" /outbox small.bin s-up500.bin '{"endpoint":"upload","status":500,"count":1}' ok
case_ "upload 503 every time" /outbox small.bin s-up503.bin '{"endpoint":"upload","status":503,"count":50}' fail \
  "the Broker keeps failing (gave up after 5 attempts"
case_ "initialize 429 once (Retry-After 1)" /outbox small.bin s-429.bin '{"endpoint":"initialize","status":429,"count":1}' ok
case_ "initialize 429 every time" /outbox small.bin s-429x.bin '{"endpoint":"initialize","status":429,"count":50}' fail \
  "rate limit is exhausted"
case_ "upload reset mid-body" /outbox small.bin s-reset.bin '{"endpoint":"upload","kind":"reset","afterBytes":60000,"count":1}' ok
tap_eq "reset mid-body: one transfer in all (the upload was repeated, not the transfer)" 1 "$(ob_transfers s-reset.bin)"
case_ "upload stalls past the timeout" /outbox small.bin s-stall.bin '{"endpoint":"upload","kind":"stall","afterBytes":60000,"latencyMs":3000,"count":1}' ok
tap_eq "stall: one transfer in all" 1 "$(ob_transfers s-stall.bin)"
case_ "upload 409 once" /outbox small.bin s-409.bin '{"endpoint":"upload","status":409,"count":1}' ok
case_ "upload 413" /outbox small.bin s-413.bin '{"endpoint":"upload","status":413,"count":1}' fail "size limit"
case_ "upload 403" /outbox small.bin s-403.bin '{"endpoint":"upload","status":403,"count":1}' fail "no access"
case_ "initialize 401 once (token refused)" /outbox small.bin s-401.bin '{"endpoint":"initialize","status":401,"count":1}' ok
case_ "no write access (401 BRO-00006)" /locked small.bin s-locked.bin "" fail "no access: 0192:$GW_ORG may not send with resource locked-resource.*BRO-00006"
head -c 400000 /dev/urandom > "$work/over.bin"
case_ "over the resource's size limit (400 BRO-00016)" /small over.bin s-over.bin "" fail "size limit of resource small-resource.*BRO-00016"
inits=$(ob_requests initialize)
case_ "over the mount's max-size" /capped small.bin s-capped.bin "" fail "larger than this outbox's limit of 102400 bytes"
tap_eq "max-size: refused before anything was sent (no initialize)" "$inits" "$(ob_requests initialize)"
ob_probe put "$work/over.bin" /small/p-over.bin > "$work/probe-over.out" 2>&1
tap_check "raw CLOSE status of a size refusal reads \"Quota exceeded\"" grep -q 'status=error step=close.*Quota exceeded' "$work/probe-over.out"
ob_fault '{"endpoint":"upload","status":403,"count":1}'
ob_probe put "$work/small.bin" /outbox/p-403.bin > "$work/probe-403.out" 2>&1
tap_check "raw CLOSE status of a refusal reads \"Permission denied\"" grep -q 'status=error step=close.*Permission denied' "$work/probe-403.out"

# --- TUS uploads -------------------------------------------------------------
case_ "TUS, 3 parts, no fault" /outbox big.bin t-ok.bin "" ok
tap_check "TUS: sent in 3 parallel parts" grep -q 'sent /outbox/t-ok.bin: .*via=tus parts=3 resumes=0' "$log"
case_ "TUS, PATCH 500 once" /outbox big.bin t-500.bin '{"endpoint":"tus_patch","status":500,"count":1}' ok
case_ "TUS, connection reset mid-PATCH" /outbox big.bin t-reset.bin '{"endpoint":"tus_patch","kind":"reset","afterBytes":100000,"count":1}' ok
tap_check "TUS reset: resumed from the Broker's offset" grep -q 'sent /outbox/t-reset.bin: .*via=tus parts=3 resumes=[1-9]' "$log"
case_ "TUS, PATCH stalls past the timeout" /outbox big.bin t-stall.bin '{"endpoint":"tus_patch","kind":"stall","afterBytes":100000,"latencyMs":1500,"count":1}' ok
case_ "TUS, create 500 once" /outbox big.bin t-create.bin '{"endpoint":"tus_create","status":500,"count":1}' ok
case_ "TUS, single upload, reset twice" /outbox single.bin t-single.bin '{"endpoint":"tus_patch","kind":"reset","afterBytes":70000,"count":2}' ok
tap_check "TUS single: one part" grep -q 'sent /outbox/t-single.bin: .*via=tus parts=1 resumes=2' "$log"
case_ "TUS, PATCH 500 every time" /outbox big.bin t-500x.bin '{"endpoint":"tus_patch","status":500,"count":200}' fail \
  "the Broker keeps failing"
case_ "TUS, no write access" /locked big.bin t-locked.bin "" fail "no access"

# --- The Broker is down ------------------------------------------------------
kill "$GW_EMU_PID"; wait "$GW_EMU_PID" 2>/dev/null; GW_EMU_PID=
ob_put "$work/small.bin" /outbox/down.bin "$work/out.down"
tap_check "Broker down: sftp exits non-zero" test $? -ne 0
tap_check "Broker down: the log says it cannot be reached, after retries" \
  grep -q 'upload of /outbox/down.bin failed.*cannot be reached (gave up after 5 attempts' "$log"

if [ "$TAP_FAILED" -ne 0 ]; then
  tail -n 60 "$log" | tap_diag
fi
tap_done
