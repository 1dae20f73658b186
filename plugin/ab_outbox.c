/* ab_outbox.c - uploads: spool on disk, then one Broker transfer on CLOSE.
 *
 * The client's bytes go to a spool file (ab_spool.h: any offset, any order,
 * MD5 while they arrive). Only at CLOSE do we know the file is complete, so
 * that is where the transfer is made and where a failure is reported: the
 * client's CLOSE fails and nothing is published (ab_outbox_commit.c).
 *
 * What the outbox looks like to a client:
 *   /outbox/NAME          put a file here to send it to the mount's recipients
 *   /outbox/<org>/NAME    ...or to organisation <org> (recipient-dirs=)
 *   /outbox/sent/         receipts, read-only (ab_outbox_receipts.c)
 * Files just sent stay visible to the session that sent them (stat after
 * put); temporary names are spooled and sent when renamed (ab_addressing.h).
 */
#include "ab_outbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_names.h"

#define RECEIPT_DIR "sent"

ab_outbox_state *ab_outbox_state_of(ab_mount *m) {
  if (m->outbox == NULL) {
    m->outbox = calloc(1, sizeof(*m->outbox));
    if (m->outbox != NULL) {
      ab_journal_scope(m->client->cfg->org, m->cfg->resource_id, m->cfg->path,
                       m->outbox->scope);
    }
  }
  return m->outbox;
}

void ab_outbox_free(ab_mount *m) {
  ab_outbox_state *o = m->outbox;
  if (o == NULL) {
    return;
  }
  /* Closed under a temporary name, or a sidecar, and never followed up:
   * the client's CLOSE succeeded, so say in the log that nothing was sent. */
  ab_vfs *vfs = m->client != NULL ? m->client->vfs : NULL;
  for (size_t i = 0; i < o->n_parked; i++) {
    char shown[600];
    ab_outbox_display(m, o->parked[i].dir, o->parked[i].name, shown, sizeof(shown));
    ab_vfs_logf(vfs, AB_LOG_NOTICE, "session ended: %s (%lld bytes) was never renamed from its "
                "temporary name; nothing was sent", shown, ab_spool_size(o->parked[i].spool));
    ab_spool_free(o->parked[i].spool);
  }
  for (size_t i = 0; i < o->n_sidecars; i++) {
    char shown[600];
    ab_outbox_display(m, o->sidecars[i].dir, o->sidecars[i].base, shown, sizeof(shown));
    ab_vfs_logf(vfs, AB_LOG_NOTICE, "session ended: the sidecar %s.properties was not followed by "
                "%s; nothing was sent", shown, shown);
    ab_sidecar_free(&o->sidecars[i].sc);
  }
  /* Still open when the session ends (it was killed, or timed out): a file
   * being sent while written stops, its helper thread first, before the
   * HTTP context it uses goes. */
  for (size_t i = 0; i < o->n_open; i++) {
    ob_stream_abandon(o->open[i]);
  }
  free(o->open);
  free(o->parked);
  free(o->sidecars);
  free(o->sent);
  free(o->receipts);
  free(o);
  m->outbox = NULL;
}

void ab_outbox_display(const ab_mount *m, const char *dir, const char *name, char *out,
                       size_t outsz) {
  snprintf(out, outsz, "%s%s%s%s%s", m->cfg->path, dir[0] ? "/" : "", dir,
           name[0] ? "/" : "", name);
}

/* Grows an array of `size`-byte items by one; NULL on OOM. */
static void *grow(void **items, size_t *n, size_t size) {
  void *grown = realloc(*items, (*n + 1) * size);
  if (grown == NULL) {
    return NULL;
  }
  *items = grown;
  return (char *) grown + (*n)++ * size;
}

static void drop(void *items, size_t *n, size_t i, size_t size) {
  memmove((char *) items + i * size, (char *) items + (i + 1) * size, (*n - i - 1) * size);
  (*n)--;
}

/* Parses the path below the mount. */
static int parse(ab_mount *m, const char *rest, ob_path *p, ab_error *err) {
  memset(p, 0, sizeof(*p));
  const ab_outbox_cfg *o = &m->cfg->outbox;
  char first[256];
  const char *slash = strchr(rest, '/');
  size_t len = slash ? (size_t) (slash - rest) : strlen(rest);
  const char *name = slash ? slash + 1 : "";
  while (*name == '/') name++;
  if (len >= sizeof(first) || strchr(name, '/') != NULL) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, rest);
  }
  memcpy(first, rest, len);
  first[len] = '\0';
  if (len == 0) {
    p->kind = OB_ROOT;
    return 0;
  }
  if (o->receipts && strcmp(first, RECEIPT_DIR) == 0) {
    p->kind = *name ? OB_RECEIPT : OB_RECEIPT_DIR;
    snprintf(p->name, sizeof(p->name), "%s", name);
    return 0;
  }
  int org_like = len == 9 && strspn(first, "0123456789") == 9;
  if (slash == NULL && (o->recipient_dirs == AB_RECIPIENT_DIRS_NO || !org_like)) {
    p->kind = OB_FILE;
    snprintf(p->name, sizeof(p->name), "%s", first);
    return 0;
  }
  /* With recipient-dirs, a 9-digit name is always a directory. */
  if (ab_recipient_dir(o, first, p->party, err) < 0) {
    return ab_error_prefix(err, "%s/%s", m->cfg->path, rest);
  }
  snprintf(p->dir, sizeof(p->dir), "%.15s", first);
  p->kind = *name ? OB_FILE : OB_RECIPIENT_DIR;
  snprintf(p->name, sizeof(p->name), "%s", name);
  return 0;
}

static void dir_stat(ab_stat *st, mode_t mode) {
  memset(st, 0, sizeof(*st));
  st->is_dir = 1;
  st->mode = mode;
  st->mtime = time(NULL);
}

static void file_stat(ab_stat *st, mode_t mode, long long size, time_t mtime) {
  memset(st, 0, sizeof(*st));
  st->mode = mode;
  st->size = size;
  st->mtime = mtime;
}

static ob_parked *find_parked(ab_outbox_state *o, const char *dir, const char *name) {
  for (size_t i = 0; i < o->n_parked; i++) {
    if (strcmp(o->parked[i].dir, dir) == 0 && strcmp(o->parked[i].name, name) == 0) {
      return &o->parked[i];
    }
  }
  return NULL;
}

static ob_sidecar *find_sidecar_file(ab_outbox_state *o, const char *dir, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < o->n_sidecars; i++) {
    size_t b = strlen(o->sidecars[i].base);
    if (strcmp(o->sidecars[i].dir, dir) == 0 && n == b + 11 &&
        strncmp(name, o->sidecars[i].base, b) == 0 && strcmp(name + b, ".properties") == 0) {
      return &o->sidecars[i];
    }
  }
  return NULL;
}

static ob_sent *find_sent(ab_outbox_state *o, const char *dir, const char *name) {
  for (size_t i = o->n_sent; i-- > 0;) {
    if (strcmp(o->sent[i].dir, dir) == 0 && strcmp(o->sent[i].name, name) == 0) {
      return &o->sent[i];
    }
  }
  return NULL;
}

static ab_file *find_open(ab_outbox_state *o, const char *dir, const char *name) {
  for (size_t i = 0; i < o->n_open; i++) {
    if (strcmp(o->open[i]->dir, dir) == 0 && strcmp(o->open[i]->name, name) == 0) {
      return o->open[i];
    }
  }
  return NULL;
}

int ab_outbox_stat(ab_vfs *vfs, ab_mount *m, const char *rest, ab_stat *st, ab_error *err) {
  ob_path p;
  ab_outbox_state *o = ab_outbox_state_of(m);
  if (o == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (parse(m, rest, &p, err) < 0) {
    return -1;
  }
  switch (p.kind) {
  case OB_ROOT:
  case OB_RECIPIENT_DIR:
    dir_stat(st, 0755);
    return 0;
  case OB_RECEIPT_DIR:
    dir_stat(st, 0555);
    return 0;
  case OB_RECEIPT:
    return ab_receipts_stat(vfs, m, p.name, st, err);
  case OB_FILE:
    break;
  }
  const ab_file *f = find_open(o, p.dir, p.name);
  const ob_parked *pk = find_parked(o, p.dir, p.name);
  const ob_sidecar *sc = find_sidecar_file(o, p.dir, p.name);
  const ob_sent *s = find_sent(o, p.dir, p.name);
  if (f != NULL) {
    /* still being written: what has arrived so far */
    file_stat(st, 0644, ab_spool_size(f->spool), time(NULL));
  } else if (pk != NULL) {
    file_stat(st, 0644, ab_spool_size(pk->spool), pk->mtime);
  } else if (sc != NULL) {
    file_stat(st, 0644, sc->size, sc->mtime);
  } else if (s != NULL) {
    file_stat(st, 0644, s->size, s->mtime);
  } else {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, rest);
  }
  return 0;
}

int ab_outbox_open(ab_vfs *vfs, ab_mount *m, const char *rest, int flags,
                   ab_file **out, ab_error *err) {
  ob_path p;
  ab_outbox_state *o = ab_outbox_state_of(m);
  if (o == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (parse(m, rest, &p, err) < 0) {
    return -1;
  }
  int writing = (flags & (O_WRONLY | O_RDWR | O_APPEND | O_CREAT | O_TRUNC)) != 0;
  char shown[600];
  ab_outbox_display(m, p.dir, p.name, shown, sizeof(shown));
  if (p.kind == OB_RECEIPT) {
    if (writing) {
      return ab_error_set(err, EACCES, "%s/%s/%s: receipts are read-only", m->cfg->path,
                          RECEIPT_DIR, p.name);
    }
    return ab_receipts_open(vfs, m, p.name, out, err);
  }
  if (p.kind != OB_FILE) {
    return ab_error_set(err, EISDIR, "%s is a directory", shown);
  }
  if (!writing) {
    return ab_error_set(err, EACCES, "%s: the outbox %s is write-only; sent files cannot be "
                        "read back (their receipts are in %s/%s)", shown, m->cfg->path,
                        m->cfg->path, RECEIPT_DIR);
  }
  if (ab_name_check_upload(p.name, err) < 0) {
    return ab_error_prefix(err, "%s", shown);
  }
  if (flags & O_APPEND) {
    /* An append would need the bytes already sent, which the Broker does not
     * let us extend: a transfer, once uploaded, is final. */
    return ab_error_set(err, EPERM, "%s: appending (resume, reput) is not possible in an "
                        "outbox; upload the whole file again", shown);
  }
  if (p.dir[0] == '\0' && m->cfg->n_recipients == 0) {
    return ab_error_set(err, EACCES, "%s: this outbox has no default recipients; put the file "
                        "into %s/<organisation number>/", shown, m->cfg->path);
  }
  int temp = ab_is_temp_name(&m->cfg->outbox, p.name);
  size_t base_len;
  if (!temp && !ab_is_sidecar_name(&m->cfg->outbox, p.name, &base_len) &&
      m->cfg->outbox.resend == AB_RESEND_REFUSE) {
    ab_journal_entry prev;
    int found = ab_outbox_sent_before(vfs, m, p.dir, p.name, &prev, err);
    if (found < 0) {
      return ab_error_prefix(err, "%s", shown);
    }
    if (found > 0) {
      return ab_error_set(err, EEXIST, "%s was already sent (fileTransferId %s); this outbox "
                          "does not send a name twice (resend=refuse)", shown, prev.id);
    }
  }
  ab_file *f = calloc(1, sizeof(*f));
  void *slot = f ? grow((void **) &o->open, &o->n_open, sizeof(ab_file *)) : NULL;
  if (slot == NULL) {
    free(f);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ob_parked *pk = temp ? find_parked(o, p.dir, p.name) : NULL;
  if (pk != NULL && !(flags & O_TRUNC)) {
    /* A client resuming its temporary file in this session: carry on. */
    f->spool = pk->spool;
    drop(o->parked, &o->n_parked, (size_t) (pk - o->parked), sizeof(*pk));
  } else {
    char limit_msg[700];
    snprintf(limit_msg, sizeof(limit_msg), "%s is larger than this outbox's limit of %lld bytes "
             "(max-size)", shown, m->cfg->outbox.max_size);
    f->spool = ab_spool_new(vfs->spool_fd, vfs->cfg->spool_dir, m->cfg->outbox.max_size,
                            limit_msg, err);
  }
  if (f->spool == NULL) {
    o->n_open--;
    free(f);
    return -1;
  }
  f->fd = ab_spool_fd(f->spool);
  f->vfs = vfs;
  f->mount = m;
  f->writing = 1;
  f->size = ab_spool_size(f->spool);
  snprintf(f->name, sizeof(f->name), "%s", p.name);
  snprintf(f->dir, sizeof(f->dir), "%s", p.dir);
  f->stream = ob_stream_open(f);
  *(ab_file **) slot = f;
  *out = f;
  return 0;
}

ssize_t ab_outbox_pwrite(ab_file *f, const void *buf, size_t len, off_t off, ab_error *err) {
  ssize_t n = ab_spool_pwrite(f->spool, buf, len, off, err);
  if (n < 0) {
    if (!f->write_failed) {
      f->write_failed = 1;
      f->write_err = *err;
    }
    return -1;
  }
  f->size = ab_spool_size(f->spool);
  ob_stream_wrote(f, off, len);
  return n;
}

ssize_t ab_outbox_pread(ab_file *f, void *buf, size_t len, off_t off, ab_error *err) {
  if (f->spool != NULL) {
    return ab_error_set(err, EBADF, "%s was opened for writing", f->name);
  }
  ssize_t n;
  do {
    n = pread(f->fd, buf, len, off);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return ab_error_set(err, EIO, "reading receipt %s: %s", f->name, strerror(errno));
  }
  return n;
}

static void forget_open(ab_outbox_state *o, const ab_file *f) {
  for (size_t i = 0; i < o->n_open; i++) {
    if (o->open[i] == f) {
      drop(o->open, &o->n_open, i, sizeof(ab_file *));
      return;
    }
  }
}

/* Keeps a closed temporary file until its rename; replaces an older one. */
static int park(ab_outbox_state *o, const char *dir, const char *name, ab_spool *spool,
                ab_error *err) {
  ob_parked *pk = find_parked(o, dir, name);
  if (pk == NULL) {
    pk = grow((void **) &o->parked, &o->n_parked, sizeof(*pk));
    if (pk == NULL) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
  } else {
    ab_spool_free(pk->spool);
  }
  snprintf(pk->dir, sizeof(pk->dir), "%s", dir);
  snprintf(pk->name, sizeof(pk->name), "%s", name);
  pk->spool = spool;
  pk->mtime = time(NULL);
  return 0;
}

/* Keeps a sidecar for the file it names (replacing an earlier one). */
static int keep_sidecar(ab_outbox_state *o, const char *dir, const char *name, ab_spool *spool,
                        ab_error *err) {
  long long size = ab_spool_size(spool);
  if (size > AB_MAX_SIDECAR) {
    return ab_error_set(err, EFBIG, "a .properties sidecar may be at most %d bytes", AB_MAX_SIDECAR);
  }
  if (ab_spool_first_gap(spool) >= 0) {
    return ab_error_set(err, ENODATA, "the sidecar was not written whole");
  }
  char *text = malloc((size_t) size + 1);
  if (text == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ssize_t got = size > 0 ? pread(ab_spool_fd(spool), text, (size_t) size, 0) : 0;
  if (got != size) {
    free(text);
    return ab_error_set(err, EIO, "cannot read the sidecar back from the spool");
  }
  ab_sidecar sc;
  int rc = ab_sidecar_parse(text, (size_t) size, &sc, err);
  free(text);
  if (rc < 0) {
    return -1;
  }
  size_t base_len = strlen(name) - strlen(".properties");
  ob_sidecar *slot = find_sidecar_file(o, dir, name);
  if (slot != NULL) {
    ab_sidecar_free(&slot->sc);
  } else if ((slot = grow((void **) &o->sidecars, &o->n_sidecars, sizeof(*slot))) == NULL) {
    ab_sidecar_free(&sc);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  snprintf(slot->dir, sizeof(slot->dir), "%s", dir);
  snprintf(slot->base, sizeof(slot->base), "%.*s", (int) base_len, name);
  slot->sc = sc;
  slot->size = size;
  slot->mtime = time(NULL);
  return 0;
}

/* What CLOSE or RENAME does with a complete file named (dir, name). Takes
 * the spool (parks it, or frees it). */
static int finish(ab_vfs *vfs, ab_mount *m, const char *dir, const char *party, const char *name,
                  ab_spool *spool, int *is_transfer, char id[AB_ID_LEN], ab_error *err) {
  ab_outbox_state *o = ab_outbox_state_of(m);
  char shown[600];
  ab_outbox_display(m, dir, name, shown, sizeof(shown));
  size_t base_len;
  int rc;
  *is_transfer = 0;
  id[0] = '\0';
  if (ab_is_temp_name(&m->cfg->outbox, name)) {
    rc = park(o, dir, name, spool, err);
    if (rc == 0) {
      ab_vfs_logf(vfs, AB_LOG_INFO, "spooled %s (%lld bytes) under a temporary name; it is "
                  "sent when renamed", shown, ab_spool_size(spool));
      return 0;
    }
  } else if (ab_is_sidecar_name(&m->cfg->outbox, name, &base_len)) {
    rc = keep_sidecar(o, dir, name, spool, err);
    if (rc == 0) {
      ab_vfs_logf(vfs, AB_LOG_INFO, "kept sidecar %s: it gives the properties of %.*s",
                  shown, (int) base_len, name);
    }
  } else {
    *is_transfer = 1;
    rc = ab_outbox_commit(vfs, m, dir, party, name, spool, id, err);
  }
  ab_spool_free(spool);
  return rc;
}

/* The name an upload is reported under: "NAME" or "<org>/NAME". */
static const char *report_name(const ab_file *f, char *out, size_t outsz) {
  snprintf(out, outsz, "%s%s%s", f->dir, f->dir[0] ? "/" : "", f->name);
  return out;
}

int ab_outbox_close(ab_file *f, int aborted, ab_error *err) {
  ab_vfs *vfs = f->vfs;
  ab_mount *m = f->mount;
  int rc = 0;
  int receipt = f->spool == NULL;
  char shown[600], shown_rel[300];
  ab_outbox_display(m, f->dir, f->name, shown, sizeof(shown));
  if (receipt) {
    close(f->fd); /* the receipt's text */
  } else if (aborted) {
    /* The client went away before CLOSE: the spool is discarded, nothing sent. */
    forget_open(m->outbox, f);
    ob_stream_abandon(f);
    ab_vfs_report(vfs, "upload", "aborted", m, report_name(f, shown_rel, sizeof(shown_rel)), "",
                  ab_spool_size(f->spool), NULL);
    ab_spool_free(f->spool);
  } else if (f->write_failed) {
    forget_open(m->outbox, f);
    ob_stream_abandon(f);
    *err = f->write_err;
    ab_error_prefix(err, "upload of %s failed (nothing was sent)", shown);
    ab_vfs_report(vfs, "upload", "failed", m, report_name(f, shown_rel, sizeof(shown_rel)), "",
                  ab_spool_size(f->spool), err);
    ab_spool_free(f->spool);
    rc = -1;
  } else {
    forget_open(m->outbox, f);
    char party[16] = "", id[AB_ID_LEN] = "";
    long long size = ab_spool_size(f->spool);
    int is_transfer = 1;
    if (f->dir[0] != '\0' && ab_recipient_dir(&m->cfg->outbox, f->dir, party, err) < 0) {
      rc = -1;
      ob_stream_abandon(f);
      ab_spool_free(f->spool);
    } else if ((rc = ob_stream_close(f, id, err)) != 1) {
      ab_spool_free(f->spool); /* sent (or failed) while it was written */
    } else {
      rc = finish(vfs, m, f->dir, party, f->name, f->spool, &is_transfer, id, err);
    }
    if (rc < 0) {
      ab_error_prefix(err, "upload of %s failed", shown);
    }
    if (is_transfer) {
      ab_vfs_report(vfs, "upload", rc == 0 ? "ok" : "failed", m,
                    report_name(f, shown_rel, sizeof(shown_rel)), id, size, rc == 0 ? NULL : err);
    }
  }
  free(f);
  return rc;
}

int ab_outbox_rename(ab_vfs *vfs, ab_mount *m, const char *from, const char *to, ab_error *err) {
  ob_path a, b;
  ab_outbox_state *o = ab_outbox_state_of(m);
  if (o == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (parse(m, from, &a, err) < 0 || parse(m, to, &b, err) < 0) {
    return -1;
  }
  char shown_from[600], shown_to[600];
  ab_outbox_display(m, a.dir, a.name, shown_from, sizeof(shown_from));
  ab_outbox_display(m, b.dir, b.name, shown_to, sizeof(shown_to));
  ob_parked *pk = a.kind == OB_FILE ? find_parked(o, a.dir, a.name) : NULL;
  if (pk == NULL) {
    if (a.kind == OB_FILE && find_open(o, a.dir, a.name) != NULL) {
      return ab_error_set(err, EBUSY, "rename %s: the file is still being written; close it first",
                          shown_from);
    }
    return ab_error_set(err, EPERM, "rename %s -> %s: only files uploaded under a temporary "
                        "name (*.filepart, .in.*) can be renamed in an outbox; sent files are "
                        "final", shown_from, shown_to);
  }
  if (b.kind != OB_FILE) {
    return ab_error_set(err, EISDIR, "rename %s -> %s: the target is a directory", shown_from,
                        shown_to);
  }
  if (ab_name_check_upload(b.name, err) < 0) {
    return ab_error_prefix(err, "rename %s -> %s", shown_from, shown_to);
  }
  if (b.dir[0] == '\0' && m->cfg->n_recipients == 0) {
    return ab_error_set(err, EACCES, "rename to %s: this outbox has no default recipients; "
                        "rename into %s/<organisation number>/", shown_to, m->cfg->path);
  }
  if (m->cfg->outbox.resend == AB_RESEND_REFUSE && !ab_is_temp_name(&m->cfg->outbox, b.name)) {
    ab_journal_entry prev;
    int found = ab_outbox_sent_before(vfs, m, b.dir, b.name, &prev, err);
    if (found != 0) {
      return found < 0 ? ab_error_prefix(err, "rename to %s", shown_to)
                       : ab_error_set(err, EEXIST, "%s was already sent (fileTransferId %s); this "
                                      "outbox does not send a name twice (resend=refuse)",
                                      shown_to, prev.id);
    }
  }
  /* The rename decides: send under the final name (or park again under
   * another temporary name). On failure the temporary file stays, so the
   * client may try the rename again. */
  ab_spool *spool = pk->spool;
  drop(o->parked, &o->n_parked, (size_t) (pk - o->parked), sizeof(*pk));
  if (ab_is_temp_name(&m->cfg->outbox, b.name)) {
    if (park(o, b.dir, b.name, spool, err) < 0) {
      ab_spool_free(spool);
      return -1;
    }
    return 0;
  }
  size_t base_len;
  int rc;
  char id[AB_ID_LEN] = "";
  if (ab_is_sidecar_name(&m->cfg->outbox, b.name, &base_len)) {
    rc = keep_sidecar(o, b.dir, b.name, spool, err);
  } else {
    rc = ab_outbox_commit(vfs, m, b.dir, b.party, b.name, spool, id, err);
    if (rc < 0) {
      ab_error_prefix(err, "upload of %s (renamed from %s) failed", shown_to, a.name);
    }
    char rel[300];
    snprintf(rel, sizeof(rel), "%s%s%s", b.dir, b.dir[0] ? "/" : "", b.name);
    ab_vfs_report(vfs, "upload", rc == 0 ? "ok" : "failed", m, rel, id, ab_spool_size(spool),
                  rc == 0 ? NULL : err);
  }
  if (rc < 0) {
    ab_error saved = *err;
    if (park(o, a.dir, a.name, spool, err) < 0) {
      ab_spool_free(spool);
    }
    *err = saved;
    return -1;
  }
  ab_spool_free(spool);
  return 0;
}

int ab_outbox_unlink(ab_vfs *vfs, ab_mount *m, const char *rest, ab_error *err) {
  ob_path p;
  ab_outbox_state *o = ab_outbox_state_of(m);
  if (o == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (parse(m, rest, &p, err) < 0) {
    return -1;
  }
  char shown[600];
  ab_outbox_display(m, p.dir, p.name, shown, sizeof(shown));
  if (p.kind == OB_RECEIPT) {
    return ab_error_set(err, EPERM, "%s/%s/%s: receipts are read-only", m->cfg->path,
                        RECEIPT_DIR, p.name);
  }
  if (p.kind != OB_FILE) {
    return ab_error_set(err, EISDIR, "%s is a directory", shown);
  }
  ob_parked *pk = find_parked(o, p.dir, p.name);
  ob_sidecar *sc = find_sidecar_file(o, p.dir, p.name);
  if (pk != NULL) {
    /* WinSCP cancelling, or ProFTPD cleaning up after a failed rename. */
    ab_vfs_logf(vfs, AB_LOG_INFO, "discarded temporary %s (%lld bytes, nothing sent)", shown,
                ab_spool_size(pk->spool));
    ab_spool_free(pk->spool);
    drop(o->parked, &o->n_parked, (size_t) (pk - o->parked), sizeof(*pk));
    return 0;
  }
  if (sc != NULL) {
    ab_sidecar_free(&sc->sc);
    drop(o->sidecars, &o->n_sidecars, (size_t) (sc - o->sidecars), sizeof(*sc));
    return 0;
  }
  if (find_sent(o, p.dir, p.name) != NULL) {
    return ab_error_set(err, EPERM, "%s was already sent through the Broker and cannot be "
                        "withdrawn", shown);
  }
  return ab_error_set(err, ENOENT, "%s: no such file", shown);
}

int ab_outbox_list(ab_vfs *vfs, ab_mount *m, const char *rest,
                   int (*add)(void *ctx, const char *name), void *ctx, ab_error *err) {
  ob_path p;
  ab_outbox_state *o = ab_outbox_state_of(m);
  if (o == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (parse(m, rest, &p, err) < 0) {
    return -1;
  }
  if (p.kind == OB_RECEIPT_DIR) {
    return ab_receipts_list(vfs, m, add, ctx, err);
  }
  if (p.kind != OB_ROOT && p.kind != OB_RECIPIENT_DIR) {
    return ab_error_set(err, ENOTDIR, "%s/%s is not a directory", m->cfg->path, rest);
  }
  int ok = 1;
  if (p.kind == OB_ROOT) {
    const ab_outbox_cfg *oc = &m->cfg->outbox;
    if (oc->receipts) {
      ok = add(ctx, RECEIPT_DIR) >= 0;
    }
    for (size_t i = 0; ok && oc->recipient_dirs == AB_RECIPIENT_DIRS_LISTED &&
                       i < oc->n_recipient_dir_orgs; i++) {
      ok = add(ctx, oc->recipient_dir_orgs[i]) >= 0;
    }
  }
  /* What this session sent, and what is on its way (open, parked, sidecars). */
  for (size_t i = 0; ok && i < o->n_sent; i++) {
    const ob_sent *s = &o->sent[i];
    if (strcmp(s->dir, p.dir) == 0 && find_sent(o, s->dir, s->name) == s) {
      ok = add(ctx, s->name) >= 0;
    }
  }
  for (size_t i = 0; ok && i < o->n_open; i++) {
    if (strcmp(o->open[i]->dir, p.dir) == 0 && find_sent(o, p.dir, o->open[i]->name) == NULL) {
      ok = add(ctx, o->open[i]->name) >= 0;
    }
  }
  for (size_t i = 0; ok && i < o->n_parked; i++) {
    if (strcmp(o->parked[i].dir, p.dir) == 0) {
      ok = add(ctx, o->parked[i].name) >= 0;
    }
  }
  for (size_t i = 0; ok && i < o->n_sidecars; i++) {
    if (strcmp(o->sidecars[i].dir, p.dir) == 0) {
      char name[300];
      snprintf(name, sizeof(name), "%s.properties", o->sidecars[i].base);
      ok = add(ctx, name) >= 0;
    }
  }
  return ok ? 0 : ab_error_set(err, ENOMEM, "out of memory");
}
