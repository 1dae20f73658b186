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
  | (.organizations[] | select(.orgNumber == "991825827")) += {orgCode: "digdir"}
  | .organizations += [{orgNumber: "310000009", name: "NewCo AS"},
                       {orgNumber: "312345679", name: "Partner AS avd. Bergen", parent: "312345678"}]
  | .clients += [
      {clientId: $ow, org: "991825827", kid: "owner-key-1", publicKey: ($dir + "/keys/owner.pub.pem"),
       scopes: ["altinn:serviceowner", "altinn:broker.read", "altinn:broker.write", "altinn:events.subscribe"]},
      {clientId: $nc, org: "310000009", kid: "newco-key-1", publicKey: ($dir + "/keys/newco.pub.pem"),
       scopes: ["altinn:serviceowner", "altinn:broker.read", "altinn:broker.write"]}]
  | .resources += [
      {id: "docs-resource", owner: "991825827", configured: false,
       access: {"999888777": ["read", "write", "subscribe"], "312345678": ["read", "write", "subscribe"],
                "312345679": ["read"]}},
      {id: "unconf-resource", owner: "991825827", configured: false, access: {"999888777": ["write"]}},
      {id: "orphan-resource", owner: "920000001", access: {"999888777": ["write"]}},
      {id: "listed-resource", owner: "991825827", accessList: ["312345678"],
       access: {"999888777": ["read", "write"], "312345678": ["read"]}},
      {id: "party-resource", owner: "991825827", requiredParty: "0192:991825827",
       access: {"999888777": ["write"], "991825827": ["read"], "312345678": ["read"]}},
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

# ---- token exchange (auth-and-events.md §2) ----
check "exchange of a service-owner token adds urn:altinn:org" \
  test "$(jwt_claims "${OW#Authorization: Bearer }" | jq -r '."urn:altinn:org"')" = digdir \
       -a "$(jwt_claims "${GW#Authorization: Bearer }" | jq -r 'has("urn:altinn:org")')" = false
req GET /authentication/api/v1/exchange/maskinporten -H "Authorization: Bearer $(mp_token $GW_ID gateway-key-1 "$tmp/keys/gateway.key")" \
  -H 'X-Altinn-EnterpriseUser-Authentication: x'
check "exchange with the enterprise-user header -> 410 Gone" test "$code" = 410
exchange "$(mp_token $GW_ID gateway-key-1 "$tmp/keys/gateway.key")" -H 'Accept: application/json'
check "exchange with Accept: application/json -> the JWT as a JSON string" \
  test "$code" = 200 -a "$(jq -r 'type' "$tmp/body")" = string -a "$(jq -r . "$tmp/body" | tr -cd . | wc -c)" = 2

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

# ---- §3.1 initialize (FileTransferInitalizeExt) ----
printf 'docs-shaped file body %s\n' "$(date +%s%N)" > "$tmp/file"
md5=$(md5sum < "$tmp/file" | cut -d' ' -f1)
size=$(stat -c %s "$tmp/file")
# init_json JQ_FILTER: the documented example body, changed by the filter
init_json() {
  jq -nc "{fileName: \"report.txt\", resourceId: \"demo-resource\", sendersFileTransferReference: \"archiveno-20425\",
           sender: \"0192:999888777\", recipients: [\"0192:312345678\"], propertyList: {caseNumber: \"123\"},
           checksum: \"$md5\", disableVirusScan: true} | ${1:-.}"
}
init() { req POST $B/filetransfer -H "${2:-$GW}" -H "$JSON" --data "$1"; }
init "$(init_json)"
check "initialize -> 200 {\"fileTransferId\": guid}" \
  test "$code" = 200 -a -n "$(jbody .fileTransferId | grep -E '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')"
ft=$(jbody .fileTransferId)
init "$(init_json '.sender = "urn:altinn:organization:identifier-no:999888777" | .recipients = ["urn:altinn:organization:identifier-no:312345678"]')"
urn_ft=$(jbody .fileTransferId)
check "URN sender and recipient accepted (§13: the OpenAPI pattern has only NNNN:nnnnnnnnn)" test "$code" = 200
req GET $B/filetransfer/$urn_ft -H "$GW"
check "... sender stored as given, recipients normalised to 0192:" \
  test "$(jbody .sender)" = urn:altinn:organization:identifier-no:999888777 -a "$(jbody '.recipients[0].recipient')" = 0192:312345678
init "$(init_json 'with_entries(.key |= (.[0:1] | ascii_upcase) + .[1:])')"
check "PascalCase property names bind too" test "$code" = 200
init "$(init_json '.resourceId = "urn:altinn:resource:demo-resource"')"
req GET $B/filetransfer/$(jbody .fileTransferId) -H "$GW"
check "resourceId as urn:altinn:resource:<id> -> stored as the bare id" test "$(jbody .resourceId)" = demo-resource
long3000=$(head -c 3000 /dev/zero | tr '\0' v)
init "$(init_json ".propertyList.big = \"$long3000\"")"
check "propertyList value of 3000 characters -> 200 (§13: the OpenAPI says 300)" test "$code" = 200
init "$(init_json ".propertyList.big = \"${long3000}v\"")"
check "propertyList value of 3001 characters -> 400 errors.PropertyList" test "$code" = 400 -a -n "$(jbody '.errors.PropertyList[0]')"
init "$(init_json '.propertyList = ([range(11)] | map({key: "k\(.)", value: "v"}) | from_entries)')"
check "11 properties -> 400 'PropertyList can contain at most 10 properties'" \
  test "$code" = 400 -a "$(jbody '.errors.PropertyList[0]')" = "PropertyList can contain at most 10 properties"
init "$(init_json ".fileName = \"$(head -c 256 /dev/zero | tr '\0' f)\"")"
check "fileName of 256 characters -> 400 errors.FileName" test "$code" = 400 -a -n "$(jbody '.errors.FileName[0]')"
init "$(init_json '.checksum = "abc"')"
check "checksum not 32 characters -> 400 errors.Checksum" test "$code" = 400 -a -n "$(jbody '.errors.Checksum[0]' | grep '32 characters')"
init "$(init_json 'del(.sendersFileTransferReference)')"
check "no sendersFileTransferReference -> 400 (defaults to \"\", below the minimum length)" \
  test "$code" = 400 -a -n "$(jbody '.errors.SendersFileTransferReference[0]')"
init "$(init_json ".sendersFileTransferReference = \"$(head -c 501 /dev/zero | tr '\0' r)\"")"
check "sendersFileTransferReference of 501 characters -> 500 (varchar(500) column)" test "$code" = 500
init "$(init_json '.resourceId = "unconf-resource"')"
check "resource not configured in Broker -> 400 BRO-00025" test "$code" = 400 -a "$(jbody .code)" = BRO-00025
init "$(init_json '.resourceId = "orphan-resource"')"
check "resource whose owner is not a service owner -> 400 BRO-00002" test "$code" = 400 -a "$(jbody .code)" = BRO-00002
init "$(init_json '.resourceId = "listed-resource" | .recipients = ["0192:312345678", "0192:310000009"]')"
check "recipient outside the access list -> 400 BRO-00028" test "$code" = 400 -a "$(jbody .code)" = BRO-00028
init "$(init_json '.resourceId = "party-resource" | .recipients = ["0192:991825827", "0192:312345678"]')"
check "requiredParty, two recipients -> 400 BRO-00027" test "$code" = 400 -a "$(jbody .code)" = BRO-00027
init "$(init_json '.resourceId = "party-resource"')"
check "requiredParty not in the transfer -> 400 BRO-00026" test "$code" = 400 -a "$(jbody .code)" = BRO-00026
init "$(init_json '.resourceId = "party-resource" | .recipients = ["0192:991825827"]')"
check "requiredParty (configured as 0192:991825827) as the one recipient -> 200" test "$code" = 200
init "$(init_json '.sender = "0192:312345678"')"
check "sender the caller does not act for -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
init "$(init_json '.sender = "0192:312345678" | .recipients = ["0192:999888777"]')" "$SUT"
check "system-user token (vendor 999888777 for customer 312345678) sends as the customer -> 200" test "$code" = 200
req POST /_emulator/knobs --data '{"production":true}'
init "$(init_json)"
check "production: disableVirusScan without approval -> 400 BRO-00020" test "$code" = 400 -a "$(jbody .code)" = BRO-00020
req POST /_emulator/knobs --data '{"production":false}'
init "$(init_json)" "Authorization: Bearer $(mp_token $GW_ID gateway-key-1 "$tmp/keys/gateway.key" altinn:broker.read)"
check "token without altinn:broker.write -> 403, empty body" test "$code" = 403 -a ! -s "$tmp/body"
req POST $B/filetransfer -H "$JSON" --data "$(init_json)"
check "no token -> 401, empty body, WWW-Authenticate: Bearer" test "$code" = 401 -a ! -s "$tmp/body" -a -n "$(header WWW-Authenticate)"
req POST $B/filetransfer -H "$GW" -H "$JSON" -H 'Accept: text/plain' --data "$(init_json)"
check "Accept: text/plain -> 406 with a plain-text body" \
  test "$code" = 406 -a -n "$(header Content-Type | grep text/plain)" -a -n "$(body | grep 'Supported Accept headers are: application/json')"

# ---- §3.2 upload (streamed) ----
req POST $B/filetransfer/$ft/upload -H "$PA" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
check "upload by another org than the sender -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
req POST $B/filetransfer/$ft/upload -H "$GW" -H 'Content-Type: text/plain' --data-binary @"$tmp/file"
check "upload as text/plain -> 415 (Consumes application/octet-stream)" test "$code" = 415
req GET $B/filetransfer/$ft -H "$GW"
check "overview before upload: Initialized, size 0, published null, checksum as given" \
  test "$(jbody .fileTransferStatus)" = Initialized -a "$(jbody .fileTransferSize)" = 0 -a "$(jbody .published)" = null \
       -a "$(jbody .checksum)" = "$md5" -a "$(jbody .fileTransferStatusText)" = "Ready for upload"
req POST $B/filetransfer/$ft/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
check "upload with Content-Length -> 200 {\"fileTransferId\"}" test "$code" = 200 -a "$(jbody .fileTransferId)" = "$ft"
req POST $B/filetransfer/$ft/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
check "upload again -> 409 BRO-00004" test "$code" = 409 -a "$(jbody .code)" = BRO-00004
init "$(init_json)"
chunked=$(jbody .fileTransferId)
req POST $B/filetransfer/$chunked/upload -H "$GW" -H 'Content-Type: application/octet-stream' -H 'Transfer-Encoding: chunked' --data-binary @"$tmp/file"
check "upload chunked (no Content-Length) -> 200" test "$code" = 200
req POST $B/filetransfer/00000000-0000-4000-8000-000000000000/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary x
check "upload to an unknown id -> 404 BRO-00001" test "$code" = 404 -a "$(jbody .code)" = BRO-00001
req POST $B/filetransfer/not-a-guid/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary x
check "upload to a non-GUID id -> 400 ValidationProblemDetails" test "$code" = 400 -a -n "$(jbody '.errors | keys[0]')"

# ---- §3.3 initialize + upload in one multipart request ----
form() { req POST $B/filetransfer/upload -H "${FORM_AUTH:-$GW}" "$@"; }
form -F Metadata.FileName=form.txt -F Metadata.ResourceId=demo-resource -F Metadata.SendersFileTransferReference=form-1 \
  -F Metadata.Sender=0192:999888777 -F Metadata.Recipients=0192:312345678 -F Metadata.Recipients=urn:altinn:organization:identifier-no:310000009 \
  -F 'Metadata.PropertyList[caseNumber]=77' -F "Metadata.Checksum=$md5" -F Metadata.DisableVirusScan=true -F "FileTransfer=@$tmp/file"
check "multipart initialize+upload -> 200 {\"fileTransferId\"} (§13: the OpenAPI says a string)" \
  test "$code" = 200 -a "$(jbody 'type')" = object -a -n "$(jbody .fileTransferId)"
req GET $B/filetransfer/$(jbody .fileTransferId) -H "$GW"
check "... Published with the bytes, repeated Recipients, PropertyList[key]" \
  test "$(jbody .fileTransferStatus)" = Published -a "$(jbody .fileTransferSize)" = "$size" \
       -a "$(jbody '[.recipients[].recipient] | join(",")')" = "0192:312345678,0192:310000009" -a "$(jbody .propertyList.caseNumber)" = 77
form -F metadata.filename=lower.txt -F METADATA.RESOURCEID=demo-resource -F metadata.sendersFileTransferReference=form-2 \
  -F metadata.sender=0192:999888777 -F 'metadata.recipients[0]=0192:312345678' -F 'metadata.recipients[1]=0192:310000009' \
  -F metadata.propertyList.kind=invoice -F "fileTransfer=@$tmp/file"
check "field names in any case, indexed Recipients[i], PropertyList.key -> 200" test "$code" = 200
req GET $B/filetransfer/$(jbody .fileTransferId) -H "$GW"
check "... both indexed recipients and the property bound" \
  test "$(jbody '.recipients | length')" = 2 -a "$(jbody .propertyList.kind)" = invoice -a "$(jbody .fileName)" = lower.txt
form -F Metadata.FileName=x.txt -F Metadata.ResourceId=demo-resource -F Metadata.Sender=999888777 -F Metadata.Recipients=0192:312345678
check "no file part and a bad sender -> 400 errors FileTransfer and Metadata.Sender" \
  test "$code" = 400 -a -n "$(jbody '.errors.FileTransfer[0]')" -a -n "$(jbody '.errors["Metadata.Sender"][0]')"
form -F Metadata.FileName=x.txt -F Metadata.ResourceId=demo-resource -F Metadata.SendersFileTransferReference=form-3 -F Metadata.Sender=0192:999888777 \
  -F Metadata.Recipients=0192:312345678 -F Metadata.Checksum=0123456789abcdef0123456789abcdef -F Metadata.DisableVirusScan=true -F "FileTransfer=@$tmp/file"
check "multipart with a wrong checksum -> 400 BRO-00009" test "$code" = 400 -a "$(jbody .code)" = BRO-00009
req GET /_emulator/state
check "... and that transfer was created and is Failed 'Checksum mismatch'" \
  test "$(jbody '[.transfers[] | select(.sendersFileTransferReference == "form-3")][0] | .status + "/" + .statusText')" = "Failed/Checksum mismatch"
form -F Metadata.FileName=x.txt -F Metadata.ResourceId=demo-resource -F Metadata.SendersFileTransferReference=r -F Metadata.Sender=0192:999888777 \
  -F Metadata.Recipients=0192:312345678 -F "FileTransfer=@$tmp/file" -H 'Accept: application/xml'
check "multipart with Accept: application/xml -> 406" test "$code" = 406
req PUT $B/resource/newco-resource -H "$NC" -H "$JSON" --data '{"maxFileTransferSize":10}'
form -F Metadata.FileName=x.txt -F Metadata.ResourceId=newco-resource -F Metadata.SendersFileTransferReference=r -F Metadata.Sender=0192:999888777 \
  -F Metadata.Recipients=0192:312345678 -F "FileTransfer=@$tmp/file"
check "multipart over the resource's maxFileTransferSize -> 400 BRO-00016" test "$code" = 400 -a "$(jbody .code)" = BRO-00016
init "$(init_json '.resourceId = "newco-resource" | del(.checksum)')"
small=$(jbody .fileTransferId)
req POST $B/filetransfer/$small/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
check "streamed upload over maxFileTransferSize (Content-Length) -> 400 BRO-00016" test "$code" = 400 -a "$(jbody .code)" = BRO-00016
: > "$tmp/empty"
form -F Metadata.FileName=empty.txt -F Metadata.ResourceId=demo-resource -F Metadata.SendersFileTransferReference=empty -F Metadata.Sender=0192:999888777 \
  -F Metadata.Recipients=0192:312345678 -F "FileTransfer=@$tmp/empty"
empty=$(jbody .fileTransferId)
check "multipart with an empty file -> 200" test "$code" = 200

# ---- §3.4 overview, §3.5 details ----
req GET $B/filetransfer/$ft -H "$PA"
check "overview (as recipient): Published, published set, every documented field" \
  test "$code" = 200 -a "$(jbody '[keys[]] | sort | join(",")')" = "checksum,created,expirationTime,fileName,fileTransferId,fileTransferSize,fileTransferStatus,fileTransferStatusChanged,fileTransferStatusText,propertyList,published,recipients,resourceId,sender,sendersFileTransferReference,useVirusScan" \
       -a "$(jbody .fileTransferStatus)" = Published -a "$(jbody .published)" != null -a "$(jbody .useVirusScan)" = false
req GET $B/filetransfer/$ft/details -H "$GW"
check "details: no 'published', status history and recipient history" \
  test "$code" = 200 -a "$(jbody 'has("published")')" = false \
       -a "$(jbody '[.fileTransferStatusHistory[].fileTransferStatus] | join(",")')" = "Initialized,UploadStarted,Published" \
       -a "$(jbody '.recipientFileTransferStatusHistory[0].recipientFileTransferStatusCode')" = Initialized
req GET $B/filetransfer/$ft -H "$NC"
check "overview by an org that is neither sender nor recipient -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
req GET $B/filetransfer/00000000-0000-4000-8000-000000000000/details -H "$GW"
check "details of an unknown id -> 404 BRO-00001" test "$code" = 404 -a "$(jbody .code)" = BRO-00001

# ---- §3.6 search ----
search() { req GET "$B/filetransfer?$1" -H "${2:-$GW}"; }
search "status=Published"
check "search without resourceId -> 400" test "$code" = 400 -a -n "$(jbody '.errors.resourceId[0]')"
search "resourceId=no-such-resource"
check "search on an unknown resource -> 403 BRO-00005" test "$code" = 403 -a "$(jbody .code)" = BRO-00005
search "resourceId=demo-resource" "$NC"
check "search by an org without read+write on the resource -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
search "resourceId=demo-resource&role=Sender"
check "sender search does not find the transfer initialized with a URN sender (documented)" \
  test "$code" = 200 -a -z "$(jbody '.[]' | grep -x "$urn_ft")" -a -n "$(jbody '.[]' | grep -x "$ft")"
search "resourceId=demo-resource&status=Published&recipientStatus=Initialized" "$PA"
check "recipient search status=Published&recipientStatus=Initialized (the documented way to find new files)" \
  test "$code" = 200 -a -n "$(jbody '.[]' | grep -x "$ft")" -a -z "$(jbody '.[]' | grep -x "$urn_ft")"
search "resourceId=demo-resource&status=published&orderAscending=true&role=sender"
first=$(jbody '.[0]')
search "resourceId=demo-resource&status=3&role=1" "$PA"
check "enum values by name in any case or by number; orderAscending reverses" \
  test "$code" = 200 -a "$first" = "$ft"
bulk=()  # 101 initializes over one connection (curl --next)
for i in $(seq 1 101); do
  bulk+=(--next -sS --cacert "$tmp/ca.pem" -o "$tmp/body" -H "$GW" -H "$JSON" --data "$(init_json ".sendersFileTransferReference = \"bulk-$i\"")" "$base$B/filetransfer")
done
curl "${bulk[@]}"
last=$(jbody .fileTransferId)
search "resourceId=demo-resource&role=Sender"
check "search returns at most 100 ids, newest first" test "$(jbody length)" = 100 -a "$(jbody '.[0]')" = "$last"

# ---- §3.7 download ----
dl() { req GET $B/filetransfer/$1/download -H "${3:-$PA}" ${2:+-H "Range: $2"}; }
dl "$small"
check "download before the file is published -> 403 BRO-00007" test "$code" = 403 -a "$(jbody .code)" = BRO-00007
dl "$ft" "" "$GW"
check "download by the sender (not a recipient) -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
dl "$ft" "bytes=-5"
check "Range bytes=-5 (suffix) -> 206, the last 5 bytes" \
  test "$code" = 206 -a "$(header Content-Range)" = "bytes $((size - 5))-$((size - 1))/$size" -a "$(body | od -An -c | tr -d ' ')" = "$(tail -c 5 "$tmp/file" | od -An -c | tr -d ' ')"
dl "$ft" "bytes=0-0"
check "Range bytes=0-0 -> 206, Content-Length 1" test "$code" = 206 -a "$(header Content-Length)" = 1
dl "$ft" "bytes=0-1,3-4"
check "multiple ranges are ignored -> 200 whole file" test "$code" = 200 -a "$(header Content-Length)" = "$size"
dl "$ft" "items=0-1"
check "another unit is ignored -> 200" test "$code" = 200
dl "$ft" "bytes=5-2"
check "end before start -> 416 BRO-00029" test "$code" = 416 -a "$(jbody .code)" = BRO-00029
dl "$empty" "bytes=0-"
check "any range of an empty file -> 416 BRO-00029" test "$code" = 416 -a "$(jbody .code)" = BRO-00029
dl "$ft"
check "download -> 200 octet-stream, attachment filename, Accept-Ranges, the bytes" \
  test "$code" = 200 -a -n "$(header Content-Type | grep application/octet-stream)" -a -n "$(header Content-Disposition | grep 'attachment.*report.txt')" \
       -a "$(header Accept-Ranges)" = bytes -a "$(md5sum < "$tmp/body" | cut -d' ' -f1)" = "$md5"
req GET $B/filetransfer/$ft -H "$PA"
check "... the recipient is now DownloadStarted" test "$(jbody '.recipients[0].currentRecipientFileTransferStatusCode')" = DownloadStarted

# ---- §3.8 confirm ----
confirm() { req POST $B/filetransfer/$1/confirmdownload -H "${2:-$PA}" "${@:3}"; }
confirm "$ft" "$PA" -H 'Accept: application/octet-stream'
check "confirm with Accept: application/octet-stream -> 406 (docs: never send that)" test "$code" = 406
confirm "$small"
check "confirm before any upload -> 400 BRO-00003" test "$code" = 400 -a "$(jbody .code)" = BRO-00003
confirm "$chunked"
check "confirm before downloading -> 400 BRO-00019" test "$code" = 400 -a "$(jbody .code)" = BRO-00019
confirm "$ft" "$NC"
check "confirm by a non-recipient -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
confirm "$ft"
check "confirm -> 204, empty (§13: the OpenAPI says 200)" test "$code" = 204 -a ! -s "$tmp/body"
req GET $B/filetransfer/$ft -H "$GW"
check "... AllConfirmedDownloaded, recipient DownloadConfirmed" \
  test "$(jbody .fileTransferStatus)" = AllConfirmedDownloaded -a "$(jbody '.recipients[0].currentRecipientFileTransferStatusCode')" = DownloadConfirmed
confirm "$ft"
check "confirm again after AllConfirmedDownloaded -> 400 BRO-00010" test "$code" = 400 -a "$(jbody .code)" = BRO-00010
init "$(init_json '.recipients = ["0192:312345678", "0192:999888777"]')"
two=$(jbody .fileTransferId)
req POST $B/filetransfer/$two/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
dl "$two" >/dev/null; confirm "$two"
confirm "$two"
check "a recipient confirming twice while others have not -> 204 (idempotent)" test "$code" = 204
req GET $B/filetransfer/$two -H "$GW"
check "... the transfer stays Published" test "$(jbody .fileTransferStatus)" = Published
req POST /_emulator/clock --data '{"advance":"PT2H1M"}'
for _ in $(seq 1 40); do req GET $B/filetransfer/$ft -H "$GW"; [ "$(jbody .fileTransferStatus)" = Purged ] && break; sleep 0.05; done
check "PT2H after all confirmed -> Purged, metadata still readable" test "$code" = 200 -a "$(jbody .fileTransferStatus)" = Purged
dl "$ft"
check "download of a purged transfer -> 403 BRO-00007" test "$code" = 403 -a "$(jbody .code)" = BRO-00007

# ---- §4 TUS ----
TUS=$B/filetransfer/upload/tus
T='Tus-Resumable: 1.0.0'
req OPTIONS $TUS/$small
check "TUS OPTIONS without a token -> 401 (still needs broker.write)" test "$code" = 401
req OPTIONS $TUS/$small -H "$GW"
check "TUS OPTIONS -> 204, Tus-Version 1.0.0, creation and termination" \
  test "$code" = 204 -a "$(header Tus-Version)" = 1.0.0 -a -n "$(header Tus-Extension | grep creation | grep termination)"
req POST $TUS/$small -H "$GW" -H "$T" -H 'Upload-Defer-Length: 1'
check "TUS create with Upload-Defer-Length -> 400" test "$code" = 400
req POST $TUS/$small -H "$GW" -H "$T" -H 'Upload-Length: 11'
check "TUS create over the resource's maxFileTransferSize -> 400 BRO-00016" test "$code" = 400 -a "$(jbody .code)" = BRO-00016
req POST $TUS/$chunked -H "$GW" -H "$T" -H 'Upload-Length: 5'
check "TUS create on a published transfer -> 409 BRO-00004" test "$code" = 409 -a "$(jbody .code)" = BRO-00004
req POST $TUS/$small -H "$GW" -H "$T" -H 'Upload-Length: 8'
check "TUS create -> 201, Location the same URL" \
  test "$code" = 201 -a "$(header Location)" = "$TUS/$small"
req DELETE $TUS/$small -H "$GW" -H "$T"
check "TUS DELETE of the incomplete upload -> 204" test "$code" = 204
req HEAD $TUS/$small -H "$GW" -H "$T" -I
check "... then HEAD -> 404" test "$code" = 404

# ---- §9 rate limits (per organisation, per endpoint, per minute) ----
req POST /_emulator/knobs --data '{"rateLimits":true}'
for i in $(seq 1 15); do req GET $B/filetransfer/$chunked/details -H "$GW"; done
check "15 details calls in a minute -> 200" test "$code" = 200
req GET $B/filetransfer/$chunked/details -H "$GW"
check "the 16th -> 429 with Retry-After" test "$code" = 429 -a -n "$(header Retry-After)"
req GET $B/filetransfer/$chunked -H "$GW"
check "overview has its own budget (120) -> 200" test "$code" = 200
req GET $B/filetransfer/$chunked/details -H "$PA"
check "another organisation has its own budget -> 200" test "$code" = 200
req POST /_emulator/knobs --data '{"rateLimits":false}'

# ---- §8.3 / auth-and-events §3.2 subscriptions ----
E=/events/api/v1
sub() { req POST $E/subscriptions -H "${2:-$PA}" -H "$JSON" --data "$1"; }
PART=urn:altinn:organization:identifier-no:312345678
DOCS=urn:altinn:resource:docs-resource
sub "{\"endPoint\":\"http://127.0.0.1:9/hook\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\"}"
check "http:// endpoint -> 400 'Missing or invalid endpoint to push events towards'" \
  test "$code" = 400 -a "$(body)" = "Missing or invalid endpoint to push events towards"
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"subjectFilter\":\"$PART\"}"
check "no resourceFilter -> 400 'Resource filter is required.'" test "$code" = 400 -a "$(body)" = "Resource filter is required."
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"docs-resource\",\"subjectFilter\":\"$PART\"}"
check "resourceFilter not a URN -> 400 'Resource filter must be a valid urn'" test "$code" = 400 -a "$(body)" = "Resource filter must be a valid urn"
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\",\"sourceFilter\":\"https://platform.tt02.altinn.no/broker/api/v1/filetransfer\"}"
check "sourceFilter (as the old Broker guide says) -> 400 not supported for this resource" \
  test "$code" = 400 -a "$(body)" = "Source filter is not supported for subscriptions on this resource."
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\",\"sourceFilter\":\"http://x.example\"}"
check "sourceFilter that is not https -> 400" test "$code" = 400 -a "$(body)" = "SourceFilter must be an absolute URL with the https scheme."
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\",\"alternativeSubjectFilter\":\"/organisation/312345678\"}"
check "alternativeSubjectFilter -> 400 not supported for this resource" \
  test "$code" = 400 -a "$(body)" = "AlternativeSubject filter is not supported for subscriptions on this resource."
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\",\"includeSubunits\":true}"
check "includeSubunits without subjectFilter -> 400" test "$code" = 400 -a "$(body)" = "IncludeSubunits requires a subject filter."
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\"}"
check "no subjectFilter for a non-owner -> 403 'Not authorized ...'" \
  test "$code" = 403 -a "$(body)" = "Not authorized to create a subscription for resource $DOCS."
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\"}" "$OW"
check "the resource owner may leave subjectFilter out -> 201" test "$code" = 201
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\"}" "Authorization: Bearer $(mp_token $PA_ID partner-key-1 "$tmp/keys/partner.key")"
check "raw Maskinporten token -> 401 (Events takes Altinn tokens only)" test "$code" = 401
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\"}"
check "valid subscription -> 201, Location /events/api/v1/subscription/{id}, validated false" \
  test "$code" = 201 -a -n "$(header Location | grep -E '^/events/api/v1/subscription/[0-9]+$')" -a "$(jbody .validated)" = false \
       -a "$(jbody .consumer)" = /organisation/312345678 -a "$(jbody .includeSubunits)" = false
sid=$(jbody .id)
sub "{\"endPoint\":\"https://hooks.example.no/x\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\"}"
check "the identical request again -> 201 with the same id" test "$code" = 201 -a "$(jbody .id)" = "$sid"
req GET $E/subscriptions -H "$PA"
check "GET subscriptions -> {count, subscriptions} of the caller" test "$(jbody .count)" = 1 -a "$(jbody '.subscriptions[0].id')" = "$sid"
req GET $E/subscriptions/$sid -H "$GW"
check "GET another identity's subscription -> 403" test "$code" = 403
req DELETE $E/subscriptions/$sid -H "$PA"
check "DELETE subscription -> 200" test "$code" = 200
req GET $E/subscriptions/$sid -H "$PA"
check "GET a deleted subscription -> 404" test "$code" = 404

# includeSubunits: a main unit's subscription catches its subunit's events
req POST /_emulator/knobs --data '{"webhookAllowHttp":true}'
receiver() { python3 "$srcdir/tests/emulator/webhook-receiver.py" "$tmp/$1.log" 0 >"$tmp/$1.port" & echo $!; }
r1=$(receiver with-subunits); r2=$(receiver without-subunits)
for f in with-subunits without-subunits; do for _ in $(seq 1 100); do [ -s "$tmp/$f.port" ] && break; sleep 0.05; done; done
hook() { echo "http://127.0.0.1:$(cat "$tmp/$1.port")/hook"; }
sub "{\"endPoint\":\"$(hook with-subunits)\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\",\"typeFilter\":\"no.altinn.broker.published\",\"includeSubunits\":true}"
check "subscription with includeSubunits -> 201, includeSubunits true" test "$code" = 201 -a "$(jbody .includeSubunits)" = true
s1=$(jbody .id)
sub "{\"endPoint\":\"$(hook without-subunits)\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\",\"typeFilter\":\"no.altinn.broker.published\"}"
s2=$(jbody .id)
for s_ in $s1 $s2; do for _ in $(seq 1 60); do req GET $E/subscriptions/$s_ -H "$PA"; [ "$(jbody .validated)" = true ] && break; sleep 0.05; done; done
check "both webhooks answered the validation handshake" test "$(jbody .validated)" = true

# ---- a small, known month on docs-resource: 2 transfers to Partner, 1 to its subunit ----
send() { # RECIPIENT -> id of a Published transfer on docs-resource
  init "$(init_json ".resourceId = \"docs-resource\" | .recipients = [\"$1\"]")" >/dev/null
  local id; id=$(jbody .fileTransferId)
  req POST $B/filetransfer/$id/upload -H "$GW" -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/file"
  echo "$id"
}
a=$(send 0192:312345678); send 0192:312345678 >/dev/null; c=$(send 0192:312345679)
dl "$a" "bytes=0-3" >/dev/null; dl "$a"; confirm "$a"
for _ in $(seq 1 60); do [ "$(grep -c published "$tmp/with-subunits.log" 2>/dev/null)" -ge 3 ] && break; sleep 0.05; done
sleep 0.3
check "includeSubunits: the main unit's webhook got the subunit's published event" \
  test -n "$(grep "\"resourceinstance\":\"$c\"" "$tmp/with-subunits.log" | grep 'identifier-no:312345679')"
check "without includeSubunits: only the main unit's own events (2, not 3)" \
  test "$(grep -c no.altinn.broker.published "$tmp/without-subunits.log")" = 2 -a -z "$(grep "$c" "$tmp/without-subunits.log")"
kill "$r1" "$r2" 2>/dev/null; wait "$r1" "$r2" 2>/dev/null

# ---- §8.1 the event payload ----
req GET "$E/events?resource=$DOCS&after=0&type=no.altinn.broker.published" -H "$PA"
ev=$(jq -c "[.[] | select(.resourceinstance == \"$a\")][0]" "$tmp/body")
check "published event: CloudEvents 1.0 fields, lower-case type, URN subject, data.Role" \
  test "$(echo "$ev" | jq -r '[keys[]] | join(",")')" = "data,id,resource,resourceinstance,source,specversion,subject,time,type" \
       -a "$(echo "$ev" | jq -r '.specversion + " " + .type + " " + .subject + " " + .data.Role')" = "1.0 no.altinn.broker.published $PART Recipient"
check "source is <platform>/broker/api/v1/filetransfer (the OpenAPI example says .../broker/api/v1/file)" \
  test "$(echo "$ev" | jq -r .source)" = "$base/broker/api/v1/filetransfer" \
       -a "$(echo "$EX_CLOUDEVENT" | jq -r .source | sed 's|.*/broker/|/broker/|')" = /broker/api/v1/file

# ---- auth-and-events §3.6 the pull API ----
pull() { req GET "$E/events?$1" -H "${2:-$PA}" "${@:3}"; }
pull "resource=docs-resource&after=0"
check "pull: resource not a urn:altinn:resource: -> 400 ProblemDetails" \
  test "$code" = 400 -a "$(jbody .detail)" = 'The '"'"'resource'"'"' parameter must begin with `urn:altinn:resource:`'
pull "resource=$DOCS"
check "pull without after -> 400 'The 'after' parameter must be defined.'" test "$code" = 400 -a "$(jbody .detail)" = "The 'after' parameter must be defined."
pull "resource=$DOCS&after=0&subject=$PART" "$PA" -H 'Altinn-AlternativeSubject: /organisation/312345678'
check "pull with subject and Altinn-AlternativeSubject -> 400" test "$code" = 400 -a -n "$(jbody .detail | grep 'Only one of')"
pull "resource=$DOCS&after=0&size=1"
check "pull size=1 -> one event, a next link: base + path + ?after=<its id> + the other parameters" \
  test "$code" = 200 -a "$(jbody length)" = 1 -a "$(header next)" = "$base$E/events?after=$(jbody '.[0].id')&resource=$DOCS&size=1"
first_id=$(jbody '.[0].id')
req GET "$(header next | sed "s|^$base||")" -H "$PA"
check "... following next gives the event after it" test "$code" = 200 -a "$(jbody length)" = 1 -a "$(jbody '.[0].id')" != "$first_id"
pull "resource=$DOCS&after=0&type=no.altinn.broker.published&type=no.altinn.broker.downloadconfirmed&size=5000"
check "type repeated (either matches), size above 1000 clamped" \
  test "$code" = 200 -a "$(jbody '[.[].type] | unique | join(",")')" = "no.altinn.broker.downloadconfirmed,no.altinn.broker.published"
pull "resource=$DOCS&after=0&subject=urn:altinn:organization:identifier-no:999888777"
check "pull for another org's subject -> 200 [] (filtered, not refused), no next" test "$code" = 200 -a "$(jbody length)" = 0 -a -z "$(header next)"
pull "resource=$DOCS&after=0" "$PA" -H 'Altinn-AlternativeSubject: /organisation/312345678'
check "Altinn-AlternativeSubject matches nothing (Broker events have no alternativesubject since 2025-11)" test "$code" = 200 -a "$(jbody length)" = 0
sub "{\"endPoint\":\"https://hooks.example.no/owner\",\"resourceFilter\":\"$DOCS\"}" "$OW"
check "a service owner subscribes as /org/<code>" test "$code" = 201 -a "$(jbody .consumer)" = /org/digdir
sub "{\"endPoint\":\"https://hooks.example.no/su\",\"resourceFilter\":\"$DOCS\",\"subjectFilter\":\"$PART\"}" "$SUT"
check "a system user subscribes as /systemuser/<id>" test "$code" = 201 -a -n "$(jbody .consumer | grep -E '^/systemuser/[0-9a-f-]{36}$')"

# ---- §3.11 statistics ----
req GET $B/filetransfer/$a -H "$GW"
ym=$(jbody .created | cut -c1-7); year=${ym%-*}; month=$((10#${ym#*-}))
stats() { req GET "$B/statistics/monthly?year=$year&month=$month&$1" -H "${2:-$OW}" "${@:3}"; }
stats "resourceId=docs-resource"
check "monthly CSV: text/csv attachment, header, one row per sender/recipient pair" \
  test "$code" = 200 -a -n "$(header Content-Type | grep text/csv)" \
       -a -n "$(header Content-Disposition | grep "monthly_statistics_docs-resource_$year-$(printf %02d "$month").csv")" \
       -a "$(body)" = "year,month,resourceId,senderVendor,recipientVendor,sender,recipient,totalFileTransfers,uploadCount,totalTransferDownloadAttempts,transfersWithDownloadConfirmed
$year,$month,docs-resource,,,0192:999888777,0192:312345678,2,2,2,1
$year,$month,docs-resource,,,0192:999888777,0192:312345679,1,1,0,0"
stats "resourceId=docs-resource&includeEndUser=false&includeVendor=true"
check "includeEndUser=false&includeVendor=true: rows per vendor pair" \
  test "$(body | tail -n +2)" = "$year,$month,docs-resource,0192:999888777,,,,2,2,0,0
$year,$month,docs-resource,0192:999888777,0192:312345678,,,1,1,2,1"
stats "includeEndUser=false&includeVendor=false"
check "both include flags false -> 400 BRO-06005" test "$code" = 400 -a "$(jbody .code)" = BRO-06005
req GET "$B/statistics/monthly?year=$year&month=13" -H "$OW"
check "month=13 -> 400 BRO-06003" test "$code" = 400 -a "$(jbody .code)" = BRO-06003
stats "resourceId=unconf-resource"
check "resourceId not configured -> 400 BRO-00025" test "$code" = 400 -a "$(jbody .code)" = BRO-00025
stats "resourceId=newco-resource"
check "another owner's resource -> 401 BRO-00006" test "$code" = 401 -a "$(jbody .code)" = BRO-00006
stats "" "$OW" -H 'Accept: application/json'
check "Accept: application/json -> 406 (produces text/csv)" test "$code" = 406
stats "" "$GW"
check "without altinn:serviceowner -> 403" test "$code" = 403

emu_finish
