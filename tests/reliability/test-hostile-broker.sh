#!/bin/sh
# Hostile replies from the Broker and from Maskinporten, through the
# emulator's hostile rules (POST /_emulator/hostile): the gateway either
# refuses them with a clear error or shows something safe, never loses or
# confirms a file it did not read whole, and one bad transfer never hides
# the others.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

work=$(mktemp -d /tmp/ab-hostile-broker.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
gw_setup "$work/gw" >/dev/null
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
head -c 5000 /dev/urandom > "$work/f5k.bin"
md5=$(md5sum < "$work/f5k.bin" | cut -d' ' -f1)
hostile() { gw_emu POST /_emulator/hostile "$1" >/dev/null; }
requests() { gw_emu GET /_emulator/state | gw_json "d['requests'].get('$1', 0)"; }
put_fails() { # NAME DESCRIPTION LOG-TEXT
  printf 'put %s /outbox/%s\n' "$work/f5k.bin" "$1" > "$work/put.batch"
  gw_sftp "$work/put.batch" > "$work/put.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && grep -q 'close remote' "$work/put.out" && grep -q "$3" "$GW_DIR/log/altinn-broker.log"; then
    tap_ok "$2: the client's CLOSE fails (exit $rc) and the log says \"$3\""
  else
    tap_not_ok "$2: exit $rc"; tap_diag < "$work/put.out"
  fi
}

# --- Maskinporten and the token exchange (before any token is cached) -----
hostile '{"endpoint":"token","count":10,"set":{"access_token":"eyJhbGciOiJSUzI1NiJ9.e30.c2ln\r\nX-Injected: 1"}}'
put_fails tok.bin "an access_token that would split the Authorization header" "no usable access_token"
tap_eq "no Broker call was made with it" 0 "$(requests initialize)"
hostile '{"clear":true}'
hostile '{"endpoint":"token","count":10,"set":{"access_token":""}}'
put_fails tok2.bin "an empty access_token" "no usable access_token"
hostile '{"clear":true}'
hostile '{"endpoint":"exchange","count":10,"body":"<html><body>Sign in</body></html>","contentType":"text/html"}'
put_fails exch.bin "an exchange answering HTML instead of a token" "not a JWT"
hostile '{"clear":true}'
hostile '{"endpoint":"token","count":10,"body":"{\"access_token\":","contentType":"application/json"}'
put_fails tok3.bin "a truncated token reply" "no usable access_token"
hostile '{"clear":true}'
tap_eq "nothing was initialized while tokens were hostile" 0 "$(requests initialize)"

# --- initialize replies ---------------------------------------------------
hostile '{"endpoint":"initialize","count":1,"set":{"fileTransferId":"../../etc/passwd"}}'
put_fails init1.bin "an initialize reply whose id is a path" "Broker reply has no valid fileTransferId"
hostile '{"endpoint":"initialize","count":1,"body":"<html>502 Bad Gateway</html>","contentType":"text/html"}'
put_fails init2.bin "an initialize reply that is HTML" "Broker reply has no valid fileTransferId"
hostile '{"endpoint":"initialize","count":1,"padBytes":20000000}'
put_fails init3.bin "an initialize reply of 20 MB" "larger than 16777216 bytes"
tap_eq "no upload used a hostile id" 0 "$(requests upload)"
tap_eq "nothing was published from the refused uploads" "" "$(rel_published)"
printf 'put %s /outbox/after.bin\n' "$work/f5k.bin" > "$work/put.batch"
gw_sftp "$work/put.batch" > /dev/null 2>&1
tap_eq "an upload right after them works" 0 $?

# --- overview replies for the inbox ---------------------------------------
send() { # NAME: the partner sends f5k.bin as NAME; prints its id
  gw_partner send /outbox "$work/f5k.bin" "$1" >/dev/null 2>&1
  gw_emu GET /_emulator/state | gw_json "[t['fileTransferId'] for t in d['transfers'] if t['fileName']=='$1'][0]"
}
rule() { printf '{"endpoint":"overview","id":"%s","count":1000,%s}' "$1" "$2"; }
i_dots=$(send h-dots.bin); i_abs=$(send h-abs.bin); i_empty=$(send h-empty.bin)
i_ctl=$(send h-ctl.bin); i_neg=$(send h-neg.bin); i_small=$(send h-small.bin)
i_big=$(send h-big.bin); i_zero=$(send h-zero.bin); i_bad=$(send h-bad.bin)
i_huge=$(send h-huge.bin); i_ok=$(send h-ok.bin)
hostile "[$(rule "$i_dots" '"set":{"fileName":"../../etc/passwd"}'),
  $(rule "$i_abs" '"set":{"fileName":"/abs/path.txt"}'),
  $(rule "$i_empty" '"set":{"fileName":""}'),
  $(rule "$i_ctl" '"set":{"fileName":"a\u0007b\u001b(x\nc.txt"}'),
  $(rule "$i_neg" '"set":{"fileTransferSize":-5}'),
  $(rule "$i_small" '"set":{"fileTransferSize":1000}'),
  $(rule "$i_big" '"set":{"fileTransferSize":9000}'),
  $(rule "$i_zero" '"set":{"fileTransferSize":0}'),
  $(rule "$i_bad" "\"body\":\"{\\\"fileTransferId\\\":\\\"$i_bad\\\",\\\"fileNa\"")
  , $(rule "$i_huge" '"padBytes":20000000')]"
printf 'ls -1 /inbox\n' > "$work/ls.batch"
gw_sftp "$work/ls.batch" 2>&1 | grep -v '^sftp>' | sed 's|^/inbox/||' | sort > "$work/ls.out"
tap_eq "the listing shows safe names and the sizes the Broker gave, leaving the unusable ones out" \
  "$(printf '%s\n' _._.._etc_passwd _abs_path.txt "a_b_(x_c.txt" h-big.bin h-ok.bin h-small.bin h-zero.bin unnamed)" \
  "$(cat "$work/ls.out")"
for why in "Broker overview reply is not a file transfer" "larger than 16777216 bytes" \
           "the Broker gives no valid fileTransferSize"; do
  tap_check "the log says why one was left out: $why" \
    grep -q "listing /inbox: transfer .* left out: .*$why" "$GW_DIR/log/altinn-broker.log"
done

get_rm() { # NAME: get and rm in one batch; prints the exit code and the local MD5
  rm -f "$work/dl"
  printf 'get "/inbox/%s" %s/dl\nrm "/inbox/%s"\n' "$1" "$work" "$1" > "$work/g.batch"
  gw_sftp "$work/g.batch" > "$work/g.out" 2>&1
  echo "$? $(md5sum < "$work/dl" 2>/dev/null | cut -d' ' -f1)"
}
recipient() { # ID: our recipient status at the Broker
  gw_emu GET /_emulator/state | gw_json "[r['status'] for t in d['transfers'] if t['fileTransferId']=='$1' for r in t['recipients']][0]"
}
for pair in "_._.._etc_passwd $i_dots" "_abs_path.txt $i_abs" "unnamed $i_empty" \
            "a_b_(x_c.txt $i_ctl" "h-ok.bin $i_ok"; do
  set -- $pair
  tap_eq "'$1' downloads whole (the Broker's bytes) and rm confirms it" "0 $md5 DownloadConfirmed" \
    "$(get_rm "$1") $(recipient "$2")"
done
for pair in "h-small.bin $i_small listed as 1000 bytes, served 5000" \
            "h-big.bin $i_big listed as 9000 bytes, served 5000" \
            "h-zero.bin $i_zero listed as empty, served 5000"; do
  set -- $pair
  name=$1; id=$2; shift 2
  r=$(get_rm "$name")
  tap_check "'$name' ($*): the download fails" test "${r%% *}" -ne 0
  tap_check "  with the reason in the log" grep -q "download of /inbox/$name refused: the Broker lists it as" \
    "$GW_DIR/log/altinn-broker.log"
  printf 'rm "/inbox/%s"\n' "$name" > "$work/rm.batch"
  gw_sftp "$work/rm.batch" > /dev/null 2>&1
  tap_check "  rm is refused" test $? -ne 0
  tap_eq "  and the Broker has no confirmation" DownloadStarted "$(recipient "$id")"
done
for id in "$i_neg" "$i_bad" "$i_huge"; do
  tap_eq "a transfer left out of the listing is not confirmed either ($id)" Initialized "$(recipient "$id")"
done

# --- search replies -------------------------------------------------------
hostile '{"clear":true}'
hostile '{"endpoint":"search","count":5,"append":["../../etc","0b6b4c5e-1d2a-4c3b-9e8f-123456789abc/..",5,null,{"fileTransferId":"x"}]}'
sleep 11   # the session's listing is reused for 10 s
gw_sftp "$work/ls.batch" 2>&1 | grep -v '^sftp>' | sed 's|^/inbox/||' | sort > "$work/ls2.out"
tap_eq "search results that are not GUIDs are ignored; transfers left out earlier are listed now that their overviews are sound" \
  "$(printf '%s\n' h-bad.bin h-big.bin h-huge.bin h-neg.bin h-small.bin h-zero.bin)" "$(cat "$work/ls2.out")"
hostile '{"clear":true}'
hostile '{"endpoint":"search","count":5,"body":"[\"0b6b4c5e-1d2a"}'
sleep 11
gw_sftp "$work/ls.batch" > "$work/ls3.out" 2>&1
rc=$?
tap_check "a malformed search reply makes the listing fail (exit $rc), not look empty" \
  sh -c "[ $rc -ne 0 ] || grep -q h-big.bin '$work/ls3.out'"
hostile '{"clear":true}'

tap_check "ProFTPD is still running" kill -0 "$GW_FTPD_PID"
tap_eq "no spool file is left behind" "" "$(ls -A "$GW_DIR/spool")"
tap_check "no raw control character reached the gateway log" \
  sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$GW_DIR/log/altinn-broker.log'"
if [ "$TAP_FAILED" -ne 0 ]; then
  grep -v 'debug: stat' "$GW_DIR/log/altinn-broker.log" | tail -n 40 | tap_diag
fi
tap_done
