/* ab_outbox_receipts.c - the outbox's read-only "sent" directory: one
 * receipt per upload in the journal (ab_receipts.h for names and content).
 *
 * Freshness without breaking the Broker's limits: a receipt's status is
 * read from the transfer's overview (120 calls/min per organisation) only
 * when the receipt itself is opened, at most once per AB_RECEIPT_REFRESH_S
 * per transfer, never after the status became final, and at most
 * RECEIPT_BUDGET times a minute per session. Listing and stat answer from
 * the journal without calling the Broker.
 */
#include "ab_outbox_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_receipts.h"

/* Overview calls one session may make for receipts per minute: well
 * inside the 120/min the whole organisation shares. */
#define RECEIPT_BUDGET 30
/* How long a journal snapshot serves stat/readdir (a listing stats every
 * entry; one journal read per listing is enough). */
#define SNAPSHOT_S 2

void ab_receipts_invalidate(ab_mount *m) {
  if (m->outbox != NULL) {
    m->outbox->receipts_at = 0;
  }
}

static int snapshot(ab_vfs *vfs, ab_mount *m, ab_error *err) {
  ab_outbox_state *o = ab_outbox_state_of(m);
  if (o == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  time_t now = time(NULL);
  if (o->receipts_at != 0 && now - o->receipts_at < SNAPSHOT_S) {
    return 0;
  }
  free(o->receipts);
  o->receipts = NULL;
  o->n_receipts = 0;
  o->receipts_at = 0;
  if (ab_journal_list(vfs->journal, o->scope, now - AB_JOURNAL_RETENTION_S, &o->receipts,
                      &o->n_receipts, err) < 0) {
    return ab_error_prefix(err, "%s/sent", m->cfg->path);
  }
  o->receipts_at = now;
  return 0;
}

static long find(ab_vfs *vfs, ab_mount *m, const char *name, ab_error *err) {
  if (snapshot(vfs, m, err) < 0) {
    return -1;
  }
  long i = ab_receipt_find(m->outbox->receipts, m->outbox->n_receipts, name);
  if (i < 0) {
    ab_error_set(err, ENOENT, "%s/sent/%s: no such receipt", m->cfg->path, name);
  }
  return i;
}

int ab_receipts_stat(ab_vfs *vfs, ab_mount *m, const char *name, ab_stat *st, ab_error *err) {
  long i = find(vfs, m, name, err);
  if (i < 0) {
    return -1;
  }
  const ab_journal_entry *e = &m->outbox->receipts[i];
  char *text = ab_receipt_render(e, m->cfg->path);
  if (text == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  memset(st, 0, sizeof(*st));
  st->mode = 0444;
  st->size = (long long) strlen(text);
  st->mtime = e->checked > e->sent ? e->checked : e->sent;
  free(text);
  return 0;
}

/* Reads the transfer's status from the Broker when that is due and the
 * session's budget allows; a failure only leaves the receipt as it was. */
static void refresh(ab_vfs *vfs, ab_mount *m, ab_journal_entry *e) {
  ab_outbox_state *o = m->outbox;
  time_t now = time(NULL);
  if (!ab_receipt_stale(e, now)) {
    return;
  }
  if (now / 60 != o->budget_minute) {
    o->budget_minute = now / 60;
    o->budget_used = 0;
  }
  if (o->budget_used >= RECEIPT_BUDGET) {
    ab_vfs_logf(vfs, AB_LOG_INFO, "receipt of %s not refreshed: %d status reads this minute "
                "already", e->name, RECEIPT_BUDGET);
    return;
  }
  o->budget_used++;
  ab_transfer t;
  ab_error err;
  if (ab_broker_overview(&m->client->broker, e->id, &t, &err) < 0) {
    ab_vfs_logf(vfs, AB_LOG_ERROR, "receipt of %s: cannot read the status of %s: %s",
                e->name, e->id, err.message);
    return;
  }
  int changed = strcmp(e->status, t.status) != 0;
  ab_receipt_apply(e, &t, now);
  ab_transfer_clear(&t);
  if (changed) {
    ab_vfs_logf(vfs, AB_LOG_NOTICE, "transfer %s (%s) is now %s", e->id, e->name, e->status);
  }
  if (ab_journal_put(vfs->journal, o->scope, m->cfg->path, e, 0, &err) < 0) {
    ab_vfs_logf(vfs, AB_LOG_ERROR, "receipt of %s: %s", e->name, err.message);
  }
}

int ab_receipts_open(ab_vfs *vfs, ab_mount *m, const char *name, ab_file **out, ab_error *err) {
  long i = find(vfs, m, name, err);
  if (i < 0) {
    return -1;
  }
  ab_journal_entry *e = &m->outbox->receipts[i];
  refresh(vfs, m, e);
  char *text = ab_receipt_render(e, m->cfg->path);
  ab_file *f = calloc(1, sizeof(*f));
  if (text == NULL || f == NULL) {
    free(text);
    free(f);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  /* The text goes into a private file: reads at any offset and fstat's
   * size agree with each other for as long as the handle is open. */
  f->fd = ab_spool_create(vfs, err);
  size_t len = strlen(text);
  if (f->fd >= 0 && pwrite(f->fd, text, len, 0) != (ssize_t) len) {
    ab_error_set(err, EIO, "cannot write the receipt to the spool: %s", strerror(errno));
    close(f->fd);
    f->fd = -1;
  }
  free(text);
  if (f->fd < 0) {
    free(f);
    return -1;
  }
  f->vfs = vfs;
  f->mount = m;
  f->size = (long long) len;
  snprintf(f->name, sizeof(f->name), "%s", name);
  *out = f;
  return 0;
}

int ab_receipts_list(ab_vfs *vfs, ab_mount *m, int (*add)(void *ctx, const char *name),
                     void *ctx, ab_error *err) {
  if (snapshot(vfs, m, err) < 0) {
    return -1;
  }
  const ab_outbox_state *o = m->outbox;
  for (size_t i = 0; i < o->n_receipts; i++) {
    char name[300];
    ab_receipt_name(o->receipts, o->n_receipts, i, name, sizeof(name));
    if (add(ctx, name) < 0) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  return 0;
}
