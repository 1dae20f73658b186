/* ab_inbox.c - files sent to us through the Broker, as a readable directory.
 *
 * Listing: the agent keeps one listing per (organisation, resource), fresh
 * from Altinn Events and search reconciliation, with stable, safe, unique
 * names (ab_hub_feed.c, ab_listing.h); a session asks it for the listing
 * (op inbox_list) and keeps a copy for a second. READDIR answers from what
 * is known. Mounts with layout=by-sender show a directory per sending
 * organisation.
 *
 * Reading: a streamed download; a read at another offset restarts the
 * stream with an HTTP Range request. A download that ends early or fails
 * is a read error, never a short file that looks complete.
 *
 * Confirming: only a file read whole (in this or an earlier session, as
 * recorded in the shared state) is ever confirmed: by rm (confirm=on-rm,
 * the default), by closing it after the complete read (confirm=after-read),
 * or only by the admin CLI (confirm=never). */
#include "ab_vfs_internal.h"

#include "ab_inbox_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A session reuses its copy of the listing this long before asking the
 * agent again (an `ls -l` stats every file). */
#define VIEW_TTL_MS 1000
/* READDIR, and a name not (yet) known: let the agent look for news first
 * (an events pull and the overviews it asks for), at most this long. */
#define LIST_WAIT_MS 700

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the session's copy of the listing ---- */

static void view_clear(ab_inbox_view *v) {
  free(v->text);
  free(v->e);
  ab_strmap_free(v->by_name);
  ab_strmap_free(v->dirs);
  memset(v, 0, sizeof(*v));
}

void ab_inbox_free(ab_vfs *vfs) {
  for (size_t i = 0; i < vfs->n_mounts; i++) {
    view_clear(&vfs->mounts[i].inbox);
  }
  for (size_t i = 0; i < vfs->n_covs; i++) {
    ab_ranges_free(&vfs->covs[i].ranges);
  }
  free(vfs->covs);
  vfs->covs = NULL;
  vfs->n_covs = 0;
}

/* A name from the agent is used only when it is one path component. */
static int usable(const char *s) {
  return s != NULL && *s != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
         strcmp(s, "..") != 0;
}

static int key_of(const ab_mount *m, const char *dir, const char *name, char *out, size_t outsz) {
  int n = m->cfg->by_sender ? snprintf(out, outsz, "%s/%s", dir, name)
                            : snprintf(out, outsz, "%s", name);
  return n > 0 && (size_t) n < outsz ? 0 : -1;
}

/* Replaces the view with the agent's listing (lines of ab_inbox_wire.h;
 * the view takes the text over, also on failure). */
static int view_build(ab_mount *m, char *text, ab_error *err) {
  ab_inbox_view v;
  memset(&v, 0, sizeof(v));
  v.text = text;
  size_t cap = 1;
  for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++) {
    cap++;
  }
  v.e = calloc(cap, sizeof(*v.e));
  v.by_name = ab_strmap_new();
  v.dirs = ab_strmap_new();
  int ok = v.e != NULL && v.by_name != NULL && v.dirs != NULL;
  char *cursor = text;
  ab_inbox_wire_row row;
  while (ok && v.n < cap && ab_inbox_wire_next(&cursor, &row)) {
    if (!usable(row.name) || !usable(row.gname) || !usable(row.dir)) {
      continue;
    }
    ab_inbox_entry *e = &v.e[v.n];
    memcpy(e->id, row.id, AB_ID_LEN);
    e->name = row.name;
    e->gname = row.gname;
    e->dir = row.dir;
    e->size = row.size;
    e->mtime = row.mtime;
    v.n++;
    char key[1024];
    ok = key_of(m, e->dir, m->cfg->by_sender ? e->gname : e->name, key, sizeof(key)) == 0 &&
         ab_strmap_put(v.by_name, key, v.n - 1) == 0;
    size_t newest;
    if (ok && (!ab_strmap_get(v.dirs, e->dir, &newest) || v.e[newest].mtime < e->mtime)) {
      ok = ab_strmap_put(v.dirs, e->dir, v.n - 1) == 0;
    }
  }
  if (!ok) {
    view_clear(&v);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  v.version = m->inbox.version;
  v.fetched_ms = m->inbox.fetched_ms;
  view_clear(&m->inbox);
  m->inbox = v;
  return 0;
}

/* Brings the session's copy up to date: asks the agent when the copy is
 * older than VIEW_TTL_MS or `force`, letting due work happen for up to
 * wait_ms first. */
static int refresh(ab_vfs *vfs, ab_mount *m, int force, long wait_ms, ab_error *err) {
  long long now = mono_ms();
  if (!force && m->inbox.fetched_ms != 0 && now - m->inbox.fetched_ms < VIEW_TTL_MS) {
    return 0;
  }
  unsigned long long version = 0;
  char *listing = NULL;
  if (ab_shared_inbox_list(vfs->shared, m->client->cfg->org, m->cfg->resource_id,
                           m->inbox.by_name != NULL ? m->inbox.version : 0, wait_ms, &version,
                           &listing, err) < 0) {
    return ab_error_prefix(err, "listing %s", m->cfg->path);
  }
  m->inbox.version = version;
  m->inbox.fetched_ms = now;
  int rc = 0;
  if (listing != NULL) {
    rc = view_build(m, listing, err);
  }
  return rc;
}

/* ---- paths below the mount ---- */

typedef struct inbox_path {
  char dir[256];          /* sender directory (layout=by-sender), "" otherwise */
  const char *name;       /* file name, NULL for a sender directory */
} inbox_path;

static int parse_path(const ab_mount *m, const char *rest, inbox_path *p, ab_error *err) {
  memset(p, 0, sizeof(*p));
  /* Gateways ask for "." and ".."; no inbox name or directory is either. */
  const char *last = strrchr(rest, '/') ? strrchr(rest, '/') + 1 : rest;
  if (strcmp(last, ".") == 0 || strcmp(last, "..") == 0) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, rest);
  }
  const char *slash = strchr(rest, '/');
  if (!m->cfg->by_sender) {
    if (slash != NULL) {
      return ab_error_set(err, ENOENT, "%s/%s: no such file (%s has no subdirectories)",
                          m->cfg->path, rest, m->cfg->path);
    }
    p->name = rest;
    return 0;
  }
  if (slash == NULL) {
    snprintf(p->dir, sizeof(p->dir), "%s", rest);
    return 0;
  }
  if ((size_t) (slash - rest) >= sizeof(p->dir) || slash[1] == '\0' ||
      strchr(slash + 1, '/') != NULL) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, rest);
  }
  memcpy(p->dir, rest, (size_t) (slash - rest));
  p->dir[slash - rest] = '\0';
  p->name = slash + 1;
  return 0;
}

static const ab_inbox_entry *find(const ab_mount *m, const inbox_path *p) {
  char key[1024];
  size_t i;
  if (m->inbox.by_name == NULL || key_of(m, p->dir, p->name, key, sizeof(key)) < 0 ||
      !ab_strmap_get(m->inbox.by_name, key, &i)) {
    return NULL;
  }
  return &m->inbox.e[i];
}

/* The entry for a file path; a name not known yet gets one fresh look
 * (it may just have been published). NULL with err (ENOENT) otherwise. */
static const ab_inbox_entry *lookup(ab_vfs *vfs, ab_mount *m, const inbox_path *p,
                                    ab_error *err) {
  if (refresh(vfs, m, 0, 0, err) < 0) {
    return NULL;
  }
  const ab_inbox_entry *e = find(m, p);
  if (e == NULL) {
    if (refresh(vfs, m, 1, LIST_WAIT_MS, err) < 0) {
      return NULL;
    }
    e = find(m, p);
  }
  if (e == NULL) {
    ab_error_set(err, ENOENT, "%s/%s%s%s: no such file", m->cfg->path,
                 p->dir[0] ? p->dir : "", p->dir[0] ? "/" : "", p->name);
  }
  return e;
}

int ab_inbox_stat(ab_vfs *vfs, ab_mount *m, const char *rest, ab_stat *st, ab_error *err) {
  inbox_path p;
  if (parse_path(m, rest, &p, err) < 0) {
    return -1;
  }
  if (p.name == NULL) {
    size_t newest;
    if (refresh(vfs, m, 0, 0, err) < 0) {
      return -1;
    }
    if (m->inbox.dirs == NULL || !ab_strmap_get(m->inbox.dirs, p.dir, &newest)) {
      if (refresh(vfs, m, 1, LIST_WAIT_MS, err) < 0) {
        return -1;
      }
      if (m->inbox.dirs == NULL || !ab_strmap_get(m->inbox.dirs, p.dir, &newest)) {
        return ab_error_set(err, ENOENT, "%s/%s: no such directory", m->cfg->path, rest);
      }
    }
    st->is_dir = 1;
    st->mode = 0755;
    st->mtime = m->inbox.e[newest].mtime;
    return 0;
  }
  const ab_inbox_entry *e = lookup(vfs, m, &p, err);
  if (e == NULL) {
    return -1;
  }
  st->is_dir = 0;
  st->mode = 0444;
  st->size = e->size;
  st->mtime = e->mtime;
  return 0;
}

int ab_inbox_list(ab_vfs *vfs, ab_mount *m, const char *rest,
                  int (*add)(void *ctx, const char *name), void *ctx, ab_error *err) {
  inbox_path p;
  if (*rest != '\0') {
    if (parse_path(m, rest, &p, err) < 0) {
      return -1;
    }
    if (p.name != NULL) {
      return ab_error_set(err, ENOTDIR, "%s/%s is not a directory", m->cfg->path, rest);
    }
  }
  if (refresh(vfs, m, 1, LIST_WAIT_MS, err) < 0) {
    return -1;
  }
  const ab_inbox_view *v = &m->inbox;
  int rc = 0;
  size_t shown = 0;
  for (size_t i = 0; rc >= 0 && i < v->n; i++) {
    const ab_inbox_entry *e = &v->e[i];
    size_t first;
    if (e->gone) {
      continue;
    }
    if (!m->cfg->by_sender) {
      rc = add(ctx, e->name);
    } else if (*rest == '\0') {
      /* Each sender's directory once: at the entry its index points to. */
      if (ab_strmap_get(v->dirs, e->dir, &first) && first == i) {
        rc = add(ctx, e->dir);
      }
    } else if (strcmp(e->dir, rest) == 0) {
      rc = add(ctx, e->gname);
      shown++;
    }
  }
  if (rc < 0) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (m->cfg->by_sender && *rest != '\0' && shown == 0) {
    return ab_error_set(err, ENOENT, "%s/%s: no such directory", m->cfg->path, rest);
  }
  return 0;
}

/* ---- reading ---- */

/* The session's record of what it delivered of transfer id (NULL on OOM). */
static ab_ranges *coverage(ab_vfs *vfs, const char *id) {
  for (size_t i = 0; i < vfs->n_covs; i++) {
    if (strcmp(vfs->covs[i].id, id) == 0) {
      return &vfs->covs[i].ranges;
    }
  }
  ab_read_cov *grown = realloc(vfs->covs, (vfs->n_covs + 1) * sizeof(*grown));
  if (grown == NULL) {
    return NULL;
  }
  vfs->covs = grown;
  ab_read_cov *c = &vfs->covs[vfs->n_covs++];
  memset(c, 0, sizeof(*c));
  memcpy(c->id, id, AB_ID_LEN);
  return &c->ranges;
}

static void forget_coverage(ab_vfs *vfs, const char *id) {
  for (size_t i = 0; i < vfs->n_covs; i++) {
    if (strcmp(vfs->covs[i].id, id) == 0) {
      ab_ranges_free(&vfs->covs[i].ranges);
      vfs->covs[i] = vfs->covs[--vfs->n_covs];
      return;
    }
  }
}

int ab_inbox_open(ab_vfs *vfs, ab_mount *m, const char *rest, int flags,
                  ab_file **out, ab_error *err) {
  (void) flags;
  inbox_path p;
  if (parse_path(m, rest, &p, err) < 0) {
    return -1;
  }
  if (p.name == NULL) {
    return ab_error_set(err, EISDIR, "%s/%s is a directory", m->cfg->path, rest);
  }
  const ab_inbox_entry *e = lookup(vfs, m, &p, err);
  if (e == NULL) {
    return -1;
  }
  ab_file *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  /* The gateway wants a real descriptor; the bytes never go through it. */
  f->fd = ab_spool_create(vfs, err);
  if (f->fd < 0) {
    free(f);
    return -1;
  }
  f->vfs = vfs;
  f->mount = m;
  f->size = e->size;
  f->mtime = e->mtime;
  snprintf(f->name, sizeof(f->name), "%s", rest);
  snprintf(f->id, sizeof(f->id), "%s", e->id);
  *out = f;
  return 0;
}

/* A Broker error that means the transfer is no longer there. */
static int is_gone(const ab_error *err) {
  return err->http_status == 404 ||
         (err->http_status == 403 && strcmp(err->code, "BRO-00007") == 0);
}

/* Drops the session's copy and asks the agent to look at id again. */
static void recheck(ab_vfs *vfs, ab_mount *m, const char *id) {
  ab_error ignored;
  ab_shared_inbox_recheck(vfs->shared, m->client->cfg->org, id, &ignored);
  m->inbox.fetched_ms = 0;
}

static int start_download(ab_file *f, off_t off, ab_error *err) {
  ab_download_close(f->dl);
  f->dl = NULL;
  ab_mount *m = f->mount;
  f->downloaded = 1;
  if (ab_download_open(&m->client->broker, f->id, off, &f->dl, err) < 0) {
    if (is_gone(err)) {
      recheck(f->vfs, m, f->id);
      return ab_error_set_http(err, ENOENT, err->http_status, err->code,
                               "%s/%s is no longer available from the Broker (%s)",
                               m->cfg->path, f->name, err->message);
    }
    return ab_error_prefix(err, "download of %s/%s", m->cfg->path, f->name);
  }
  /* The listed size comes from the overview; what counts is what the
   * download serves. When they differ nothing is read: a file served
   * longer than listed would be cut and then count as read whole, one
   * served shorter could never be completed. */
  off_t total = ab_download_total(f->dl);
  if (total >= 0 && total != (off_t) f->size) {
    ab_download_close(f->dl);
    f->dl = NULL;
    return ab_error_set(err, EIO, "download of %s/%s refused: the Broker lists it as %lld bytes "
                        "but serves %lld (fileTransferId %s); nothing was read", m->cfg->path,
                        f->name, f->size, (long long) total, f->id);
  }
  return 0;
}

ssize_t ab_inbox_pread(ab_file *f, void *buf, size_t len, off_t off, ab_error *err) {
  ab_ranges *cov = coverage(f->vfs, f->id);
  if (cov == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (f->size == 0 && !f->downloaded) {
    /* An empty file is still downloaded once: the Broker confirms only
     * what was downloaded (BRO-00019). */
    if (start_download(f, 0, err) < 0) {
      return -1;
    }
    ab_ranges_add(cov, 0, 0);
  }
  if (off >= f->size || len == 0) {
    return 0;
  }
  if ((long long) len > f->size - off) {
    len = (size_t) (f->size - off);
  }
  if (f->dl == NULL || ab_download_position(f->dl) != off) {
    if (start_download(f, off, err) < 0) {
      return -1;
    }
  }
  size_t got = 0;
  while (got < len) {
    ssize_t n = ab_download_read(f->dl, (char *) buf + got, len - got, err);
    if (n < 0) {
      ab_download_close(f->dl);
      f->dl = NULL;
      ab_vfs_logf(f->vfs, AB_LOG_ERROR, "download of %s/%s (%s) failed at byte %lld: %s",
                  f->mount->cfg->path, f->name, f->id, (long long) off + (long long) got,
                  err->message);
      return -1;
    }
    if (n == 0) {
      /* The Broker said the file is f->size bytes; ending early is an error,
       * never a short file that looks complete. */
      ab_download_close(f->dl);
      f->dl = NULL;
      return ab_error_set(err, EIO, "download of %s/%s ended at byte %lld of %lld",
                          f->mount->cfg->path, f->name, (long long) off + (long long) got, f->size);
    }
    got += (size_t) n;
  }
  /* Count what reached the client, in any order and through any handle. */
  if (ab_ranges_add(cov, (long long) off, (long long) off + (long long) got) < 0) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  return (ssize_t) got;
}

/* ---- confirming ---- */

/* 1 when the Broker shows our organisation's download of id as confirmed. */
static int confirmed_at_broker(ab_mount *m, const char *id) {
  ab_transfer t;
  ab_error err;
  if (ab_broker_overview(&m->client->broker, id, &t, &err) < 0) {
    return 0;
  }
  const char *org = m->client->cfg->org;
  int ours = 0;
  for (size_t i = 0; i < t.n_recipients; i++) {
    const char *r = t.recipients[i].recipient;
    const char *rorg = strrchr(r, ':') ? strrchr(r, ':') + 1 : r;
    ours |= strcmp(rorg, org) == 0 && strcmp(t.recipients[i].status, "DownloadConfirmed") == 0;
  }
  ab_transfer_clear(&t);
  return ours;
}

/* Drops id from the session's copy at once. */
static void forget(ab_mount *m, const char *id) {
  m->inbox.fetched_ms = 0;        /* the agent's listing changed too */
  for (size_t i = 0; i < m->inbox.n; i++) {
    ab_inbox_entry *e = &m->inbox.e[i];
    if (strcmp(e->id, id) == 0) {
      e->gone = 1;
      char key[1024];
      if (key_of(m, e->dir, m->cfg->by_sender ? e->gname : e->name, key, sizeof(key)) == 0) {
        ab_strmap_del(m->inbox.by_name, key);
      }
    }
  }
}

/* Confirms transfer id (the caller checked it was read whole): once per
 * file, whichever session or node asks. */
static int confirm_id(ab_vfs *vfs, ab_mount *m, const char *id, const char *label,
                      ab_error *err) {
  const char *org = m->client->cfg->org;
  char claim[160];
  int c = ab_shared_confirm_claim(vfs->shared, org, id, claim, err);
  if (c < 0) {
    return ab_error_prefix(err, "confirming %s/%s", m->cfg->path, label);
  }
  if (c == AB_CLAIM_ALREADY_CONFIRMED) {
    ab_vfs_logf(vfs, AB_LOG_NOTICE, "%s/%s: fileTransferId=%s was already confirmed through this "
                "gateway; not confirming again", m->cfg->path, label, id);
    forget(m, id);
    return 0;
  }
  if (c == AB_CLAIM_BUSY) {
    return ab_error_set(err, EBUSY, "%s/%s is being confirmed by another session; try again shortly",
                        m->cfg->path, label);
  }
  int rc = ab_broker_confirm(&m->client->broker, id, err);
  /* BRO-00010: no longer Published. Fine when that is because our
   * confirmation is already there (e.g. made by another system). */
  if (rc < 0 && strcmp(err->code, "BRO-00010") == 0 && confirmed_at_broker(m, id)) {
    rc = 0;
  }
  ab_error e2;
  if (ab_shared_confirm_done(vfs->shared, org, id, claim, rc == 0, &e2) < 0) {
    ab_vfs_logf(vfs, AB_LOG_ERROR, "confirm of %s/%s: could not record it in the shared state: %s",
                m->cfg->path, label, e2.message);
  }
  if (rc < 0) {
    if (is_gone(err) || strcmp(err->code, "BRO-00010") == 0) {
      recheck(vfs, m, id);
    }
    ab_error_prefix(err, "confirming %s/%s", m->cfg->path, label);
    ab_vfs_report(vfs, "confirm", "failed", m, label, id, 0, err);
    return -1;
  }
  ab_vfs_report(vfs, "confirm", "ok", m, label, id, 0, NULL);
  forget(m, id);
  return 0;
}

int ab_inbox_close(ab_file *f, ab_error *err) {
  ab_mount *m = f->mount;
  ab_ranges *cov = coverage(f->vfs, f->id);
  if (cov != NULL && ab_ranges_complete(cov, f->size)) {
    forget_coverage(f->vfs, f->id);
    if (ab_shared_read_mark(f->vfs->shared, m->client->cfg->org, f->id, err) < 0) {
      ab_vfs_logf(f->vfs, AB_LOG_ERROR, "cannot record that %s/%s was read whole: %s",
                  m->cfg->path, f->name, err->message);
    }
    ab_vfs_report(f->vfs, "download", "ok", m, f->name, f->id, f->size, NULL);
    if (m->cfg->confirm == AB_CONFIRM_AFTER_READ) {
      ab_error cerr;
      /* The bytes reached the client intact; a failed confirm leaves the
       * file listed (to be read again), it does not fail the read. */
      if (confirm_id(f->vfs, m, f->id, f->name, &cerr) < 0) {
        ab_vfs_logf(f->vfs, AB_LOG_ERROR, "%s", cerr.message);
      }
    }
  } else {
    /* Not read whole: never confirmable. */
    long long have = cov != NULL && cov->n > 0 && cov->r[0][0] == 0 ? cov->r[0][1] : 0;
    ab_vfs_report(f->vfs, "download", "partial", m, f->name, f->id, have, NULL);
  }
  ab_download_close(f->dl);
  close(f->fd);
  free(f);
  return 0;
}

/* The transfer id for rest, checked for being confirmable (read whole). */
static int confirmable(ab_vfs *vfs, ab_mount *m, const char *rest, char id[AB_ID_LEN],
                       ab_error *err) {
  inbox_path p;
  if (parse_path(m, rest, &p, err) < 0) {
    return -1;
  }
  if (p.name == NULL) {
    return ab_error_set(err, EPERM, "%s/%s is a sender's directory; it goes away with its last "
                        "file", m->cfg->path, rest);
  }
  const ab_inbox_entry *e = lookup(vfs, m, &p, err);
  if (e == NULL) {
    return -1;
  }
  memcpy(id, e->id, AB_ID_LEN);
  int read = ab_shared_read_check(vfs->shared, m->client->cfg->org, id, err);
  if (read < 0) {
    return ab_error_prefix(err, "confirming %s/%s", m->cfg->path, rest);
  }
  if (!read) {
    return ab_error_set(err, EACCES, "%s/%s has not been downloaded whole; deleting confirms "
                        "the download, so read the whole file first", m->cfg->path, rest);
  }
  return 0;
}

int ab_inbox_unlink(ab_vfs *vfs, ab_mount *m, const char *rest, ab_error *err) {
  if (m->cfg->confirm == AB_CONFIRM_NEVER) {
    return ab_error_set(err, EPERM, "%s/%s: files in %s are confirmed by the administrator "
                        "(altinn-broker confirm), not by deleting them", m->cfg->path, rest,
                        m->cfg->path);
  }
  char id[AB_ID_LEN];
  if (confirmable(vfs, m, rest, id, err) < 0) {
    return -1;
  }
  return confirm_id(vfs, m, id, rest, err);
}

int ab_inbox_confirm(ab_vfs *vfs, ab_mount *m, const char *rest, ab_error *err) {
  char id[AB_ID_LEN];
  if (confirmable(vfs, m, rest, id, err) < 0) {
    return -1;
  }
  return confirm_id(vfs, m, id, rest, err);
}
