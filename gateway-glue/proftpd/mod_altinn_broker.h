/* mod_altinn_broker.h - shared between the module's two files:
 * mod_altinn_broker.c (directives, events, command hooks) and
 * fsio.c (the FSIO handlers that call the core through ab_vfs_methods). */
#ifndef MOD_ALTINN_BROKER_H
#define MOD_ALTINN_BROKER_H

#include "conf.h"
#include "privs.h"

#include "ab_vfs.h"

#define MOD_ALTINN_BROKER_VERSION "mod_altinn_broker/0.1"

extern module altinn_broker_module;

/* The session's core instance; NULL when no mount applies. */
extern ab_vfs *abp_vfs;

/* Logs one line to AltinnBrokerLog (or the system log when unset). */
void abp_log(int level, const char *fmt, ...)
#ifdef __GNUC__
  __attribute__((format(printf, 2, 3)))
#endif
  ;

/* "file:line" of the directive being parsed (config_source.c). */
const char *abp_config_source(pool *p, const char *directive);

/* Registers the FSIO handlers for every mount the session sees (after
 * login and chroot). */
int abp_fsio_register(pool *p);

/* For FTP/FTPS sessions (ftp.c): true when mod_xfer is closing an upload
 * whose transfer failed or was aborted (bytes_written: what reached the
 * handle); always false for SFTP. */
int abp_ftp_upload_failed(long long bytes_written);

/* For FTP/FTPS sessions: puts the core's message in front of mod_xfer's
 * reply to a failed transfer. No-op for SFTP. */
void abp_ftp_reply_error(const char *message);

/* Session notes for ExtendedLog (notes.c): the core's report of a
 * transfer becomes altinn-broker.* notes; cleared before each command. */
void abp_notes_report(void *ctx, const ab_report *r);
void abp_notes_clear(void);

/* Discards the open upload of `path` now (the SFTP client went away
 * without CLOSE): nothing is sent; the close that follows only frees. */
void abp_fsio_abandon(const char *path);

#endif
