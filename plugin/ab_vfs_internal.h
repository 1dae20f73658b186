/* ab_vfs_internal.h - session, mount and file state shared by ab_vfs.c,
 * ab_outbox.c and ab_inbox.c. Not part of the gateway seam. */
#ifndef AB_VFS_INTERNAL_H
#define AB_VFS_INTERNAL_H

#include "ab_auth.h"
#include "ab_broker.h"
#include "ab_http.h"
#include "ab_agent.h"
#include "ab_metrics.h"
#include "ab_journal.h"
#include "ab_spool.h"
#include "ab_ranges.h"
#include "ab_strmap.h"
#include "ab_vfs.h"

/* One Broker transfer as the inbox shows it (from the agent's listing,
 * ab_hub_feed.c: names are final there). */
typedef struct ab_inbox_entry {
  char id[AB_ID_LEN];
  const char *name;      /* in the flat view */
  const char *gname;     /* in its sender's directory (layout=by-sender) */
  const char *dir;       /* the sender's directory */
  long long size;
  time_t mtime;          /* publish time */
  int gone;              /* confirmed by this session since the copy was made */
} ab_inbox_entry;

/* A session's copy of an inbox listing, with indexes for lookups. */
typedef struct ab_inbox_view {
  char *text;            /* the agent's listing; the entries' names point into it */
  ab_inbox_entry *e;
  size_t n;
  ab_strmap *by_name;    /* flat name, or "<dir>/<gname>", -> index */
  ab_strmap *dirs;       /* sender directory -> index of its newest file */
  unsigned long long version; /* the agent's listing version (0 = none yet) */
  long long fetched_ms;  /* monotonic */
} ab_inbox_view;

/* What this session delivered of a transfer, over all its handles. */
typedef struct ab_read_cov {
  char id[AB_ID_LEN];
  ab_ranges ranges;
} ab_read_cov;

typedef struct ab_client_session {
  const ab_client_cfg *cfg;
  ab_auth *auth;           /* tokens come from the shared state (agent or own hub) */
  ab_shared_token_ctx token_ctx;
  ab_broker broker;        /* paced by the shared rate budget */
  struct ab_vfs *vfs;
  int pace_nowait;         /* 1: a refused budget fails at once (EAGAIN) instead of waiting */
} ab_client_session;

typedef struct ab_mount {
  const ab_mount_cfg *cfg;
  ab_client_session *client;
  /* inbox */
  ab_inbox_view inbox;
  /* outbox: this session's uploads, temporary names, sidecars, receipts
   * (ab_outbox.c; created on first use) */
  struct ab_outbox_state *outbox;
} ab_mount;

struct ab_vfs {
  const ab_config *cfg;
  char *user;
  ab_http *http;
  ab_client_session *clients;
  size_t n_clients;
  ab_mount *mounts;
  size_t n_mounts;
  int spool_fd;          /* directory fd of the spool, opened before chroot */
  ab_shared *shared;     /* the agent (connected before chroot), or a hub of our own */
  ab_journal *journal;   /* upload journal (receipts, duplicates), over shared */
  ab_log_fn log;
  void *log_ctx;
  ab_metrics *metrics;   /* this process's counts not yet handed to the agent */
  ab_report_fn report;
  void *report_ctx;
  ab_read_cov *covs;     /* inbox files partly or wholly read, per transfer */
  size_t n_covs;
};

struct ab_file {
  ab_vfs *vfs;
  ab_mount *mount;
  int fd;                /* spool file (upload), receipt text, or placeholder (download) */
  int writing;
  char name[256];
  long long size;        /* upload: highest byte written; download: Broker size */
  /* upload */
  ab_spool *spool;
  char dir[16];          /* recipient directory ("" = the mount itself) */
  int write_failed;      /* a WRITE failed: the CLOSE fails too, nothing is sent */
  ab_error write_err;
  struct ob_stream *stream; /* pipeline=on: sent while written (ab_outbox_stream.c) */
  /* download */
  char id[AB_ID_LEN];
  ab_download *dl;
  int downloaded;        /* a download was made (an empty file needs one too) */
  time_t mtime;          /* publish time (fstat) */
};

/* Logs, counts and hands to the gateway what became of one transfer
 * (ab_report.c). err: the failure, or NULL. */
void ab_vfs_report(ab_vfs *vfs, const char *op, const char *outcome, const ab_mount *m,
                   const char *name, const char *id, long long bytes, const ab_error *err);

/* Hands this process's metrics increments to the agent (or the session's
 * own hub) and starts counting afresh. */
void ab_vfs_flush_metrics(ab_vfs *vfs);

/* Logs a formatted line through the gateway's sink. */
void ab_vfs_logf(ab_vfs *vfs, int level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* The rate budget before each Broker call (an ab_broker_pace_fn; ctx is
 * the ab_client_session): waits while the budget is used up, up to about
 * a minute, or fails at once when the session's pace_nowait is set. */
int ab_vfs_pace(void *ctx, const char *endpoint, ab_error *err);

/* Creates an anonymous spool file (O_TMPFILE) in the spool directory. */
int ab_spool_create(ab_vfs *vfs, ab_error *err);

/* outbox (ab_outbox.c). `rest` is the path below the mount: "", "NAME",
 * "sent", "sent/NAME.json", "<org>" or "<org>/NAME". */
int ab_outbox_stat(ab_vfs *vfs, ab_mount *m, const char *rest, ab_stat *st, ab_error *err);
int ab_outbox_open(ab_vfs *vfs, ab_mount *m, const char *rest, int flags,
                   ab_file **out, ab_error *err);
ssize_t ab_outbox_pwrite(ab_file *f, const void *buf, size_t len, off_t off, ab_error *err);
ssize_t ab_outbox_pread(ab_file *f, void *buf, size_t len, off_t off, ab_error *err);
int ab_outbox_close(ab_file *f, int aborted, ab_error *err);
int ab_outbox_unlink(ab_vfs *vfs, ab_mount *m, const char *rest, ab_error *err);
int ab_outbox_rename(ab_vfs *vfs, ab_mount *m, const char *from, const char *to, ab_error *err);
/* Names in the directory `rest`, through add(ctx, name); 0, or -1 with err. */
int ab_outbox_list(ab_vfs *vfs, ab_mount *m, const char *rest,
                   int (*add)(void *ctx, const char *name), void *ctx, ab_error *err);
void ab_outbox_free(ab_mount *m);

/* inbox (ab_inbox.c). `rest` is the path below the mount: a name, or for
 * mounts with layout=by-sender "<sender dir>" or "<sender dir>/<name>". */
int ab_inbox_stat(ab_vfs *vfs, ab_mount *m, const char *rest, ab_stat *st, ab_error *err);
/* Calls add(ctx, name) for each entry of directory `rest` ("" = the mount);
 * add returns < 0 to stop (out of memory). */
int ab_inbox_list(ab_vfs *vfs, ab_mount *m, const char *rest,
                  int (*add)(void *ctx, const char *name), void *ctx, ab_error *err);
int ab_inbox_open(ab_vfs *vfs, ab_mount *m, const char *rest, int flags,
                  ab_file **out, ab_error *err);
ssize_t ab_inbox_pread(ab_file *f, void *buf, size_t len, off_t off, ab_error *err);
int ab_inbox_close(ab_file *f, ab_error *err);
int ab_inbox_unlink(ab_vfs *vfs, ab_mount *m, const char *rest, ab_error *err);
/* Confirms the download of `rest` for the admin CLI (any confirm policy;
 * the file must have been read whole). */
int ab_inbox_confirm(ab_vfs *vfs, ab_mount *m, const char *rest, ab_error *err);
/* Frees the session's inbox state (listing copies, what was read). */
void ab_inbox_free(ab_vfs *vfs);

#endif
