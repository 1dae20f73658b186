/* ab_journal.h - the upload journal: every file an outbox sent, kept
 * beyond the session, for receipts and duplicate detection.
 *
 * A small interface over the gateway's shared state (ab_journal_shared.c:
 * the agent's journal_add/journal_list, ab_agent.h), so the outbox does not
 * depend on how or where records are kept (embedded store or Redis).
 * Entries are keyed by fileTransferId; a put with a known id replaces the
 * entry. The shared journal is per organisation; a scope (one outbox)
 * picks that outbox's entries out of it.
 */
#ifndef AB_JOURNAL_H
#define AB_JOURNAL_H

#include <stddef.h>
#include <time.h>

#include "ab_agent.h"
#include "ab_broker.h"
#include "ab_error.h"

/* How far back receipts are listed and names and duplicates are looked
 * up: the Broker's default time to live of a transfer. */
#define AB_JOURNAL_RETENTION_S (30 * 24 * 3600)
/* At most this many of an organisation's newest uploads are looked at. */
#define AB_JOURNAL_LIST_MAX 10000

typedef struct ab_journal ab_journal;

typedef struct ab_journal_entry {
  char id[AB_ID_LEN];            /* fileTransferId */
  char name[256];                /* file name as sent */
  char dir[16];                  /* recipient directory, "" = the mount itself */
  char user[64];                 /* SFTP user who sent it */
  long long size;
  char md5[33];
  char recipients[1024];         /* "0192:<org>,..." as sent, sorted */
  char reference[512];           /* sendersFileTransferReference */
  char duplicate_of[AB_ID_LEN];  /* sent again on purpose: the earlier transfer */
  time_t sent;
  char status[32];               /* fileTransferStatus when last seen, "" unknown */
  char status_text[256];
  char recipient_status[1024];   /* "0192:<org>=<status>,..." when last seen */
  time_t checked;                /* when the status was last read, 0 never */
} ab_journal_entry;

/* A journal over the session's shared state (which must outlive it). */
ab_journal *ab_journal_open(ab_shared *shared, ab_error *err);
void ab_journal_close(ab_journal *j);

/* The scope of an outbox: "<org>.<16 hex>" from (org, resource, mount
 * path). Entries are put and listed per scope. */
void ab_journal_scope(const char *org, const char *resource, const char *mount_path,
                      char out[64]);

/* Adds e, or replaces the entry with e's id. mount_path is recorded for
 * people reading the journal. A new upload (is_new) is also indexed by its
 * bytes and recipients and by its name, for the two find functions; a
 * status update is not, so the indexes keep pointing at the newest upload. */
int ab_journal_put(ab_journal *j, const char *scope, const char *mount_path,
                   const ab_journal_entry *e, int is_new, ab_error *err);

/* The newest upload of scope with these bytes (MD5 and size) to these
 * recipients: 1 and *out, 0 when there is none, -1 with err. */
int ab_journal_find_duplicate(ab_journal *j, const char *scope, const char *md5,
                              long long size, const char *recipients,
                              ab_journal_entry *out, ab_error *err);

/* The newest upload of scope named (dir, name): as above. */
int ab_journal_find_name(ab_journal *j, const char *scope, const char *dir,
                         const char *name, ab_journal_entry *out, ab_error *err);

/* The entries of scope sent at or after `since`, newest first; *out is
 * malloc'ed (free with free()), NULL when there are none. */
int ab_journal_list(ab_journal *j, const char *scope, time_t since,
                    ab_journal_entry **out, size_t *n, ab_error *err);

#endif
