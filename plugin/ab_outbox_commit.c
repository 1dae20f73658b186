/* ab_outbox_commit.c - a complete file becomes one Broker transfer.
 *
 * In order, each failing with a message that names the cause and before
 * anything is sent: the file is whole (no gaps), within the outbox's
 * max-size and the Broker's 50 GB limit for virus-scanned transfers, not a
 * name the outbox refuses to send twice, not a duplicate the outbox refuses
 * (same MD5, size and recipients within the window). Then ab_send (safe
 * retries), and the journal records it for receipts and later duplicate
 * checks.
 */
#include "ab_outbox_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ab_send.h"

/* Virus-scanned transfers (all of ours) may be at most 50 GB (broker-api.md §9). */
#define AB_SCAN_CAP 50000000000LL

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Human form of a duration in seconds ("24h", "90m", "45s"). */
static void duration_text(long long s, char *out, size_t outsz) {
  if (s % 3600 == 0) snprintf(out, outsz, "%lldh", s / 3600);
  else if (s % 60 == 0) snprintf(out, outsz, "%lldm", s / 60);
  else snprintf(out, outsz, "%llds", s);
}

static void iso_time(time_t t, char out[32]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ab_outbox_sent_before(ab_vfs *vfs, ab_mount *m, const char *dir, const char *name,
                          ab_journal_entry *found, ab_error *err) {
  ab_outbox_state *o = ab_outbox_state_of(m);
  int hit = ab_journal_find_name(vfs->journal, o->scope, dir, name, found, err);
  if (hit == 1 && found->sent < time(NULL) - AB_JOURNAL_RETENTION_S) {
    hit = 0;
  }
  return hit;
}

/* The upload's own id for the %i placeholder. */
static void upload_id(char out[17]) {
  unsigned char r[8] = { 0 };
  if (getrandom(r, sizeof(r), 0) != (ssize_t) sizeof(r)) {
    /* Only a label in a reference; the time keeps it distinct enough. */
    time_t t = time(NULL);
    memcpy(r, &t, sizeof(t) < sizeof(r) ? sizeof(t) : sizeof(r));
  }
  for (size_t i = 0; i < sizeof(r); i++) {
    snprintf(out + 2 * i, 3, "%02x", r[i]);
  }
}

/* Duplicate and resend checks against the journal. Returns 0 to go on
 * (dup_of set when sending a duplicate on purpose), -1 with err to refuse. */
static int check_journal(ab_vfs *vfs, ab_mount *m, const char *dir, const char *name,
                         const char *md5, long long size, const char *recipients,
                         char dup_of[AB_ID_LEN], ab_error *err) {
  const ab_outbox_cfg *oc = &m->cfg->outbox;
  ab_outbox_state *o = ab_outbox_state_of(m);
  time_t now = time(NULL);
  dup_of[0] = '\0';
  ab_journal_entry e;
  ab_error jerr;
  char when[32];
  if (oc->resend == AB_RESEND_REFUSE) {
    /* Checked at OPEN already; again here, as another session may have
     * sent the name since. */
    int hit = ab_outbox_sent_before(vfs, m, dir, name, &e, &jerr);
    if (hit < 0) {
      return ab_error_set(err, jerr.err_no, "%s (needed for resend=refuse)", jerr.message);
    }
    if (hit == 1) {
      iso_time(e.sent, when);
      return ab_error_set(err, EEXIST, "already sent at %s as fileTransferId %s; this outbox "
                          "does not send a name twice (resend=refuse)", when, e.id);
    }
  }
  if (oc->duplicate_window_s == 0) {
    return 0;
  }
  int hit = ab_journal_find_duplicate(vfs->journal, o->scope, md5, size, recipients, &e, &jerr);
  if (hit < 0) {
    if (oc->duplicates == AB_DUPLICATES_REFUSE) {
      return ab_error_set(err, jerr.err_no, "%s (needed for duplicates=refuse)", jerr.message);
    }
    /* Sending anyway is the policy; say that this one went unchecked. */
    ab_vfs_logf(vfs, AB_LOG_ERROR, "duplicate check of %s/%s skipped: %s", m->cfg->path, name,
                jerr.message);
    return 0;
  }
  if (hit == 0 || e.sent < now - oc->duplicate_window_s) {
    return 0;
  }
  iso_time(e.sent, when);
  char window[32];
  duration_text(oc->duplicate_window_s, window, sizeof(window));
  if (oc->duplicates == AB_DUPLICATES_REFUSE) {
    return ab_error_set(err, EEXIST, "duplicate: the same %lld bytes (MD5 %s) went to %s at %s "
                        "as %s (fileTransferId %s); this outbox refuses duplicates within %s "
                        "(duplicates=refuse)", size, md5, recipients, when, e.name, e.id, window);
  }
  snprintf(dup_of, AB_ID_LEN, "%s", e.id);
  ab_vfs_logf(vfs, AB_LOG_NOTICE, "%s/%s%s%s has the same bytes and recipients as %s sent at %s "
              "(fileTransferId %s); sending it again (duplicates=send)", m->cfg->path, dir,
              dir[0] ? "/" : "", name, e.name, when, e.id);
  return 0;
}

static ob_sidecar *find_sidecar(ab_outbox_state *o, const char *dir, const char *name) {
  for (size_t i = 0; i < o->n_sidecars; i++) {
    if (strcmp(o->sidecars[i].dir, dir) == 0 && strcmp(o->sidecars[i].base, name) == 0) {
      return &o->sidecars[i];
    }
  }
  return NULL;
}

static void remember_sent(ab_vfs *vfs, ab_mount *m, const ab_journal_entry *e) {
  ab_outbox_state *o = ab_outbox_state_of(m);
  ob_sent *grown = realloc(o->sent, (o->n_sent + 1) * sizeof(*grown));
  if (grown != NULL) {
    o->sent = grown;
    ob_sent *s = &o->sent[o->n_sent++];
    snprintf(s->dir, sizeof(s->dir), "%s", e->dir);
    snprintf(s->name, sizeof(s->name), "%s", e->name);
    snprintf(s->id, sizeof(s->id), "%s", e->id);
    s->size = e->size;
    s->mtime = e->sent;
  }
  ab_error err;
  if (ab_journal_put(vfs->journal, o->scope, m->cfg->path, e, 1, &err) < 0) {
    ab_vfs_logf(vfs, AB_LOG_ERROR, "the receipt of %s (fileTransferId %s) could not be kept: %s",
                e->name, e->id, err.message);
  }
  ab_receipts_invalidate(m);
}

/* The MD5 of the whole file, and the size limits that apply to it. */
static int check_file(ab_mount *m, ab_spool *spool, char md5[33], ab_error *err) {
  const ab_outbox_cfg *oc = &m->cfg->outbox;
  long long size = ab_spool_size(spool);
  if (ab_spool_md5(spool, md5, err) < 0) {
    return -1;
  }
  if (oc->max_size > 0 && size > oc->max_size) {
    return ab_error_set(err, EFBIG, "size limit: %lld bytes is more than this outbox's limit of "
                        "%lld bytes (max-size); nothing was sent", size, oc->max_size);
  }
  if (size > AB_SCAN_CAP) {
    return ab_error_set(err, EFBIG, "size limit: %lld bytes is more than the Broker's 50 GB "
                        "limit for virus-scanned transfers; nothing was sent", size);
  }
  return 0;
}

int ob_transfer_prepare(ab_vfs *vfs, ab_mount *m, const char *dir, const char *party,
                        const char *name, ob_transfer *t, ab_error *err) {
  const ab_outbox_cfg *oc = &m->cfg->outbox;
  ab_outbox_state *o = ab_outbox_state_of(m);
  memset(t, 0, sizeof(*t));
  /* Recipients, sorted: the same set always reads the same in the journal. */
  const char *one[1] = { party };
  const char **rcpts = party[0] ? one : (const char **) m->cfg->recipients;
  size_t n_rcpts = party[0] ? 1 : m->cfg->n_recipients;
  snprintf(t->party, sizeof(t->party), "%s", party);
  t->sorted = malloc((n_rcpts ? n_rcpts : 1) * sizeof(char *));
  if (t->sorted == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  for (size_t i = 0; i < n_rcpts; i++) {
    t->sorted[i] = party[0] ? t->party : rcpts[i];
  }
  qsort(t->sorted, n_rcpts, sizeof(char *), cmp_str);
  ab_journal_entry *e = &t->e;
  for (size_t i = 0, off = 0; i < n_rcpts; i++) {
    int w = snprintf(e->recipients + off, sizeof(e->recipients) - off, "%s%s", i ? "," : "",
                     t->sorted[i]);
    if (w > 0 && (size_t) w < sizeof(e->recipients) - off) off += (size_t) w;
  }
  e->sent = time(NULL);
  ob_sidecar *sc = find_sidecar(o, dir, name);
  char id16[17];
  upload_id(id16);
  if (sc != NULL && sc->sc.reference != NULL) {
    snprintf(e->reference, sizeof(e->reference), "%s", sc->sc.reference);
  } else {
    ab_reference_expand(oc->reference, vfs->user, name, e->sent, id16, e->reference,
                        sizeof(e->reference));
  }
  snprintf(e->name, sizeof(e->name), "%s", name);
  snprintf(e->dir, sizeof(e->dir), "%s", dir);
  snprintf(e->user, sizeof(e->user), "%s", vfs->user);
  snprintf(t->sender, sizeof(t->sender), "0192:%s", m->client->cfg->org);
  t->init = (ab_transfer_init) {
    .file_name = e->name,
    .resource_id = m->cfg->resource_id,
    .sender = t->sender,
    .recipients = t->sorted,
    .n_recipients = n_rcpts,
    .senders_reference = e->reference,
    .properties = sc ? sc->sc.props : NULL,
    .n_properties = sc ? sc->sc.n_props : 0,
    .checksum_md5 = NULL,
  };
  return 0;
}

void ob_transfer_clear(ob_transfer *t) {
  free(t->sorted);
  t->sorted = NULL;
}

/* The journal entry, the log line and the used sidecar of a sent file. */
static void record_sent(ab_vfs *vfs, ab_mount *m, ob_transfer *t, const char *md5,
                        ab_spool *spool, const ab_send_result *res, const char *mode) {
  ab_outbox_state *o = ab_outbox_state_of(m);
  ab_journal_entry *e = &t->e;
  snprintf(e->id, sizeof(e->id), "%s", res->id);
  snprintf(e->md5, sizeof(e->md5), "%s", md5);
  snprintf(e->status, sizeof(e->status), "%s", res->status);
  e->size = ab_spool_size(spool);
  e->sent = time(NULL);
  char how[96];
  if (res->via_tus) {
    snprintf(how, sizeof(how), "%s parts=%d resumes=%d", mode, res->tus.parts, res->tus.resumes);
  } else {
    snprintf(how, sizeof(how), "streamed");
  }
  char shown[600];
  ab_outbox_display(m, e->dir, e->name, shown, sizeof(shown));
  ab_vfs_logf(vfs, AB_LOG_INFO, "sent %s: fileTransferId=%s org=%s resource=%s recipients=%s "
              "bytes=%lld md5=%s via=%s retries=%d transfers=%d md5-reread=%lld%s%s",
              shown, e->id, m->client->cfg->org, m->cfg->resource_id, e->recipients, e->size, md5,
              how, res->attempts, res->transfers, ab_spool_reread_bytes(spool),
              e->duplicate_of[0] ? " duplicate-of=" : "", e->duplicate_of);
  ob_sidecar *sc = find_sidecar(o, e->dir, e->name);
  if (sc != NULL) {
    ab_sidecar_free(&sc->sc);
    size_t i = (size_t) (sc - o->sidecars);
    memmove(&o->sidecars[i], &o->sidecars[i + 1], (o->n_sidecars - i - 1) * sizeof(*sc));
    o->n_sidecars--;
  }
  remember_sent(vfs, m, e);
}

int ab_outbox_commit(ab_vfs *vfs, ab_mount *m, const char *dir, const char *party,
                     const char *name, ab_spool *spool, char id[AB_ID_LEN], ab_error *err) {
  long long size = ab_spool_size(spool);
  id[0] = '\0';
  char md5[33];
  ob_transfer t;
  if (check_file(m, spool, md5, err) < 0 ||
      ob_transfer_prepare(vfs, m, dir, party, name, &t, err) < 0) {
    return -1;
  }
  if (check_journal(vfs, m, dir, name, md5, size, t.e.recipients, t.e.duplicate_of, err) < 0) {
    ob_transfer_clear(&t);
    return -1;
  }
  t.init.checksum_md5 = md5;
  ab_send_result res;
  int rc = ab_send(&m->client->broker, &vfs->cfg->upload, &t.init, ab_spool_fd(spool), size,
                   &res, err);
  snprintf(id, AB_ID_LEN, "%s", res.id);
  if (rc == 0) {
    record_sent(vfs, m, &t, md5, spool, &res, "tus");
  }
  /* on failure a sidecar stays for the client's next attempt */
  ob_transfer_clear(&t);
  return rc;
}

int ab_outbox_commit_streamed(ab_vfs *vfs, ab_mount *m, ob_transfer *t, ab_tus_stream *tus,
                              const char id[AB_ID_LEN], ab_spool *spool, ab_error *err) {
  long long size = ab_spool_size(spool);
  char md5[33];
  if (check_file(m, spool, md5, err) < 0 ||
      check_journal(vfs, m, t->e.dir, t->e.name, md5, size, t->e.recipients, t->e.duplicate_of,
                    err) < 0) {
    return -1;
  }
  ab_send_result res;
  memset(&res, 0, sizeof(res));
  snprintf(res.id, sizeof(res.id), "%s", id);
  res.transfers = 1;
  int rc = ab_tus_stream_finish(tus, size, &res.tus, err);
  rc = ab_send_tus_outcome(&m->client->broker, &t->init, size, rc, &res, err);
  if (rc == 0) {
    record_sent(vfs, m, t, md5, spool, &res, "tus-pipelined");
  }
  return rc;
}
