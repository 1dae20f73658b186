/* notes.c - every transfer in ProFTPD's own logs.
 *
 * The core reports what became of each upload, download and confirm
 * (ab_report). Here that report becomes session notes, which ProFTPD's
 * ExtendedLog prints with %{note:NAME} in the line it writes for the very
 * command (STOR, RETR, DELE; over SFTP and FTP alike), e.g.
 *
 *   LogFormat altinn "%t %u %m %f %{note:altinn-broker.outcome} %{note:altinn-broker.file-transfer-id} ..."
 *   ExtendedLog /var/log/proftpd/altinn-broker-transfers.log READ,WRITE altinn
 *
 * Notes: altinn-broker.op, .outcome, .file-transfer-id, .org, .resource,
 * .bytes, .error-code (Broker/Maskinporten code, http_<status> or errno
 * name; "-" when none). They are cleared before every command, so a line
 * never shows an earlier transfer's values. */
#include "mod_altinn_broker.h"

static const char *const names[] = {
  "altinn-broker.op", "altinn-broker.outcome", "altinn-broker.file-transfer-id",
  "altinn-broker.org", "altinn-broker.resource", "altinn-broker.bytes",
  "altinn-broker.error-code",
};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

void abp_notes_clear(void) {
  for (size_t i = 0; i < N_NAMES; i++) {
    (void) pr_table_remove(session.notes, names[i], NULL);
  }
}

void abp_notes_report(void *ctx, const ab_report *r) {
  (void) ctx;
  char bytes[32];
  snprintf(bytes, sizeof(bytes), "%lld", r->bytes);
  const char *values[N_NAMES] = {
    r->op, r->outcome, r->file_transfer_id[0] ? r->file_transfer_id : "-", r->org,
    r->resource, bytes, r->cause[0] ? r->cause : "-",
  };
  abp_notes_clear();
  for (size_t i = 0; i < N_NAMES; i++) {
    /* Copied into the table's pool: the report's strings die with it. */
    (void) pr_table_add_dup(session.notes, names[i], values[i], 0);
  }
}
