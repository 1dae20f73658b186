#!/bin/sh
# The SFTP user never gains access to anything outside its mounts: not
# through symlinks, not by renaming into or out of a mount, not to a mount
# of another user. With AB_CHROOT=1 the session is chrooted (DefaultRoot ~).
#
# ProFTPD cannot rename across file systems, so a rename into a mount
# (allow_xdev_rename = FALSE) is copied through open/write/close: moving a
# local file into the outbox sends it, and the source is removed only once
# the Broker accepted it. Out of a mount nothing is copied: ProFTPD's copy
# takes a failed read for the end of the file, so a broken download would
# become a short file reported as moved; get, then rm, is the way out.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../integration/tap.sh"
. "$here/../integration/gateway-env.sh"
. "$here/rel-env.sh"

work=$(mktemp -d /tmp/ab-escape.XXXXXX)
chmod 755 "$work"
trap 'gw_stop; rm -rf "$work"' EXIT
{
  [ "${AB_CHROOT:-0}" = 1 ] && echo 'DefaultRoot ~'
  # A mount only another user sees.
  echo 'AltinnBrokerMount /secret client=gateway resource=demo-resource direction=inbox users=alice'
} > "$work/extra.conf"
gw_setup "$work/gw" "$work/extra.conf" >/dev/null
if ! gw_start; then tap_not_ok "gateway starts"; tap_done; exit 1; fi
if [ "${AB_CHROOT:-0}" = 1 ]; then home=; mode=chrooted; else home=$GW_DIR/home/$GW_USER; mode="not chrooted"; fi

head -c 300000 /dev/urandom > "$work/in1.bin"
in_md5=$(md5sum < "$work/in1.bin" | cut -d' ' -f1)
gw_partner send /outbox "$work/in1.bin" in1.bin >/dev/null 2>&1
x5000=$(head -c 5000 /dev/zero | tr '\0' x | md5sum | cut -d' ' -f1)

probe() { # NAME: runs $work/NAME.ops (HOME = the home as the user sees it)
  sed -i "s|HOME|$home|g" "$work/$1.ops"
  rel_probe "$work/$1.ops" > "$work/$1.out" 2>&1
}
expect() { # NAME N OK|ERR DESCRIPTION
  r=$(rel_result "$2" "$work/$1.out")
  case $r in "$3"*) tap_ok "$4 ($mode: $r)" ;; *) tap_not_ok "$4 ($mode): got '$r'" ;; esac
}

# --- into the outbox ------------------------------------------------------
cat > "$work/in.ops" <<'OPS'
put b'HOME/local.txt' 5000
rename b'HOME/local.txt' b'/outbox/moved-in.txt'
stat b'HOME/local.txt'
put b'HOME/keep.txt' 7000
OPS
probe in
expect in 2 OK "rename of a local file into the outbox succeeds"
expect in 3 ERR "and the local file is gone"
moved=$(gw_emu GET /_emulator/state | gw_json '[[t["size"], t["storedMd5"], t["status"]] for t in d["transfers"] if t["fileName"]=="moved-in.txt"]')
tap_eq "it became one Published transfer with the file's bytes" "[[5000, \"$x5000\", \"Published\"]]" "$moved"

# A refusal the gateway does not retry (a 5xx would be retried and succeed).
gw_emu POST /_emulator/faults '{"endpoint":"initialize","status":400,"count":5}' >/dev/null
cat > "$work/fail.ops" <<'OPS'
rename b'HOME/keep.txt' b'/outbox/keep.txt'
stat b'HOME/keep.txt'
OPS
probe fail
gw_emu POST /_emulator/faults '{"clear":true}' >/dev/null
expect fail 1 ERR "a rename into the outbox that the Broker refuses fails"
expect fail 2 "OK size=7000" "and the local file is still there, whole"
tap_eq "and nothing named keep.txt was published" 0 \
  "$(gw_emu GET /_emulator/state | gw_json 'len([t for t in d["transfers"] if t["fileName"]=="keep.txt" and t["status"]=="Published"])')"

# --- out of the mounts, across mounts, links ------------------------------
cat > "$work/out.ops" <<'OPS'
put b'/outbox/a.txt' 10
rename b'/outbox/a.txt' b'HOME/a.txt'
rename b'/outbox/a.txt' b'/outbox/b.txt'
rename b'/inbox/in1.bin' b'HOME/in1.bin'
posix_rename b'/inbox/in1.bin' b'HOME/in1b.bin'
rename b'/inbox/in1.bin' b'/outbox/forwarded.bin'
stat b'HOME/in1.bin'
symlink b'/etc/passwd' b'/outbox/link'
symlink b'/outbox' b'/inbox/link'
readlink b'/outbox/a.txt'
mkdir b'/outbox/sub'
rmdir b'/inbox'
remove b'/outbox'
symlink b'/secret' b'HOME/to-secret'
listdir b'HOME/to-secret'
listdir b'/secret'
put b'/secret/x.txt'
put b'HOME/to-secret/x.txt'
symlink b'/outbox' b'HOME/to-outbox'
put b'HOME/to-outbox/via-link.txt' 3
symlink b'/etc' b'HOME/etc-link'
stat b'HOME/etc-link/passwd'
get b'/inbox/in1.bin'
OPS
probe out
expect out 1 OK "a plain upload works"
expect out 2 ERR "renaming an outbox file out of the outbox is refused"
expect out 3 ERR "renaming within the outbox is refused"
expect out 4 ERR "renaming an inbox file out of the inbox is refused"
expect out 5 ERR "so is posix-rename"
expect out 6 ERR "moving an inbox file into the outbox (forwarding) is refused"
expect out 7 ERR "and no copy of it appeared"
tap_check "the log says why and what to do instead" \
  grep -q "moving or copying a file out of an Altinn Broker mount is not supported; download it (get), then remove it (rm) to confirm" "$GW_DIR/log/altinn-broker.log"
expect out 8 ERR "a symlink inside a mount cannot be made"
expect out 9 ERR "nor one from a mount to another"
expect out 10 ERR "nothing in a mount is a symlink"
expect out 11 ERR "mkdir in a mount is refused"
expect out 12 ERR "rmdir of a mount is refused"
expect out 13 ERR "remove of a mount is refused"
expect out 15 ERR "a symlink to another user's mount leads nowhere"
expect out 16 ERR "that mount is not there for this user"
expect out 17 ERR "nor writable"
expect out 18 ERR "nor through the symlink"
expect out 20 OK "a symlink to the user's own mount works like the mount"
if [ "${AB_CHROOT:-0}" = 1 ]; then
  expect out 22 ERR "a symlink to /etc stays inside the chroot"
else
  expect out 22 OK "without a chroot a symlink to /etc is ProFTPD's real /etc (use DefaultRoot)"
fi
expect out 23 "OK 300000 $in_md5" "the inbox file can still be downloaded whole"
st=$(gw_emu GET /_emulator/state)
tap_eq "it was never confirmed by the refused moves" '["DownloadStarted"]' \
  "$(echo "$st" | gw_json '[r["status"] for t in d["transfers"] if t["fileName"]=="in1.bin" for r in t["recipients"]]')"
tap_eq "the Broker published exactly the uploads, nothing moved or forwarded" \
  "$(printf '%s\n' a.txt in1.bin moved-in.txt via-link.txt)" "$(rel_published)"
tap_eq "nothing but the kept file and the links reached the home directory" \
  "etc-link keep.txt to-outbox to-secret" \
  "$(ls -A "$GW_DIR/home/$GW_USER" | tr '\n' ' ' | sed 's/ $//')"
tap_eq "no spool file is left behind" "" "$(ls -A "$GW_DIR/spool")"

if [ "$TAP_FAILED" -ne 0 ]; then
  cat "$work"/*.out | tap_diag; grep -v 'debug: stat' "$GW_DIR/log/altinn-broker.log" | tail -n 30 | tap_diag
fi
tap_done
