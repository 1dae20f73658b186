#!/bin/bash
# test-emulator.sh - TAP test of the Altinn emulator's behaviour as the
# gateway relies on it: grants, exchange, the file transfer lifecycle,
# rate limits, faults, events, TUS, purge. Driven only by curl, jq and the
# openssl CLI through emu-test-lib.sh (env: see there).
set -u

. "$(dirname "$0")/emu-test-lib.sh"
emu_lib_init
"$srcdir/tests/emulator/demo-config.sh" "$tmp" "$port" || { echo "Bail out! demo-config.sh failed"; exit 1; }
emu_start "$tmp/emulator.json"

# wait_status ID STATUS: polls the overview (as the gateway org) for up to 3 s
wait_status() {
  for _ in $(seq 1 60); do
    req GET /broker/api/v1/filetransfer/$1 -H "$GW"
    [ "$(jbody .fileTransferStatus)" = "$2" ] && return 0
    sleep 0.05
  done
  return 1
}
# ---- Maskinporten ----
jti=$(cat /proc/sys/kernel/random/uuid)
g=$(grant $GW_ID gateway-key-1 "$tmp/keys/gateway.key" "$SCOPES" "$base/" "$jti")
token_req "$g"
check "grant -> 200 Bearer token, expires_in 120, scope echoed" \
  test "$code" = 200 -a "$(jbody .token_type)" = Bearer -a "$(jbody .expires_in)" = 120 -a "$(jbody .scope)" = "$SCOPES"
mp=$(jbody .access_token)
claims=$(jwt_claims "$mp")
check "access token carries consumer 0192:999888777 and client_id" \
  test "$(echo "$claims" | jq -r '.consumer.ID + " " + .client_id')" = "0192:999888777 $GW_ID"
token_req "$g"
check "replayed jti -> 400 invalid_grant MP-012" \
  test "$code" = 400 -a "$(jbody .error)" = invalid_grant -a -n "$(jbody .error_description | grep 'MP-012')"
token_req "$(grant $GW_ID gateway-key-1 "$tmp/keys/gateway.key" "$SCOPES" "https://maskinporten.no/")"
check "wrong aud -> 400 invalid_grant MP-110" \
  test "$code" = 400 -a "$(jbody .error)" = invalid_grant -a -n "$(jbody .error_description | grep 'MP-110')"
token_req "$(grant $GW_ID gateway-key-1 "$tmp/keys/partner.key")"
check "grant signed with another key -> 400 MP-124" \
  test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-124')"
token_req "$(grant $GW_ID gateway-key-1 "$tmp/keys/gateway.key" "altinn:broker.read altinn:serviceowner")"
check "unregistered scope -> 400 invalid_scope MP-200" \
  test "$code" = 400 -a "$(jbody .error)" = invalid_scope -a -n "$(jbody .error_description | grep 'MP-200')"

# ---- token exchange ----
exchange "$mp"
gw=$(body)
acl=$(jwt_claims "$gw")
check "exchange -> 200 Altinn JWT with urn:altinn:orgNumber and Altinn issuer" \
  test "$code" = 200 -a "$(echo "$acl" | jq -r '."urn:altinn:orgNumber"')" = 999888777 \
       -a "$(echo "$acl" | jq -r .iss)" = "$base/authentication/api/v1/openid/"
exchange "not-a-token"
check "exchange with a bad token -> 401" test "$code" = 401
exchange "$(mp_token $PA_ID partner-key-1 "$tmp/keys/partner.key")"
pa=$(body)
GW="Authorization: Bearer $gw"
PA="Authorization: Bearer $pa"

# ---- initialize ----
content="hello from the altinn emulator test $(date +%s%N)"
printf '%s' "$content" > "$tmp/file"
md5=$(md5sum "$tmp/file" | cut -d' ' -f1)
size=$(stat -c %s "$tmp/file")
init_body() { # SENDER RECIPIENTS_JSON CHECKSUM RESOURCE
  printf '{"fileName":"report.txt","resourceId":"%s","sendersFileTransferReference":"ref-1","sender":"%s","recipients":%s,"propertyList":{"case":"42"},"checksum":"%s","disableVirusScan":true}' \
    "$4" "$1" "$2" "$3"
}
init() { req POST /broker/api/v1/filetransfer -H "$GW" -H 'Content-Type: application/json' --data "$1"; }

init "$(init_body 0192:999888777 '["312345678"]' "$md5" demo-resource)"
check "initialize with bad recipient -> 400 ValidationProblemDetails on Recipients" \
  test "$code" = 400 -a "$(jbody '.errors.Recipients | length')" = 1 -a "$(jbody .title)" = "One or more validation errors occurred."
init "$(init_body 999888777 '["0192:312345678"]' "$md5" demo-resource)"
check "initialize with bad sender -> 400 errors.Sender" test "$code" = 400 -a "$(jbody '.errors.Sender | length')" = 1
init "$(init_body 0192:999888777 '[]' "$md5" demo-resource)"
check "initialize without recipients -> 400 errors.Recipients" \
  test "$code" = 400 -a "$(jbody '.errors.Recipients[0]')" = "One or more recipients are required"
init "$(init_body 0192:999888777 '["0192:312345678"]' "$(echo "$md5" | tr a-f A-F)" demo-resource)"
check "initialize with upper-case checksum -> 400 errors.Checksum (lower case)" \
  test "$code" = 400 -a -n "$(jbody '.errors.Checksum[0]' | grep 'lower case')"
init "$(init_body 0192:999888777 '["0192:312345678"]' "$md5" no-such-resource)"
check "initialize on unknown resource -> 401 ProblemDetails BRO-00006" \
  test "$code" = 401 -a "$(jbody .code)" = BRO-00006 -a "$(jbody .status)" = 401 -a -n "$(jbody .traceId)"
init "$(init_body 0192:312345678 '["0192:999888777"]' "$md5" demo-resource)"
check "initialize as another org's sender -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
init "$(init_body 0192:999888777 '["urn:altinn:organization:identifier-no:312345678"]' "$md5" urn:altinn:resource:demo-resource)"
check "initialize -> 200 {fileTransferId}" test "$code" = 200 -a -n "$(jbody .fileTransferId | grep -E '^[0-9a-f-]{36}$')"
id=$(jbody .fileTransferId)

# ---- upload ----
req GET /broker/api/v1/filetransfer/$id/download -H "$PA"
check "download before upload -> 403 BRO-00007" test "$code" = 403 -a "$(jbody .code)" = BRO-00007
req POST /broker/api/v1/filetransfer/$id/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
check "upload -> 200 {fileTransferId}" test "$code" = 200 -a "$(jbody .fileTransferId)" = "$id"
req POST /broker/api/v1/filetransfer/$id/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
check "second upload -> 409 BRO-00004" test "$code" = 409 -a "$(jbody .code)" = BRO-00004
req GET /broker/api/v1/filetransfer/$id -H "$GW"
check "overview: Published, size, MD5, recipient normalised to 0192:, published set" \
  test "$code" = 200 -a "$(jbody .fileTransferStatus)" = Published -a "$(jbody .fileTransferSize)" = "$size" \
       -a "$(jbody .checksum)" = "$md5" -a "$(jbody '.recipients[0].recipient')" = 0192:312345678 \
       -a "$(jbody .published)" != null -a "$(jbody .resourceId)" = demo-resource
req GET /broker/api/v1/filetransfer/$id/details -H "$GW"
check "details: status history Initialized,UploadStarted,Published and no 'published'" \
  test "$code" = 200 -a "$(jbody '[.fileTransferStatusHistory[].fileTransferStatus] | join(",")')" = "Initialized,UploadStarted,Published" \
       -a "$(jbody 'has("published")')" = false

# checksum mismatch
init "$(init_body 0192:999888777 '["0192:312345678"]' 0123456789abcdef0123456789abcdef demo-resource)"
bad=$(jbody .fileTransferId)
req POST /broker/api/v1/filetransfer/$bad/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
check "upload with wrong checksum -> 400 BRO-00009" test "$code" = 400 -a "$(jbody .code)" = BRO-00009
req GET /broker/api/v1/filetransfer/$bad -H "$GW"
check "... and the transfer is Failed with 'Checksum mismatch'" \
  test "$(jbody .fileTransferStatus)" = Failed -a "$(jbody .fileTransferStatusText)" = "Checksum mismatch"

# ---- search ----
req GET "/broker/api/v1/filetransfer?resourceId=demo-resource&status=Published&recipientStatus=Initialized" -H "$PA"
check "search as recipient finds the published transfer" test "$code" = 200 -a "$(jbody '. | join(",")')" = "$id"
req GET "/broker/api/v1/filetransfer?resourceId=demo-resource&role=Sender" -H "$GW"
check "search as sender finds both transfers, newest first" test "$code" = 200 -a "$(jbody '. | join(",")')" = "$bad,$id"

# ---- download / confirm ----
req POST /broker/api/v1/filetransfer/$id/confirmdownload -H "$PA"
check "confirm before download -> 400 BRO-00019" test "$code" = 400 -a "$(jbody .code)" = BRO-00019
req GET /broker/api/v1/filetransfer/$id/download -H "$PA" -H 'Range: bytes=6-9'
check "ranged download -> 206, Content-Range, the right bytes" \
  test "$code" = 206 -a "$(header Content-Range)" = "bytes 6-9/$size" -a "$(body)" = "${content:6:4}"
req GET /broker/api/v1/filetransfer/$id/download -H "$PA" -H "Range: bytes=$size-"
check "unsatisfiable range -> 416 BRO-00029" test "$code" = 416 -a "$(jbody .code)" = BRO-00029
req GET /broker/api/v1/filetransfer/$id/download -H "$GW"
check "download by the sender (not a recipient) -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
req GET /broker/api/v1/filetransfer/$id/download -H "$PA"
check "full download -> 200, same bytes, attachment filename" \
  test "$code" = 200 -a "$(md5sum < "$tmp/body" | cut -d' ' -f1)" = "$md5" -a -n "$(header Content-Disposition | grep 'filename="report.txt"')"
req POST /broker/api/v1/filetransfer/$id/confirmdownload -H "$PA"
check "confirm after download -> 204 empty" test "$code" = 204 -a ! -s "$tmp/body"
req GET /broker/api/v1/filetransfer/$id -H "$PA"
check "transfer is AllConfirmedDownloaded, recipient DownloadConfirmed" \
  test "$(jbody .fileTransferStatus)" = AllConfirmedDownloaded -a "$(jbody '.recipients[0].currentRecipientFileTransferStatusCode')" = DownloadConfirmed
req POST /broker/api/v1/filetransfer/$id/confirmdownload -H "$PA"
check "confirm again after AllConfirmedDownloaded -> 400 BRO-00010" test "$code" = 400 -a "$(jbody .code)" = BRO-00010

# ---- auth edge cases ----
ro=$(mp_token $GW_ID gateway-key-1 "$tmp/keys/gateway.key" "altinn:broker.read")
req POST /broker/api/v1/filetransfer -H "Authorization: Bearer $ro" -H 'Content-Type: application/json' --data '{}'
check "raw MP token without broker.write -> 403 with empty body" test "$code" = 403 -a ! -s "$tmp/body"
req GET /broker/api/v1/filetransfer/$id
check "no token -> 401 empty with WWW-Authenticate: Bearer" \
  test "$code" = 401 -a ! -s "$tmp/body" -a -n "$(header WWW-Authenticate | grep Bearer)"
req GET /broker/api/v1/filetransfer/$id -H "$GW" -H 'Accept: application/xml'
check "Accept: application/xml -> 406 plain text" test "$code" = 406 -a -n "$(header Content-Type | grep text/plain)"

# ---- rate limit: search is 10 per minute per org (1 used by the partner above) ----
for i in $(seq 2 10); do req GET "/broker/api/v1/filetransfer?resourceId=demo-resource" -H "$PA"; done
check "10th search in the minute still 200" test "$code" = 200
req GET "/broker/api/v1/filetransfer?resourceId=demo-resource" -H "$PA"
ra=$(header Retry-After)
check "11th search -> 429 with Retry-After" test "$code" = 429 -a -n "$ra" -a "${ra:-0}" -ge 1 -a "${ra:-99}" -le 60
req GET "/broker/api/v1/filetransfer?resourceId=demo-resource" -H "$GW"
check "another org still has its own search budget" test "$code" = 200

# ---- faults ----
req POST /_emulator/faults -H 'Content-Type: application/json' --data '{"endpoint":"overview","status":503,"count":1}'
check "queue a fault" test "$code" = 200
req GET /broker/api/v1/filetransfer/$id -H "$GW"
check "faulted overview -> 503 ProblemDetails" test "$code" = 503 -a "$(jbody .status)" = 503
req GET /broker/api/v1/filetransfer/$id -H "$GW"
check "fault used up -> 200 again" test "$code" = 200
req POST /_emulator/faults --data '{"endpoint":"jwks","status":503,"rate":0.5}'
hits=$(curl -sS --cacert "$tmp/ca.pem" -o /dev/null -w '%{http_code}\n' $(for _ in $(seq 1 200); do echo "$base/jwk"; done) | grep -c 503)
check "error-rate fault 0.5: about half of 200 requests fail ($hits)" test "$hits" -ge 60 -a "$hits" -le 140
req POST /_emulator/faults --data '{"clear":true}'
req GET /jwk
check "cleared -> 200 again" test "$code" = 200

# ---- events ----
req GET "/events/api/v1/events?resource=urn:altinn:resource:demo-resource&after=0" -H "$PA"
check "events pull as partner: its own published + downloadconfirmed" \
  test "$code" = 200 -a "$(jbody '[.[].type] | join(",")')" = "no.altinn.broker.published,no.altinn.broker.downloadconfirmed" \
       -a "$(jbody '.[0].subject')" = "urn:altinn:organization:identifier-no:312345678" -a "$(jbody '.[0].resourceinstance')" = "$id"

# ---- inspection ----
req GET /_emulator/state
check "state: transfers with stored MD5 and status" \
  test "$code" = 200 -a "$(jbody '.transfers[] | select(.fileTransferId == "'"$id"'") | .storedMd5 + " " + .status')" = "$md5 AllConfirmedDownloaded"
check "state: grants and exchanges counted per client" \
  test "$(jbody ".grants[\"$GW_ID\"]")" = 2 -a "$(jbody ".grants[\"$PA_ID\"]")" = 1 -a "$(jbody ".exchanges[\"$GW_ID\"]")" = 1
check "state: requests per endpoint and rateLimited" \
  test "$(jbody .requests.search)" = 13 -a "$(jbody .requests.initialize)" = 9 -a "$(jbody .rateLimited)" = 1
req POST /_emulator/reset
req GET /_emulator/state
check "reset forgets transfers and counters" test "$(jbody '.transfers | length')" = 0 -a "$(jbody '.requests | length')" = 0

# ---- async processing, malware, purge, faults, webhooks (fresh state after the reset) ----
req POST /_emulator/knobs --data '{"virusScan":true,"uploadProcessingDelayMs":300,"webhookAllowHttp":true}'
check "knobs can be changed at run time" test "$code" = 200 -a "$(jbody .virusScan)" = true
whport_file="$tmp/wh.port"
python3 "$srcdir/tests/emulator/webhook-receiver.py" "$tmp/webhook.log" 1 >"$whport_file" &
whpid=$!
for _ in $(seq 1 100); do [ -s "$whport_file" ] && break; sleep 0.05; done
req POST /events/api/v1/subscriptions -H "$PA" -H 'Content-Type: application/json' \
  --data "{\"endPoint\":\"http://127.0.0.1:$(cat "$whport_file")/hook\",\"resourceFilter\":\"urn:altinn:resource:demo-resource\",\"subjectFilter\":\"urn:altinn:organization:identifier-no:312345678\",\"typeFilter\":\"no.altinn.broker.published\"}"
check "subscribe -> 201 with Location /events/api/v1/subscription/{id}" \
  test "$code" = 201 -a -n "$(header Location | grep -E '^/events/api/v1/subscription/[0-9]+$')"
sub=$(jbody .id)
for _ in $(seq 1 60); do
  req GET /events/api/v1/subscriptions/$sub -H "$PA"
  [ "$(jbody .validated)" = true ] && break
  sleep 0.05
done
check "validation handshake answered -> subscription validated" test "$code" = 200 -a "$(jbody .validated)" = true
req POST /events/api/v1/subscriptions -H "$GW" -H 'Content-Type: application/json' \
  --data '{"endPoint":"https://example.invalid/x","resourceFilter":"urn:altinn:resource:demo-resource","subjectFilter":"urn:altinn:organization:identifier-no:312345678"}'
check "subscribing to another org's subject -> 403" test "$code" = 403

init "$(init_body 0192:999888777 '["0192:312345678"]' "$md5" demo-resource | sed 's/"disableVirusScan":true/"disableVirusScan":false/')"
scanned=$(jbody .fileTransferId)
req POST /broker/api/v1/filetransfer/$scanned/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
req GET /broker/api/v1/filetransfer/$scanned -H "$GW"
check "virus-scanned upload -> UploadProcessing first" test "$(jbody .fileTransferStatus)" = UploadProcessing
check "... then Published after the processing delay" wait_status $scanned Published

init "$(init_body 0192:999888777 '["0192:312345678"]' "" demo-resource | sed 's/"disableVirusScan":true/"disableVirusScan":false/')"
mal=$(jbody .fileTransferId)
printf '%s' 'padding X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H* padding' > "$tmp/eicar"
req POST /broker/api/v1/filetransfer/$mal/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/eicar"
wait_status $mal Failed
check "EICAR content -> Failed 'Malware scan failed'" \
  test "$(jbody .fileTransferStatus)" = Failed -a -n "$(jbody .fileTransferStatusText | grep '^Malware scan failed')"

for _ in $(seq 1 60); do grep -q '^FAILED' "$tmp/webhook.log" 2>/dev/null && break; sleep 0.05; done
req POST /_emulator/clock --data '{"advanceSeconds":15}'
for _ in $(seq 1 60); do grep -q '^{.*no.altinn.broker.published' "$tmp/webhook.log" 2>/dev/null && break; sleep 0.05; done
check "webhook: published event refused once, redelivered after the 10 s retry (emulated clock)" \
  test "$(grep -c '^FAILED .*"no.altinn.broker.published"' "$tmp/webhook.log")" = 1 \
       -a "$(grep -c '^{.*"no.altinn.broker.published".*312345678' "$tmp/webhook.log")" = 1
kill "$whpid" 2>/dev/null; wait "$whpid" 2>/dev/null

req POST /_emulator/knobs --data '{"virusScan":false}'
init "$(init_body 0192:999888777 '["0192:312345678"]' "" demo-resource)"
cut=$(jbody .fileTransferId)
head -c 3000000 /dev/urandom > "$tmp/big"
req POST /_emulator/faults --data '{"endpoint":"upload","kind":"reset","afterBytes":1000000}'
req POST /broker/api/v1/filetransfer/$cut/upload -H "$GW" -H 'Content-Type: application/octet-stream' -T "$tmp/big" -X POST
req GET /broker/api/v1/filetransfer/$cut -H "$GW"
check "connection reset mid-upload leaves UploadStarted and no stray files" \
  test "$(jbody .fileTransferStatus)" = UploadStarted -a "$(ls "$tmp/data" | grep -c part)" = 0
req POST /broker/api/v1/filetransfer/$cut/upload -H "$GW" -H 'Content-Type: application/octet-stream' -T "$tmp/big" -X POST
check "retrying the upload then succeeds" test "$code" = 200
req POST /_emulator/faults --data '{"endpoint":"download","kind":"truncate","afterBytes":1000}'
req GET /broker/api/v1/filetransfer/$cut/download -H "$PA"
check "truncate fault ends the download body after 1000 bytes" test "$(stat -c %s "$tmp/body")" = 1000
req GET /broker/api/v1/filetransfer/$cut/download -H "$PA"
check "next download is whole again" test "$code" = 200 -a "$(cmp -s "$tmp/body" "$tmp/big" && echo same)" = same

# ---- TUS 1.0.0 ----
TUS=/broker/api/v1/filetransfer/upload/tus
T='Tus-Resumable: 1.0.0'
O='Content-Type: application/offset+octet-stream'
bigmd5=$(md5sum < "$tmp/big" | cut -d' ' -f1)
init "$(init_body 0192:999888777 '["0192:312345678"]' "$bigmd5" demo-resource)"
tus=$(jbody .fileTransferId)
req OPTIONS $TUS/$tus -H "$GW"
check "TUS OPTIONS -> 204 with Tus-Version and concatenation extension" \
  test "$code" = 204 -a "$(header Tus-Version)" = 1.0.0 -a -n "$(header Tus-Extension | grep concatenation)"
req POST $TUS/$tus -H "$GW" -H 'Upload-Length: 3000000'
check "TUS request without Tus-Resumable -> 412" test "$code" = 412
req POST $TUS/$tus -H "$GW" -H "$T" -H 'Upload-Length: 3000000'
check "TUS create -> 201 Location, transfer UploadStarted" \
  test "$code" = 201 -a "$(header Location)" = "$TUS/$tus"
head -c 1000000 "$tmp/big" > "$tmp/part1"; tail -c 2000000 "$tmp/big" > "$tmp/part2"
req PATCH $TUS/$tus -H "$GW" -H "$T" -H "$O" -H 'Upload-Offset: 0' --data-binary @"$tmp/part1"
check "TUS PATCH -> 204 Upload-Offset 1000000" test "$code" = 204 -a "$(header Upload-Offset)" = 1000000
req HEAD $TUS/$tus -H "$GW" -H "$T" -I
check "TUS HEAD -> resume point" test "$code" = 200 -a "$(header Upload-Offset)" = 1000000 -a "$(header Upload-Length)" = 3000000
req PATCH $TUS/$tus -H "$GW" -H "$T" -H "$O" -H 'Upload-Offset: 0' --data-binary x
check "TUS PATCH at a stale offset -> 409" test "$code" = 409
req PATCH $TUS/$tus -H "$GW" -H "$T" -H "$O" -H 'Upload-Offset: 1000000' -H 'Upload-Checksum: md5 AAAA' --data-binary @"$tmp/part2"
check "TUS PATCH with Upload-Checksum -> 460 (the service's quirk)" test "$code" = 460
req PATCH $TUS/$tus -H "$GW" -H "$T" -H "$O" -H 'Upload-Offset: 1000000' --data-binary @"$tmp/part2"
check "TUS final PATCH -> 204 Upload-Offset 3000000" test "$code" = 204 -a "$(header Upload-Offset)" = 3000000
req PATCH $TUS/$tus -H "$GW" -H "$T" -H "$O" -H 'Upload-Offset: 3000000' --data-binary ''
check "TUS PATCH at the end of a complete upload -> 204 (idempotent)" test "$code" = 204
wait_status $tus Published
req GET /broker/api/v1/filetransfer/$tus/details -H "$GW"
check "TUS with checksum: UploadProcessing (async MD5) then Published" \
  test "$(jbody '[.fileTransferStatusHistory[].fileTransferStatus] | join(",")')" = "Initialized,UploadStarted,UploadProcessing,Published" \
       -a "$(jbody .fileTransferSize)" = 3000000
init "$(init_body 0192:999888777 '["0192:312345678"]' "" demo-resource)"
cc=$(jbody .fileTransferId)
req POST $TUS/$cc -H "$GW" -H "$T" -H 'Upload-Concat: partial' -H 'Upload-Length: 2000000'
l2=$(header Location)
req POST $TUS/$cc -H "$GW" -H "$T" -H 'Upload-Concat: partial' -H 'Upload-Length: 1000000'
l1=$(header Location)
check "TUS partial create -> Location .../partial/<32 hex>" test "$code" = 201 -a -n "$(echo "$l1" | grep -E "/$cc/partial/[0-9a-f]{32}$")"
req PATCH "$l2" -H "$GW" -H "$T" -H "$O" -H 'Upload-Offset: 0' --data-binary @"$tmp/part2"
req PATCH "$l1" -H "$GW" -H "$T" -H "$O" -H 'Upload-Offset: 0' --data-binary @"$tmp/part1"
req POST $TUS/$cc -H "$GW" -H "$T" -H "Upload-Concat: final;$l1 $l2"
check "TUS final concatenation -> 201" test "$code" = 201
wait_status $cc Published
req GET /broker/api/v1/filetransfer/$cc/download -H "$PA"
check "concatenated upload is Published with the parts in Upload-Concat order" \
  test "$code" = 200 -a "$(md5sum < "$tmp/body" | cut -d' ' -f1)" = "$bigmd5"

req POST /_emulator/clock --data '{"advance":"P31D"}'
wait_status $cut Purged
check "after the 30-day TTL the transfer is Purged and its bytes deleted" \
  test "$(jbody .fileTransferStatus)" = Purged -a "$(ls "$tmp/data" | grep -c "$cut")" = 0
req GET /broker/api/v1/filetransfer/$cut/download -H "$PA"
check "download of a purged transfer -> 403 BRO-00007" test "$code" = 403 -a "$(jbody .code)" = BRO-00007

emu_finish
