# emu-test-lib.sh - the harness the emulator's TAP tests share (sourced,
# bash). Everything goes through curl, jq and the openssl CLI, so the
# emulator is checked from the outside exactly as a client sees it.
#
#   emu_lib_init            tools present (else "1..0 # SKIP"), $emu, $tmp, cleanup trap
#   emu_start CONFIG        runs the emulator on CONFIG, waits for its line; sets $pid
#   emu_finish              SIGTERM -> exit 0, no sanitizer reports, the TAP plan
#   check DESC CMD...       one TAP line; on failure the last response as a diagnostic
#   req METHOD PATH ARGS... curl against $base: $code, $tmp/body, $tmp/hdr
#   body, jbody FILTER, header NAME, jwt_claims TOKEN
#   sign_jwt HEADER PAYLOAD KEY, grant CLIENT KID KEY [SCOPE] [AUD] [JTI]
#   token_req ASSERTION, mp_token CLIENT KID KEY [SCOPE], exchange MP_TOKEN [CURL ARGS]
#
# Env: top_builddir/top_srcdir (set by make check), EMULATOR (binary
# override), KEEP=1 keeps the temp dir for debugging.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${top_srcdir:-$here/../..}
builddir=${top_builddir:-$srcdir}
emu=${EMULATOR:-$builddir/tests/emulator/altinn-emulator}
GW_ID=11111111-1111-4111-8111-111111111111
PA_ID=22222222-2222-4222-8222-222222222222
SCOPES="altinn:broker.read altinn:broker.write altinn:events.subscribe"
pid=
n=0
failed=0

emu_lib_init() {
  for tool in curl jq openssl python3; do
    if ! command -v $tool >/dev/null 2>&1; then
      echo "1..0 # SKIP $tool not installed"
      exit 0
    fi
  done
  if [ ! -x "$emu" ]; then
    echo "Bail out! emulator binary not found: $emu"
    exit 1
  fi
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/emu-test.XXXXXX")
  trap emu_cleanup EXIT
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  base="https://127.0.0.1:$port"
}

emu_cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}

emu_start() {
  "$emu" --config "$1" >"$tmp/stdout" 2>"$tmp/stderr" &
  pid=$!
  for _ in $(seq 1 100); do
    grep -q "listening" "$tmp/stdout" 2>/dev/null && break
    sleep 0.05
  done
  if [ "$(cat "$tmp/stdout")" != "altinn-emulator listening on $base" ]; then
    echo "Bail out! emulator did not start: $(cat "$tmp/stdout" "$tmp/stderr")"
    exit 1
  fi
}

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() {
  local d=$1; shift
  if "$@"; then ok "$d"; else not_ok "$d"; echo "# code=$code body=$(head -c 600 "$tmp/body")"; fi
}

req() {
  local m=$1 p=$2; shift 2
  code=$(curl -sS --cacert "$tmp/ca.pem" -X "$m" -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' "$@" "$base$p")
}
body() { cat "$tmp/body"; }
jbody() { jq -r "$1" "$tmp/body" 2>/dev/null; }
header() { grep -i "^$1:" "$tmp/hdr" | head -1 | sed 's/^[^:]*: *//' | tr -d '\r'; }

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
jwt_claims() {
  printf '%s' "$1" | cut -d. -f2 | python3 -c 'import sys,base64; s=sys.stdin.read().strip(); print(base64.urlsafe_b64decode(s+"="*(-len(s)%4)).decode())'
}
# sign_jwt HEADER_JSON PAYLOAD_JSON KEY: RS256 over the compact form
sign_jwt() {
  local h p s
  h=$(printf '%s' "$1" | b64url)
  p=$(printf '%s' "$2" | b64url)
  s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -sign "$3" -binary | b64url)
  printf '%s.%s.%s' "$h" "$p" "$s"
}
# grant_claims CLIENT_ID [SCOPE] [AUD] [JTI]: the documented claim set, iat now, exp +100 s
grant_claims() {
  local cid=$1 scope=${2:-$SCOPES} aud=${3:-$base/} jti=${4:-$(cat /proc/sys/kernel/random/uuid)}
  local now; now=$(date +%s)
  printf '{"aud":"%s","iss":"%s","scope":"%s","iat":%d,"exp":%d,"jti":"%s"}' \
    "$aud" "$cid" "$scope" "$now" $((now + 100)) "$jti"
}
grant() {
  local cid=$1 kid=$2 key=$3; shift 3
  sign_jwt "$(printf '{"alg":"RS256","kid":"%s"}' "$kid")" "$(grant_claims "$cid" "$@")" "$key"
}
token_req() {
  req POST /token -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=$1"
}
mp_token() { token_req "$(grant "$@")"; jbody .access_token; }
exchange() { local t=$1; shift; req GET /authentication/api/v1/exchange/maskinporten -H "Authorization: Bearer $t" "$@"; }

emu_finish() {
  kill -TERM "$pid"
  wait "$pid"
  local rc=$?
  pid=
  check "SIGTERM -> clean exit 0" test "$rc" = 0
  if grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$tmp/stderr"; then
    not_ok "no sanitizer reports"; sed 's/^/# /' "$tmp/stderr" | head -40
  else
    ok "no sanitizer reports"
  fi
  echo "1..$n"
  [ "$failed" -eq 0 ]
}
