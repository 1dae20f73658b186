/* ab_vfs.h - the one seam between the core and a gateway.
 *
 * In the spirit of SQLite's sqlite3_vfs / sqlite3_io_methods: a gateway
 * (ProFTPD today; another SFTP server or FUSE tomorrow) creates one ab_vfs
 * per user session and calls through ab_vfs_methods. The core knows nothing
 * about the gateway.
 *
 * Rules a gateway must follow:
 *  1. Create the session with ab_vfs_new() before authentication and any
 *     chroot (it opens the spool directory then); call ab_vfs_login() once
 *     the user is known. Paths passed later are as the SFTP user sees them
 *     ("/outbox/a.txt"), absolute.
 *  2. Every method returns 0 (or a count) on success, -1 and a filled
 *     ab_error on failure. err->err_no is what to return to the client;
 *     err->message is what to log (never contains secrets).
 *  3. Paths outside every mount get ENOENT: the gateway may route paths it
 *     does not own to the core (ProFTPD does, for "." and "..").
 *  4. open() hands back a real file descriptor (ab_file_fd) that the gateway
 *     may use for fd-level housekeeping (fcntl, fchmod); data always goes
 *     through pread/pwrite.
 *  5. close() with aborted=1 discards an upload (client vanished); with
 *     aborted=0 it commits it, and a failure here must reach the client as
 *     a failed CLOSE.
 *  6. A session is used by one thread at a time.
 */
#ifndef AB_VFS_H
#define AB_VFS_H

#include <stddef.h>
#include <sys/types.h>

#include "ab_log.h"
#include <time.h>

#include "ab_audience.h"
#include "ab_config.h"
#include "ab_error.h"

typedef struct ab_vfs ab_vfs;
typedef struct ab_file ab_file;
typedef struct ab_dir ab_dir;

typedef struct ab_stat {
  int is_dir;
  mode_t mode;       /* permission bits only (0755, 0444, 0200...) */
  long long size;
  time_t mtime;
} ab_stat;

/* The log sink the gateway provides (ab_log_fn, AB_LOG_*) is in ab_log.h. */

typedef struct ab_vfs_methods {
  int (*stat)(ab_vfs *vfs, const char *path, ab_stat *st, ab_error *err);
  int (*open)(ab_vfs *vfs, const char *path, int flags, ab_file **out, ab_error *err);
  ssize_t (*pread)(ab_file *f, void *buf, size_t len, off_t offset, ab_error *err);
  ssize_t (*pwrite)(ab_file *f, const void *buf, size_t len, off_t offset, ab_error *err);
  int (*fstat)(ab_file *f, ab_stat *st, ab_error *err);
  int (*close)(ab_file *f, int aborted, ab_error *err);
  int (*opendir)(ab_vfs *vfs, const char *path, ab_dir **out, ab_error *err);
  /* Next entry name, or NULL at the end. The name stays valid until the
   * next readdir/closedir on this handle. */
  const char *(*readdir)(ab_dir *d);
  void (*closedir)(ab_dir *d);
  int (*unlink)(ab_vfs *vfs, const char *path, ab_error *err);
  int (*rename)(ab_vfs *vfs, const char *from, const char *to, ab_error *err);
} ab_vfs_methods;

/* The core's implementation of the methods. */
const ab_vfs_methods *ab_vfs_methods_get(void);

/* Creates a session over cfg (finished, secrets loaded, outliving the
 * session): opens the spool directory, prepares HTTPS and connects to the
 * gateway's agent (ab_agent.h), which shares tokens, the rate budget and
 * the inbox state with every other session. Without an agent (none
 * running, or AltinnBrokerAgent off) the session works alone, with its own
 * tokens and state in memory, and logs that it does. log may be NULL. */
ab_vfs *ab_vfs_new(const ab_config *cfg, ab_log_fn log, void *log_ctx,
                   ab_error *err);

/* As ab_vfs_new, for the admin CLI: without an agent it uses the state
 * directory (and Redis) itself, so markers and the budget are shared with
 * later runs and with the gateway. */
ab_vfs *ab_vfs_new_admin(const ab_config *cfg, ab_log_fn log, void *log_ctx,
                         ab_error *err);

/* 1 when the session's tokens come from the agent: the gateway may then
 * wipe the private keys from the session's memory (ab_config_wipe_secrets). */
int ab_vfs_uses_agent(const ab_vfs *vfs);

/* Binds the session to a user and the user's groups: from now on it sees
 * the mounts bound to them (ab_audience.h; who NULL: all mounts, for the
 * admin CLI), acting with each mount's Maskinporten client. Fails when the
 * user would see two mounts at one path: such a session must be refused. */
int ab_vfs_login(ab_vfs *vfs, const ab_principal *who, ab_error *err);
void ab_vfs_free(ab_vfs *vfs);

/* Number of mounts this session sees, and the i-th mount's path. */
size_t ab_vfs_mount_count(const ab_vfs *vfs);
const char *ab_vfs_mount_path(const ab_vfs *vfs, size_t i);

/* An administrator's operation, not for gateways: confirms the download of
 * the inbox file at path (which must have been read whole, in any
 * session), whatever the mount's confirm policy. */
int ab_vfs_confirm(ab_vfs *vfs, const char *path, ab_error *err);

/* The real file descriptor behind an open file (rule 4). */
int ab_file_fd(const ab_file *f);

/* What became of one transfer: reported once per upload (at close),
 * download (at close) and confirm (at unlink), after the core logged it and
 * counted it in the metrics, so the gateway can put it in its own transfer
 * log (ProFTPD: session notes for ExtendedLog). Strings are valid during
 * the call only. Never contains a secret. */
typedef struct ab_report {
  const char *op;               /* "upload", "download" or "confirm" */
  const char *outcome;          /* "ok", "failed", "aborted" or "partial" (download not read whole) */
  const char *mount;            /* "/outbox" */
  const char *name;             /* file name below the mount */
  const char *file_transfer_id; /* "" when the Broker never assigned one */
  const char *org;              /* the organisation acting (9 digits) */
  const char *resource;
  long long bytes;              /* uploaded, or read by the client */
  const char *cause;            /* failed: Broker/Maskinporten code, http_<status> or errno name; else "" */
  const char *reason;           /* failed: the one-line message; else "" */
} ab_report;

typedef void (*ab_report_fn)(void *ctx, const ab_report *r);

/* Sets the callback that receives every ab_report (NULL: none). */
void ab_vfs_set_reporter(ab_vfs *vfs, ab_report_fn fn, void *ctx);

/* Sets a callback told how much of an upload's body went to the Broker so
 * far (ab_http_set_progress), e.g. for a progress bar. NULL: none. */
void ab_vfs_set_progress(ab_vfs *vfs, void (*fn)(void *ctx, long long sent, long long total),
                         void *ctx);

#endif
