# ftp-env.sh - sourced after gateway-env.sh: an FTP/FTPS listener for the same
# gateway. ftp_extra_conf FILE PORT writes a <VirtualHost> serving FTP with
# explicit TLS (AUTH TLS, mod_tls from proftpd-mod-crypto) on PORT, using the
# emulator's test certificate; pass FILE to gw_setup as the extra config.
# The AltinnBroker* directives are server-wide, so FTP sessions get the very
# same mounts as SFTP sessions.
ftp_extra_conf() {
  cat > "$1" <<CONF
<IfModule mod_dso.c>
  ModulePath            /usr/lib/proftpd
  LoadModule            mod_tls.c
</IfModule>
<VirtualHost 127.0.0.1>
  Port                  $2
  PassivePorts          ${FTP_PASV_MIN:-49152} ${FTP_PASV_MAX:-65534}
  AuthOrder             mod_auth_file.c
  AuthUserFile          @GW_DIR@/ftpd.passwd
  AuthGroupFile         @GW_DIR@/ftpd.group
  RequireValidShell     off
  AllowOverwrite        on
  ${FTP_DEFAULT_ROOT:+DefaultRoot $FTP_DEFAULT_ROOT}
  TransferLog           @GW_DIR@/log/xferlog
  <IfModule mod_tls.c>
    TLSEngine           on
    TLSLog              @GW_DIR@/log/tls.log
    TLSProtocol         TLSv1.2 TLSv1.3
    TLSRSACertificateFile    @GW_DIR@/emu/server.pem
    TLSRSACertificateKeyFile @GW_DIR@/emu/server.key
    TLSRequired         off
    TLSOptions          NoSessionReuseRequired
  </IfModule>
</VirtualHost>
CONF
}

# ftp_fix_paths: gw_setup knows GW_DIR only once it runs; fill it in.
ftp_fix_paths() {
  sed -i "s|@GW_DIR@|$GW_DIR|g" "$GW_DIR/proftpd.conf"
}
