# multi-org-env.sh - sourced after gateway-env.sh: turns the gateway built by
# gw_setup into one that serves two organisations, the way a vendor hosting
# for several municipalities runs it:
#
#   SFTP user alice (uid 2001, group orga) acts for org 999888777 with the
#     "gateway" Maskinporten client; her mounts are bound by user name;
#   SFTP user bob (uid 2002, group orgb) acts for org 312345678 with the
#     "partner" client; his mounts are bound by group;
#   both see /outbox (sending to the other org) and /inbox.
#
# Usage: gw_setup DIR [EXTRA]; mo_setup; gw_start; mo_sftp alice BATCH ...
MO_ALICE_UID=2001; MO_BOB_UID=2002

mo_setup() {
  # Replace the single-organisation mounts with one set per organisation.
  sed -i '/^  AltinnBrokerMount /d' "$GW_DIR/proftpd.conf"
  cat > "$GW_DIR/orgs.conf" <<CONF
# One file per gateway: both organisations' clients and mounts.
AltinnBrokerClient partner client-id=22222222-2222-4222-8222-222222222222 org=$GW_PARTNER_ORG \\
    key=$GW_DIR/emu/keys/partner.key kid=partner-key-1
AltinnBrokerMount /outbox client=gateway resource=demo-resource direction=outbox \\
    recipients=0192:$GW_PARTNER_ORG users=alice
AltinnBrokerMount /inbox  client=gateway resource=demo-resource direction=inbox users=alice
AltinnBrokerMount /outbox client=partner resource=demo-resource direction=outbox \\
    recipients=0192:$GW_ORG groups=orgb
AltinnBrokerMount /inbox  client=partner resource=demo-resource direction=inbox groups=orgb
CONF
  mkdir -p "$GW_DIR/conf.d"
  mv "$GW_DIR/orgs.conf" "$GW_DIR/conf.d/orgs.conf"
  echo "Include $GW_DIR/conf.d/" >> "$GW_DIR/proftpd.conf"
  for u in alice bob; do
    uid=$MO_ALICE_UID; [ $u = bob ] && uid=$MO_BOB_UID
    mkdir -p "$GW_DIR/home/$u"
    echo "$u-pw" | ftpasswd --passwd --file="$GW_DIR/ftpd.passwd" --name=$u \
      --uid=$uid --gid=$uid --home="$GW_DIR/home/$u" --shell=/bin/false --stdin >/dev/null 2>&1
    ssh-keygen -e -f "$GW_DIR/client/id_ed25519.pub" > "$GW_DIR/hostkeys/$u.rfc4716"
    chown "$uid:$uid" "$GW_DIR/home/$u" 2>/dev/null || true
    chmod 700 "$GW_DIR/home/$u"
  done
  printf 'ftpgroup:x:%s:\norga:x:%s:alice\norgb:x:%s:bob\n' "$GW_GID" $MO_ALICE_UID $MO_BOB_UID > "$GW_DIR/ftpd.group"
  chmod 440 "$GW_DIR/ftpd.passwd" "$GW_DIR/ftpd.group"
}

# mo_sftp USER BATCHFILE: OpenSSH sftp in batch mode as USER.
mo_sftp() {
  # shellcheck disable=SC2086
  sftp $GW_SSH_OPTS -b "$2" "$1@127.0.0.1"
}
