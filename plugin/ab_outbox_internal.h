/* ab_outbox_internal.h - what the outbox's files share: the session's
 * outbox state and the steps of an upload. Not part of the gateway seam.
 *
 *   ab_outbox.c          paths, open/write/close/rename/unlink/list
 *   ab_outbox_commit.c   a complete file becomes a transfer (checks, send, journal)
 *   ab_outbox_stream.c   pipeline=on: a file is sent while it is written
 *   ab_outbox_receipts.c the read-only "sent" directory
 */
#ifndef AB_OUTBOX_INTERNAL_H
#define AB_OUTBOX_INTERNAL_H

#include "ab_addressing.h"
#include "ab_broker.h"
#include "ab_journal.h"
#include "ab_tus.h"
#include "ab_vfs_internal.h"

/* A file closed under a temporary name: spooled, waiting for the rename
 * that names it (or for its removal). */
typedef struct ob_parked {
  char dir[16];
  char name[256];
  ab_spool *spool;
  time_t mtime;
} ob_parked;

/* A sidecar waiting for the file it describes. */
typedef struct ob_sidecar {
  char dir[16];
  char base[256];        /* the file it belongs to */
  long long size;
  time_t mtime;
  ab_sidecar sc;
} ob_sidecar;

/* A file this session sent, so stat/setstat right after CLOSE (reput,
 * WinSCP, `put -p`) see what the client just wrote. */
typedef struct ob_sent {
  char dir[16];
  char name[256];
  char id[AB_ID_LEN];
  long long size;
  time_t mtime;
} ob_sent;

typedef struct ab_outbox_state {
  char scope[64];                /* journal scope of this outbox */
  ab_file **open;                /* uploads being written */
  size_t n_open;
  ob_parked *parked;
  size_t n_parked;
  ob_sidecar *sidecars;
  size_t n_sidecars;
  ob_sent *sent;
  size_t n_sent;
  ab_journal_entry *receipts;    /* journal snapshot for the "sent" directory */
  size_t n_receipts;
  time_t receipts_at;            /* 0 = none */
  time_t budget_minute;          /* overview calls made in this minute */
  int budget_used;
} ab_outbox_state;

/* The path below an outbox, parsed. */
enum ob_kind { OB_ROOT, OB_RECEIPT_DIR, OB_RECEIPT, OB_RECIPIENT_DIR, OB_FILE };
typedef struct ob_path {
  enum ob_kind kind;
  char dir[16];          /* recipient directory name ("" = the mount itself) */
  char party[16];        /* "0192:<org>" of dir, "" for the mount itself */
  char name[256];        /* file (or receipt) name; "" for directories */
} ob_path;

/* The session's outbox state of m (created on first use), or NULL on OOM. */
ab_outbox_state *ab_outbox_state_of(ab_mount *m);

/* "/outbox" or "/outbox/<dir>", then "/NAME" when name is not empty. */
void ab_outbox_display(const ab_mount *m, const char *dir, const char *name, char *out,
                       size_t outsz);

/* Sends the complete file in spool as `name` from directory dir (party
 * "0192:<org>" of a recipient directory, "" for the mount's recipients).
 * 0 when the Broker accepted it; -1 with err (message without the path)
 * otherwise. id receives the transfer's id once one was initialized ("" if
 * none). The spool stays the caller's. */
int ab_outbox_commit(ab_vfs *vfs, ab_mount *m, const char *dir, const char *party,
                     const char *name, ab_spool *spool, char id[AB_ID_LEN], ab_error *err);

/* What a transfer of one file is initialized with: recipients sorted,
 * the reference expanded, the sidecar's properties, no checksum yet. The
 * journal entry is filled as far as it is known. init points into the
 * struct itself: keep it in place. */
typedef struct ob_transfer {
  char party[16];
  const char **sorted;
  char sender[16];
  ab_journal_entry e;
  ab_transfer_init init;
} ob_transfer;

int ob_transfer_prepare(ab_vfs *vfs, ab_mount *m, const char *dir, const char *party,
                        const char *name, ob_transfer *t, ab_error *err);
void ob_transfer_clear(ob_transfer *t);

/* CLOSE of a file whose bytes went out while it was written (transfer id,
 * initialized from t without a checksum, fed by tus): the same checks as
 * ab_outbox_commit, then the rest is sent and concatenated. On -1 the
 * caller abandons tus. */
int ab_outbox_commit_streamed(ab_vfs *vfs, ab_mount *m, ob_transfer *t, ab_tus_stream *tus,
                              const char id[AB_ID_LEN], ab_spool *spool, ab_error *err);

/* Pipelined sending of one open upload (ab_outbox_stream.c). */
typedef struct ob_stream ob_stream;
/* A stream for f when pipeline=on and the name is sent at CLOSE; NULL
 * otherwise (or when out of memory: the file is then sent at CLOSE). */
ob_stream *ob_stream_open(ab_file *f);
/* After each successful WRITE: starts the transfer once tus-above bytes are
 * there, and sends what is ready. Never fails the WRITE: a problem shows
 * at CLOSE. */
void ob_stream_wrote(ab_file *f, off_t off, size_t len);
/* CLOSE of a complete file named as it was opened. Returns 1 when the
 * stream did not send the file (never started, or a write changed bytes
 * already sent): the caller sends it the ordinary way; otherwise 0 or -1
 * with err, as ab_outbox_commit. Frees the stream; id receives the
 * transfer's id. */
int ob_stream_close(ab_file *f, char id[AB_ID_LEN], ab_error *err);
/* The upload ends without being sent (client gone, failed write, a rename). */
void ob_stream_abandon(ab_file *f);

/* Whether this outbox already sent (dir, name) within the journal's
 * retention (for resend=refuse): 1 with the newest such upload in found,
 * 0 when not, -1 with err when the journal cannot be read. */
int ab_outbox_sent_before(ab_vfs *vfs, ab_mount *m, const char *dir, const char *name,
                          ab_journal_entry *found, ab_error *err);

/* The "sent" directory (ab_outbox_receipts.c). */
int ab_receipts_stat(ab_vfs *vfs, ab_mount *m, const char *name, ab_stat *st, ab_error *err);
int ab_receipts_open(ab_vfs *vfs, ab_mount *m, const char *name, ab_file **out, ab_error *err);
int ab_receipts_list(ab_vfs *vfs, ab_mount *m, int (*add)(void *ctx, const char *name),
                     void *ctx, ab_error *err);
/* Forgets the snapshot, so the next listing reads the journal again. */
void ab_receipts_invalidate(ab_mount *m);

#endif
