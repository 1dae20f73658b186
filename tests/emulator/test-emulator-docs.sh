#!/bin/bash
# test-emulator-docs.sh - TAP test: the emulator answers a client written
# only from Altinn's documentation. Requests are curl commands shaped like
# broker-api.md §3-§9 and like the examples of the published Broker OpenAPI
# (PascalCase keys and all), and every check is a status, body or state
# transition that broker-api.md documents, including its §13 differences
# from the OpenAPI. Harness: emu-test-lib.sh.
#
# The OpenAPI examples are copied below so the test runs anywhere; when the
# spec itself is at hand (OPENAPI=path, default the team's shared
# reference copy), the first check proves the copies are still verbatim.
set -u

. "$(dirname "$0")/emu-test-lib.sh"
emu_lib_init

# paths["/broker/api/v1/resource/{resourceId}"].put ... .example
EX_RESOURCE='{"MaxFileTransferSize":2147483648,"FileTransferTimeToLive":"30D","PurgeFileTransferAfterAllRecipientsConfirmed":true,"PurgeFileTransferGracePeriod":"48H","UseManifestFileShim":false,"ExternalServiceCodeLegacy":null,"ExternalServiceEditionCodeLegacy":null}'
# paths["/broker/api/v1/serviceowner"].post ... .example
EX_SERVICEOWNER='{"Name":"Example Service Owner","DeletionTime":"P1D"}'
# components.schemas.CloudEvent.examples[0]
EX_CLOUDEVENT='{"specversion":"1.0","id":"0b75b5da-7f19-4ab7-9711-ec0f6108d48c","type":"no.altinn.broker.filetransferinitialized","time":"2024-04-03T08:59:37.8552029Z","resource":"urn:altinn:resource:altinapp.ttd.apps-test","resourceinstance":"0850124f-6ae9-4821-b4f9-8ee7c937ecfc","source":"https://platform.tt02.altinn.no/broker/api/v1/file"}'
openapi=${OPENAPI:-/work/shared/reference/altinn-broker-openapi.json}
if [ -r "$openapi" ]; then
  spec=$(jq -cS '[.paths["/broker/api/v1/resource/{resourceId}"].put.requestBody.content["application/json"].example,
                 .paths["/broker/api/v1/serviceowner"].post.requestBody.content["application/json"].example,
                 .components.schemas.CloudEvent.examples[0]]' "$openapi")
  check "the examples used here are the OpenAPI's, verbatim" \
    test "$spec" = "$(echo "[$EX_RESOURCE,$EX_SERVICEOWNER,$EX_CLOUDEVENT]" | jq -cS .)"
else
  ok "the examples used here are the OpenAPI's, verbatim # SKIP $openapi not available"
fi

"$srcdir/tests/emulator/demo-config.sh" "$tmp" "$port" || { echo "Bail out! demo-config.sh failed"; exit 1; }
OW_ID=33333333-3333-4333-8333-333333333333   # Digdir, the demo resource's service owner
NC_ID=44444444-4444-4444-8444-444444444444   # NewCo, not yet a service owner
for c in "gw-cert 999888777" "other-cert 312345678" "old-cert 999888777 expired"; do
  # shellcheck disable=SC2086
  "$srcdir/tests/emulator/make-enterprise-cert.sh" "$tmp" $c || { echo "Bail out! make-enterprise-cert.sh failed"; exit 1; }
done
for k in owner newco; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/keys/$k.key" 2>/dev/null
  openssl pkey -in "$tmp/keys/$k.key" -pubout -out "$tmp/keys/$k.pub.pem"
done
OWNER_SCOPES="altinn:serviceowner altinn:broker.read altinn:broker.write altinn:events.subscribe"
jq --arg dir "$tmp" --arg ow "$OW_ID" --arg nc "$NC_ID" '
  .knobs.rateLimits = false
  | .enterpriseCa = ($dir + "/ca.pem")
  | (.clients[] | select(.org == "999888777")) += {systemUserOrgs: ["312345678"]}
  | .organizations += [{orgNumber: "310000009", name: "NewCo AS"}]
  | .clients += [
      {clientId: $ow, org: "991825827", kid: "owner-key-1", publicKey: ($dir + "/keys/owner.pub.pem"),
       scopes: ["altinn:serviceowner", "altinn:broker.read", "altinn:broker.write", "altinn:events.subscribe"]},
      {clientId: $nc, org: "310000009", kid: "newco-key-1", publicKey: ($dir + "/keys/newco.pub.pem"),
       scopes: ["altinn:serviceowner", "altinn:broker.read", "altinn:broker.write"]}]
  | .resources += [
      {id: "docs-resource", owner: "991825827", configured: false,
       access: {"999888777": ["read", "write", "subscribe"], "312345678": ["read", "write", "subscribe"]}},
      {id: "newco-resource", owner: "310000009", configured: false,
       access: {"999888777": ["read", "write"], "312345678": ["read"]}}]
' "$tmp/emulator.json" > "$tmp/docs.json"
emu_start "$tmp/docs.json"

# Tokens the way the docs say to get them: Maskinporten grant, then exchange.
altinn_token() { exchange "$(mp_token "$@")"; body; }
GW="Authorization: Bearer $(altinn_token $GW_ID gateway-key-1 "$tmp/keys/gateway.key")"
PA="Authorization: Bearer $(altinn_token $PA_ID partner-key-1 "$tmp/keys/partner.key")"
OW="Authorization: Bearer $(altinn_token $OW_ID owner-key-1 "$tmp/keys/owner.key" "$OWNER_SCOPES")"
NC="Authorization: Bearer $(altinn_token $NC_ID newco-key-1 "$tmp/keys/newco.key" "altinn:serviceowner altinn:broker.read altinn:broker.write")"
JSON='Content-Type: application/json'
B=/broker/api/v1

# ---- Maskinporten: enterprise certificate (x5c) and system user (auth-and-events.md §1.2, §1.3) ----
# x5c_grant CERT_NAMES_JSON_FILTER KEY: a grant whose header carries x5c built by the jq filter
der64() { openssl x509 -in "$tmp/keys/$1.pem" -outform DER | openssl base64 -A; }
x5c_grant() { # X5C_JSON KEY [CLAIMS]
  sign_jwt "{\"alg\":\"RS256\",\"x5c\":$1}" "${3:-$(grant_claims $GW_ID)}" "$2"
}
gw_cert=$(der64 gw-cert)
token_req "$(x5c_grant "[\"$gw_cert\"]" "$tmp/keys/gw-cert.key")"
check "x5c [leaf] (standard base64 DER) from a trusted CA -> 200, client_amr virksomhetssertifikat" \
  test "$code" = 200 -a "$(jwt_claims "$(jbody .access_token)" | jq -r .client_amr)" = virksomhetssertifikat
token_req "$(x5c_grant "[\"$gw_cert\",\"$(openssl x509 -in "$tmp/ca.pem" -outform DER | openssl base64 -A)\"]" "$tmp/keys/gw-cert.key")"
check "x5c [leaf, CA] (full chain, leaf first) -> 200" test "$code" = 200
token_req "$(x5c_grant "\"$gw_cert\"" "$tmp/keys/gw-cert.key")"
check "x5c as a string, not an array -> 400 invalid_grant MP-123" \
  test "$code" = 400 -a "$(jbody .error)" = invalid_grant -a -n "$(jbody .error_description | grep 'MP-123')"
token_req "$(x5c_grant "[\"$gw_cert\", 42]" "$tmp/keys/gw-cert.key")"
check "x5c with a non-string element -> 400 MP-123" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-123')"
token_req "$(x5c_grant "[\"$(echo "$gw_cert" | tr '+/' '-_')\"]" "$tmp/keys/gw-cert.key")"
check "x5c in base64url instead of standard base64 -> 400 MP-123" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-123')"
token_req "$(x5c_grant "[\"$(der64 other-cert)\"]" "$tmp/keys/other-cert.key")"
check "certificate of another organisation than the client's -> 400 MP-122" \
  test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-122')"
token_req "$(x5c_grant "[\"$(der64 old-cert)\"]" "$tmp/keys/old-cert.key")"
check "expired certificate -> 400 MP-120" test "$code" = 400 -a -n "$(jbody .error_description | grep 'expired.*MP-120')"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$tmp/keys/self.key" -out "$tmp/keys/self.pem" \
  -subj "/C=NO/O=Gateway Demo AS/serialNumber=999888777/CN=self" 2>/dev/null
token_req "$(x5c_grant "[\"$(der64 self)\"]" "$tmp/keys/self.key")"
check "self-signed certificate (no trusted issuer) -> 400 MP-120" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-120')"
token_req "$(x5c_grant "[\"$gw_cert\"]" "$tmp/keys/gateway.key")"
check "x5c leaf that did not sign the grant -> 400 MP-124" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-124')"

# system user: authorization_details (RAR) for a customer the client has a system user for
su_grant() { # AUTHORIZATION_DETAILS_JSON
  grant_claims $GW_ID | jq -c --argjson ad "$1" '. + {authorization_details: $ad}' |
    { read -r claims; sign_jwt '{"alg":"RS256","kid":"gateway-key-1"}' "$claims" "$tmp/keys/gateway.key"; }
}
SU='{"type":"urn:altinn:systemuser","systemuser_org":{"authority":"iso6523-actorid-upis","ID":"0192:312345678"}}'
token_req "$(su_grant "[$SU]")"
check "system-user grant -> 200, token with authorization_details (systemuser_id, systemuser_org)" \
  test "$code" = 200 -a "$(jwt_claims "$(jbody .access_token)" | jq -r '.authorization_details[0].systemuser_org.ID')" = 0192:312345678 \
       -a -n "$(jwt_claims "$(jbody .access_token)" | jq -r '.authorization_details[0].systemuser_id[0]' | grep -E '^[0-9a-f-]{36}$')"
exchange "$(jbody .access_token)"
check "... exchanged: authorization_details as one object (the .NET quirk), orgNumber the vendor" \
  test "$code" = 200 -a "$(jwt_claims "$(body)" | jq -r '.authorization_details | type')" = object \
       -a "$(jwt_claims "$(body)" | jq -r '."urn:altinn:orgNumber"')" = 999888777
SUT="Authorization: Bearer $(body)"
token_req "$(su_grant "[$(echo "$SU" | jq -c '.type = "urn:altinn:other"')]")"
check "authorization_details of an unknown type -> 400 MP-301" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-301')"
token_req "$(su_grant "[$(echo "$SU" | jq -c '.colour = "blue"')]")"
check "authorization_details with an unknown field -> 400 MP-302" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-302')"
token_req "$(su_grant "[$(echo "$SU" | jq -c '.systemuser_org.ID = "312345678"')]")"
check "systemuser_org.ID without the 0192: prefix -> 400 MP-303" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-303')"
token_req "$(su_grant "[$(echo "$SU" | jq -c '.systemuser_org.ID = "0192:310000009"')]")"
check "customer without a system user for this client -> 400 MP-303" test "$code" = 400 -a -n "$(jbody .error_description | grep 'MP-303')"

# ---- §3.9 service owner ----
req GET $B/serviceowner -H "$OW"
check "GET serviceowner (configured owner) -> 200 name + both storage providers Ready" \
  test "$code" = 200 -a "$(jbody .name)" = Digitaliseringsdirektoratet \
       -a "$(jbody '[.storageProviders[] | .type + ":" + .deploymentStatus] | join(",")')" = "AltinnAzure:Ready,AltinnAzureWithoutVirusScan:Ready"
req GET $B/serviceowner -H "$GW"
check "GET serviceowner without altinn:serviceowner -> 403 empty" test "$code" = 403 -a ! -s "$tmp/body"
req GET $B/serviceowner -H "$NC"
check "GET serviceowner before POST -> 404 BRO-07004" test "$code" = 404 -a "$(jbody .code)" = BRO-07004
req PUT $B/resource/newco-resource -H "$NC" -H "$JSON" --data '{"maxFileTransferSize":1000}'
check "PUT resource before the owner is a service owner -> 400 BRO-00024" test "$code" = 400 -a "$(jbody .code)" = BRO-00024
ex=$EX_SERVICEOWNER
req POST $B/serviceowner -H "$NC" -H "$JSON" --data "$ex"
check "POST serviceowner with the OpenAPI example $ex -> 200 empty (PascalCase binds, DeletionTime ignored)" \
  test "$code" = 200 -a ! -s "$tmp/body"
req POST $B/serviceowner -H "$NC" -H "$JSON" --data "$ex"
check "POST serviceowner again -> 409 BRO-07002" test "$code" = 409 -a "$(jbody .code)" = BRO-07002
req GET $B/serviceowner -H "$NC"
check "GET serviceowner while storage is provisioned -> DeployingResources (not the example's DeploymentStatus)" \
  test "$code" = 200 -a "$(jbody .name)" = "Example Service Owner" \
       -a "$(jbody '[.storageProviders[].deploymentStatus] | unique | join(",")')" = DeployingResources \
       -a "$(jbody 'has("DeploymentStatus")')" = false
req PUT $B/resource/newco-resource -H "$NC" -H "$JSON" --data '{"fileTransferTimeToLive":"P1D"}'
check "PUT resource once the service owner exists -> 204" test "$code" = 204 -a ! -s "$tmp/body"
nc_init='{"fileName":"a.txt","resourceId":"newco-resource","sendersFileTransferReference":"r","sender":"0192:999888777","recipients":["0192:312345678"]}'
req POST $B/filetransfer -H "$GW" -H "$JSON" --data "$nc_init"
check "initialize while the owner's storage is not Ready -> 503 BRO-00021" test "$code" = 503 -a "$(jbody .code)" = BRO-00021
req POST /_emulator/clock --data '{"advanceSeconds":10}'
req GET $B/serviceowner -H "$NC"
check "... storage Ready after provisioning" test "$(jbody '[.storageProviders[].deploymentStatus] | unique | join(",")')" = Ready
req POST $B/filetransfer -H "$GW" -H "$JSON" --data "$nc_init"
check "... then initialize -> 200" test "$code" = 200
req POST $B/serviceowner -H "$NC" -H "$JSON" --data '{"deletionTime":"P1D"}'
check "POST serviceowner without name -> 400 ValidationProblemDetails" test "$code" = 400 -a -n "$(jbody '.errors["$"][0]' | grep 'required properties')"
req POST $B/serviceowner -H "$NC" -H 'Content-Type: text/plain' --data 'x'
check "POST serviceowner as text/plain -> 415" test "$code" = 415

# ---- §3.10 resource ----
ex=$EX_RESOURCE
req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data "$ex"
check "PUT resource with the OpenAPI example verbatim (\"30D\") -> 400 BRO-00014 (§13: invalid durations)" \
  test "$code" = 400 -a "$(jbody .code)" = BRO-00014
req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data "$(echo "$ex" | jq -c '.FileTransferTimeToLive = "P30D"')"
check "... with TTL P30D, grace still \"48H\" -> 400 BRO-00017" test "$code" = 400 -a "$(jbody .code)" = BRO-00017
req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data "$(echo "$ex" | jq -c '.FileTransferTimeToLive = "P30D" | .PurgeFileTransferGracePeriod = "PT48H"')"
check "... with grace PT48H -> 400 BRO-00018 (max 24 h)" test "$code" = 400 -a "$(jbody .code)" = BRO-00018
req GET $B/resource/docs-resource -H "$OW"
check "GET a resource that was never configured -> 400 BRO-00025 (failed PUTs changed nothing)" \
  test "$code" = 400 -a "$(jbody .code)" = BRO-00025
fixed=$(echo "$ex" | jq -c '.FileTransferTimeToLive = "P30D" | .PurgeFileTransferGracePeriod = "PT24H"')
req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data "$fixed"
check "PUT the example with valid durations (PascalCase keys) -> 204 (§13: not 200)" test "$code" = 204 -a ! -s "$tmp/body"
req GET $B/resource/docs-resource -H "$OW"
check "GET resource -> camelCase, TimeSpan durations \"30.00:00:00\" / \"1.00:00:00\"" \
  test "$code" = 200 -a "$(jbody .maxFileTransferSize)" = 2147483648 -a "$(jbody .fileTransferTimeToLive)" = "30.00:00:00" \
       -a "$(jbody .purgeFileTransferGracePeriod)" = "1.00:00:00" -a "$(jbody .purgeFileTransferAfterAllRecipientsConfirmed)" = true \
       -a "$(jbody .useManifestFileShim)" = false -a "$(jbody 'has("requiredParty")')" = true
req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data '{"purgeFileTransferGracePeriod":"PT2H"}'
req GET $B/resource/docs-resource -H "$OW"
check "PUT with only one camelCase field changes only that one (\"02:00:00\")" \
  test "$(jbody .purgeFileTransferGracePeriod)" = "02:00:00" -a "$(jbody .fileTransferTimeToLive)" = "30.00:00:00"
put_code() { req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data "$1"; echo "$code $(jbody .code)"; }
check "maxFileTransferSize -1 -> 400 BRO-00011" test "$(put_code '{"maxFileTransferSize":-1}')" = "400 BRO-00011"
check "maxFileTransferSize 0 -> 400 BRO-00012" test "$(put_code '{"maxFileTransferSize":0}')" = "400 BRO-00012"
check "maxFileTransferSize over ~1.6 TB -> 400 BRO-00022" test "$(put_code '{"maxFileTransferSize":1677721600001}')" = "400 BRO-00022"
check "maxFileTransferSize 1.6 TB exactly -> 204" test "$(put_code '{"maxFileTransferSize":1677721600000}')" = "204 "
check "fileTransferTimeToLive P366D -> 400 BRO-00015" test "$(put_code '{"fileTransferTimeToLive":"P366D"}')" = "400 BRO-00015"
check "fileTransferTimeToLive P1Y (365 days) -> 204" test "$(put_code '{"fileTransferTimeToLive":"P1Y"}')" = "204 "
check "purgeFileTransferGracePeriod 2 hours -> 400 BRO-00017" test "$(put_code '{"purgeFileTransferGracePeriod":"2 hours"}')" = "400 BRO-00017"
req POST /_emulator/knobs --data '{"production":true}'
check "production: maxFileTransferSize over 50 GB -> 400 BRO-00013" test "$(put_code '{"maxFileTransferSize":50000000001}')" = "400 BRO-00013"
req POST /_emulator/knobs --data '{"production":false}'
req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data '{"useManifestFileShim":true}'
check "useManifestFileShim without service code -> 400 ValidationProblemDetails" \
  test "$code" = 400 -a -n "$(jbody '.errors[""][0]' | grep ExternalServiceCodeLegacy)"
req PUT $B/resource/docs-resource -H "$OW" -H "$JSON" --data '{"maxFileTransferSize":"big"}'
check "maxFileTransferSize as a string -> 400 errors[\"\$.maxFileTransferSize\"]" \
  test "$code" = 400 -a -n "$(jbody '.errors["$.maxFileTransferSize"][0]')"
req PUT $B/resource/no-such-resource -H "$OW" -H "$JSON" --data '{}'
check "PUT a resource unknown to the Resource Registry -> 403 BRO-00005" test "$code" = 403 -a "$(jbody .code)" = BRO-00005
req PUT $B/resource/demo-resource -H "$NC" -H "$JSON" --data '{}'
check "PUT another owner's resource -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
req GET $B/resource/demo-resource -H "$NC"
check "GET another owner's resource -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
req GET $B/resource/demo-resource -H "$OW" -H 'Accept: text/csv'
check "GET resource with Accept: text/csv -> 406" test "$code" = 406

emu_finish
