/* ab_inbox.c - files sent to us through the Broker, as a readable directory.
 *
 * Listing: transfers Published for our organisation that we have not
 * confirmed. Reading: a streamed download; a read at another offset
 * restarts the stream with an HTTP Range request. Deleting: confirms the
 * download, but only for a file read whole (in this or an earlier session,
 * as recorded in the state store), so a partial or failed read can never
 * confirm. */
#include "ab_vfs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_names.h"

/* How long a listing is reused before the Broker is asked again. The Broker
 * allows 10 searches per minute per organisation. */
#define LISTING_TTL_SECONDS 10

static const ab_inbox_entry *find_by_id(const ab_inbox_entry *e, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++) {
    if (strcmp(e[i].id, id) == 0) {
      return &e[i];
    }
  }
  return NULL;
}

static ab_inbox_entry *find_by_name(ab_mount *m, const char *name) {
  for (size_t i = 0; i < m->n_entries; i++) {
    if (strcmp(m->entries[i].name, name) == 0) {
      return &m->entries[i];
    }
  }
  return NULL;
}

/* True when our own recipient status says we already confirmed it. */
static int confirmed_by_us(const ab_transfer *t, const char *us) {
  for (size_t i = 0; i < t->n_recipients; i++) {
    if (strcmp(t->recipients[i].recipient, us) == 0) {
      return strcmp(t->recipients[i].status, "DownloadConfirmed") == 0;
    }
  }
  return 0;
}

/* Gives every entry its final name: the sanitized Broker name, or, when
 * several transfers share it, the name with "~<id prefix>" for all of them
 * (so no transfer silently hides another). */
static void assign_names(ab_inbox_entry *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int shared = 0;
    for (size_t j = 0; j < n && !shared; j++) {
      shared = j != i && strcmp(e[i].base, e[j].base) == 0;
    }
    if (shared) {
      ab_name_with_id(e[i].base, e[i].id, e[i].name, sizeof(e[i].name));
    } else {
      memcpy(e[i].name, e[i].base, sizeof(e[i].name));
    }
  }
}

int ab_inbox_refresh(ab_vfs *vfs, ab_mount *m, int force, ab_error *err) {
  time_t now = time(NULL);
  if (!force && m->listed_at != 0 && now - m->listed_at < LISTING_TTL_SECONDS) {
    return 0;
  }
  ab_broker *b = &m->client->broker;
  ab_search q = {
    .resource_id = m->cfg->resource_id,
    .status = "Published",
    .role = "Recipient",
  };
  char (*ids)[AB_ID_LEN] = NULL;
  size_t n_ids = 0;
  if (ab_broker_search(b, &q, &ids, &n_ids, err) < 0) {
    return ab_error_prefix(err, "listing %s", m->cfg->path);
  }
  char us[16];
  snprintf(us, sizeof(us), "0192:%s", m->client->cfg->org);
  ab_inbox_entry *fresh = calloc(n_ids ? n_ids : 1, sizeof(*fresh));
  if (fresh == NULL) {
    free(ids);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t n = 0;
  int rc = 0;
  for (size_t i = 0; i < n_ids && rc == 0; i++) {
    const ab_inbox_entry *known = find_by_id(m->entries, m->n_entries, ids[i]);
    ab_transfer t;
    memset(&t, 0, sizeof(t));
    if (known != NULL) {
      /* Metadata of a Published transfer does not change; keep it. */
      fresh[n] = *known;
      n++;
      continue;
    }
    if (ab_broker_overview(b, ids[i], &t, err) < 0) {
      rc = ab_error_prefix(err, "listing %s", m->cfg->path);
      break;
    }
    if (strcmp(t.status, "Published") == 0 && !confirmed_by_us(&t, us) && t.size >= 0) {
      snprintf(fresh[n].id, sizeof(fresh[n].id), "%s", t.id[0] ? t.id : ids[i]);
      ab_name_sanitize(t.file_name, fresh[n].base, sizeof(fresh[n].base));
      fresh[n].size = t.size;
      fresh[n].mtime = t.published ? t.published : t.created;
      n++;
    }
    ab_transfer_clear(&t);
  }
  free(ids);
  if (rc < 0) {
    free(fresh);
    return -1;
  }
  /* Collisions are judged on the current set of transfers. */
  assign_names(fresh, n);
  free(m->entries);
  m->entries = fresh;
  m->n_entries = n;
  m->listed_at = now;
  ab_vfs_logf(vfs, AB_LOG_INFO, "listed %s: %zu file(s)", m->cfg->path, n);
  return 0;
}

int ab_inbox_stat(ab_vfs *vfs, ab_mount *m, const char *name, ab_stat *st, ab_error *err) {
  if (ab_inbox_refresh(vfs, m, 0, err) < 0) {
    return -1;
  }
  const ab_inbox_entry *e = find_by_name(m, name);
  if (e == NULL) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, name);
  }
  st->is_dir = 0;
  st->mode = 0444;
  st->size = e->size;
  st->mtime = e->mtime;
  return 0;
}

int ab_inbox_open(ab_vfs *vfs, ab_mount *m, const char *name, int flags,
                  ab_file **out, ab_error *err) {
  (void) flags;
  if (ab_inbox_refresh(vfs, m, 0, err) < 0) {
    return -1;
  }
  const ab_inbox_entry *e = find_by_name(m, name);
  if (e == NULL) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, name);
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
  snprintf(f->name, sizeof(f->name), "%s", e->name);
  snprintf(f->id, sizeof(f->id), "%s", e->id);
  *out = f;
  return 0;
}

ssize_t ab_inbox_pread(ab_file *f, void *buf, size_t len, off_t off, ab_error *err) {
  if (off >= f->size || len == 0) {
    if (off == f->size && f->read_upto >= f->size) {
      f->read_upto = f->size; /* EOF seen after a complete read */
    }
    return 0;
  }
  if ((long long) len > f->size - off) {
    len = (size_t) (f->size - off);
  }
  if (f->dl == NULL || ab_download_position(f->dl) != off) {
    ab_download_close(f->dl);
    f->dl = NULL;
    if (ab_download_open(&f->mount->client->broker, f->id, off, &f->dl, err) < 0) {
      return ab_error_prefix(err, "download of %s/%s", f->mount->cfg->path, f->name);
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
  if (off <= f->read_upto && (long long) off + (long long) got > f->read_upto) {
    f->read_upto = (long long) off + (long long) got;
  }
  return (ssize_t) got;
}

int ab_inbox_close(ab_file *f, ab_error *err) {
  (void) err;
  if (f->read_upto >= f->size) {
    if (ab_state_mark_read(f->vfs->state, f->mount->client->cfg->org, f->id, err) < 0) {
      ab_vfs_logf(f->vfs, AB_LOG_ERROR, "%s", err->message);
    }
    ab_vfs_logf(f->vfs, AB_LOG_NOTICE, "received %s/%s: fileTransferId=%s bytes=%lld (read whole)",
                f->mount->cfg->path, f->name, f->id, f->size);
  } else {
    ab_vfs_logf(f->vfs, AB_LOG_NOTICE, "partial read of %s/%s: fileTransferId=%s %lld of %lld bytes; not confirmable",
                f->mount->cfg->path, f->name, f->id, f->read_upto, f->size);
  }
  ab_download_close(f->dl);
  close(f->fd);
  free(f);
  return 0;
}

int ab_inbox_unlink(ab_vfs *vfs, ab_mount *m, const char *name, ab_error *err) {
  if (ab_inbox_refresh(vfs, m, 0, err) < 0) {
    return -1;
  }
  ab_inbox_entry *e = find_by_name(m, name);
  if (e == NULL) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, name);
  }
  if (!ab_state_was_read(vfs->state, m->client->cfg->org, e->id)) {
    return ab_error_set(err, EACCES, "%s/%s has not been downloaded whole; "
                        "deleting confirms the download, so read the whole file first",
                        m->cfg->path, name);
  }
  if (ab_broker_confirm(&m->client->broker, e->id, err) < 0) {
    return ab_error_prefix(err, "confirming %s/%s", m->cfg->path, name);
  }
  ab_vfs_logf(vfs, AB_LOG_NOTICE, "confirmed %s/%s: fileTransferId=%s", m->cfg->path, name, e->id);
  size_t idx = (size_t) (e - m->entries);
  memmove(&m->entries[idx], &m->entries[idx + 1], (m->n_entries - idx - 1) * sizeof(*e));
  m->n_entries--;
  return 0;
}
