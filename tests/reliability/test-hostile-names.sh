#!/bin/sh
# Hostile paths and names over SFTP, byte-exact (paramiko): each is refused
# with an error the client sees and a reason in the log, or stored under a
# name the test can predict; nothing reaches the disk or the Broker that
# should not. With AB_CHROOT=1 the session is chrooted (DefaultRoot ~).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

work=$(mktemp -d /tmp/ab-hostile-names.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
extra=
if [ "${AB_CHROOT:-0}" = 1 ]; then
  echo 'DefaultRoot ~' > "$work/extra.conf"; extra="$work/extra.conf"
fi
gw_setup "$work/gw" $extra >/dev/null
# Production layout: the user's home (the chroot) is not writable by the
# user, so only the mounts accept anything.
chown root:root "$GW_DIR/home/$GW_USER"; chmod 755 "$GW_DIR/home/$GW_USER"
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
mode=$([ "${AB_CHROOT:-0}" = 1 ] && echo chrooted || echo "not chrooted")

cat > "$work/ops" <<'OPS'
put b'/outbox/plain-report.xml'
put b'/outbox/caf\xc3\xa9-\xc3\xa6\xc3\xb8\xc3\xa5.txt'
put b'/outbox/look\xef\xbc\x8fslash.txt'
put b'/outbox/\xe2\x80\xa5'
put b'/outbox/ lead and trail '
put b'/outbox/ctl\x01.txt'
put b'/outbox/esc\x1b[2J.txt'
put b'/outbox/new\nline.txt'
put b'/outbox/c1\xc2\x85.txt'
put b'/outbox/bad\xff\xfe.txt'
put b'/outbox/overlong\xc0\xaf.txt'
put b'/outbox/surrogate\xed\xa0\x80.txt'
put b'/outbox/back\\slash.txt'
put b'/outbox/invoice\xe2\x80\xaefdp.exe'
put b'/outbox/LONGNAME.txt'
put b'/outbox/.'
put b'/outbox/..'
put b'/outbox/../escape.txt'
put b'/outbox/../../../..WORK/drop/escape.txt'
put b'/outbox/sub/deeper.txt'
put b'/etc/escape.txt'
put b'//outbox///double-slash.txt'
put b'/outbox/trailing-slash.txt/'
put b'/outbox/nul\x00hidden.txt'
stat b'/outbox/../../../../etc/passwd'
listdir b'/outbox/..'
OPS
# A directory the user cannot write, reachable without a chroot.
mkdir -p "$work/drop"; chmod 755 "$work/drop"
long=$(printf 'x%.0s' $(seq 1 296))
sed -i "s|LONGNAME|$long|; s|WORK|$work|" "$work/ops"
rel_probe "$work/ops" > "$work/out" 2>&1

ok_as() { # N NAME-SHOWN
  r=$(rel_result "$1" "$work/out")
  case $r in OK*) tap_ok "$2 is accepted ($mode)" ;; *) tap_not_ok "$2 is accepted: $r" ;; esac
}
refused() { # N WHAT REASON-IN-LOG
  r=$(rel_result "$1" "$work/out")
  case $r in
    ERR*) if [ -z "$3" ] || grep -q "$3" "$GW_DIR/log/altinn-broker.log"; then
            tap_ok "$2 is refused ($r)"
          else tap_not_ok "$2 is refused, but the log lacks \"$3\""; fi ;;
    *) tap_not_ok "$2 is refused: $r" ;;
  esac
}
ok_as 1 "a plain name"
ok_as 2 "UTF-8 letters (é æ ø å)"
ok_as 3 "a fullwidth solidus look-alike (a character, not a separator)"
ok_as 4 "a two-dot leader look-alike"
ok_as 5 "leading and trailing spaces"
refused 6 "a C0 control character" "ctl?.txt: file name contains a control character"
refused 7 "an escape sequence" "esc?\[2J.txt: file name contains a control character"
refused 8 "a newline" "new line.txt: file name contains a control character"
refused 9 "a C1 control character (NEL)" "file name contains a control character at offset 2"
refused 10 "invalid UTF-8" "file name is not valid UTF-8 (byte 0xff at offset 3)"
refused 11 "an overlong UTF-8 '/'" "file name is not valid UTF-8 (byte 0xc0 at offset 8)"
refused 12 "a UTF-16 surrogate" "file name is not valid UTF-8 (byte 0xed at offset 9)"
refused 13 "a backslash" "file name may not contain '\\\\'"
refused 14 "a right-to-left override" "invisible bidirectional control U+202E at offset 7"
refused 15 "a 300-byte name" ""
refused 16 "'.' (the mount itself)" ""
refused 17 "'..'" ""
refused 18 "'../escape.txt'" ""
refused 19 "'../../../..<a directory the user cannot write>/escape.txt'" ""
refused 20 "a subdirectory of a mount" "/outbox/sub/deeper.txt: no such"
refused 21 "a path outside every mount" ""
ok_as 22 "'//outbox///double-slash.txt' (normalised by ProFTPD)"
ok_as 23 "a trailing slash (dropped by ProFTPD)"
ok_as 24 "a NUL byte (mod_sftp ends the path there)"

expected=$(printf '%s\n' ' lead and trail ' 'caf\u00e9-\u00e6\u00f8\u00e5.txt' 'double-slash.txt' \
  'look\uff0fslash.txt' 'nul' 'plain-report.xml' 'trailing-slash.txt' '\u2025' |
  "$GW_PY" -c 'import sys; print("\n".join(sorted(l.rstrip("\n").encode().decode("unicode_escape") for l in sys.stdin)))')
tap_eq "the Broker recorded exactly the accepted names, byte for byte" "$expected" "$(rel_transfers)"
tap_eq "nothing was created outside the mounts" "" \
  "$(ls -A "$work/drop"; ls -A "$GW_DIR/home/$GW_USER"; ls -d /escape.txt 2>/dev/null)"
tap_eq "no spool file is left behind" "" "$(ls -A "$GW_DIR/spool")"
tap_check "no raw control character reached the gateway log" \
  sh -c "! LC_ALL=C grep -q '[[:cntrl:]]' '$GW_DIR/log/altinn-broker.log'"
tap_check "the module never saw a path with '..' in it" \
  sh -c "! grep -q '/\.\./\|/\.\.\$\|/\.\. ' '$GW_DIR/log/altinn-broker.log'"
if [ "${AB_CHROOT:-0}" = 1 ]; then
  r=$(rel_result 25 "$work/out")
  case $r in ERR*) tap_ok "'../../../../etc/passwd' does not reach the real /etc/passwd ($r)" ;;
    *) tap_not_ok "'../../../../etc/passwd' is outside the chroot: $r" ;; esac
  tap_eq "'/outbox/..' lists the (empty) chroot, not the real root" \
    "OK []" "$(rel_result 26 "$work/out")"
else
  r=$(rel_result 25 "$work/out")
  tap_eq "without a chroot '/outbox/../../../../etc/passwd' is ProFTPD's real /etc/passwd (use DefaultRoot)" \
    "OK size=$(stat -c %s /etc/passwd)" "${r%% mode=*}"
  r=$(rel_result 26 "$work/out")
  case $r in *"'etc'"*) tap_ok "'/outbox/..' is the real root directory, not the mount" ;;
    *) tap_not_ok "'/outbox/..' is the real root directory: $r" ;; esac
fi
if [ "$TAP_FAILED" -ne 0 ]; then
  tap_diag < "$work/out"; tail -n 40 "$GW_DIR/log/altinn-broker.log" | tap_diag
fi
tap_done
