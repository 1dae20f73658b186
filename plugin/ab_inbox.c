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

/* A session reuses its own copy of the listing this long; the shared
 * listing (ab_hub_inbox.c) is fresh for 10 s and refreshed by one session
 * at a time, inside the Broker's 10 searches per minute. */
#define SESSION_LISTING_TTL_SECONDS 2
/* How long a session without any listing waits for another session's
 * first refresh before searching itself. */
#define FIRST_LISTING_WAIT_MS 10000

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
      ab_name_with_id(e[i].base, e[i].id, 8, e[i].name, sizeof(e[i].name));
    } else {
      memcpy(e[i].name, e[i].base, sizeof(e[i].name));
    }
  }
}

/* Replaces the mount's entries with a shared listing (a cJSON array of
 * {"id","name","size","mtime"}). */
static int adopt(ab_mount *m, const cJSON *arr, time_t now, ab_error *err) {
  size_t n = (size_t) cJSON_GetArraySize(arr);
  ab_inbox_entry *fresh = calloc(n ? n : 1, sizeof(*fresh));
  if (fresh == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t k = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) {
    const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "id"));
    const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
    const cJSON *size = cJSON_GetObjectItem(e, "size");
    const cJSON *mtime = cJSON_GetObjectItem(e, "mtime");
    if (id == NULL || name == NULL || !cJSON_IsNumber(size)) {
      continue;
    }
    snprintf(fresh[k].id, sizeof(fresh[k].id), "%s", id);
    /* Names were sanitized by the session that listed; sanitize again, as
     * the shared store is outside this process. */
    ab_name_sanitize(name, fresh[k].base, sizeof(fresh[k].base));
    fresh[k].size = (long long) size->valuedouble;
    fresh[k].mtime = cJSON_IsNumber(mtime) ? (time_t) mtime->valuedouble : now;
    k++;
  }
  assign_names(fresh, k);
  free(m->entries);
  m->entries = fresh;
  m->n_entries = k;
  m->listed_at = now;
  return 0;
}

static cJSON *entries_json(const ab_inbox_entry *e, size_t n) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; arr != NULL && i < n; i++) {
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) {
      cJSON_Delete(arr);
      return NULL;
    }
    cJSON_AddStringToObject(o, "id", e[i].id);
    cJSON_AddStringToObject(o, "name", e[i].base);
    cJSON_AddNumberToObject(o, "size", (double) e[i].size);
    cJSON_AddNumberToObject(o, "mtime", (double) e[i].mtime);
    cJSON_AddItemToArray(arr, o);
  }
  return arr;
}

/* Asks the Broker: search (within the budget, without waiting when a
 * listing is known) and an overview of each transfer not known yet. */
static int list_from_broker(ab_vfs *vfs, ab_mount *m, const cJSON *known, int may_wait,
                            ab_error *err) {
  ab_broker *b = &m->client->broker;
  ab_search q = {
    .resource_id = m->cfg->resource_id,
    .status = "Published",
    .role = "Recipient",
  };
  char (*ids)[AB_ID_LEN] = NULL;
  size_t n_ids = 0;
  m->client->pace_nowait = !may_wait;
  int rc = ab_broker_search(b, &q, &ids, &n_ids, err);
  m->client->pace_nowait = 0;
  if (rc < 0) {
    return -1;
  }
  char us[16];
  snprintf(us, sizeof(us), "0192:%s", m->client->cfg->org);
  ab_inbox_entry *fresh = calloc(n_ids ? n_ids : 1, sizeof(*fresh));
  if (fresh == NULL) {
    free(ids);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t n = 0, failed = 0;
  for (size_t i = 0; i < n_ids; i++) {
    /* Metadata of a Published transfer does not change: keep what is known. */
    const ab_inbox_entry *mine = find_by_id(m->entries, m->n_entries, ids[i]);
    if (mine != NULL) {
      fresh[n++] = *mine;
      continue;
    }
    const cJSON *e;
    int found = 0;
    cJSON_ArrayForEach(e, known) {
      const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "id"));
      const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(e, "name"));
      const cJSON *size = cJSON_GetObjectItem(e, "size");
      if (id != NULL && name != NULL && cJSON_IsNumber(size) && strcmp(id, ids[i]) == 0) {
        snprintf(fresh[n].id, sizeof(fresh[n].id), "%s", id);
        ab_name_sanitize(name, fresh[n].base, sizeof(fresh[n].base));
        fresh[n].size = (long long) size->valuedouble;
        const cJSON *mt = cJSON_GetObjectItem(e, "mtime");
        fresh[n].mtime = cJSON_IsNumber(mt) ? (time_t) mt->valuedouble : time(NULL);
        n++;
        found = 1;
        break;
      }
    }
    if (found) {
      continue;
    }
    ab_transfer t;
    memset(&t, 0, sizeof(t));
    if (ab_broker_overview(b, ids[i], &t, err) < 0) {
      /* One transfer's unusable overview (malformed, too large, gone) must
       * not hide the others: it is left out and asked for again next time.
       * Only when nothing at all could be listed is the listing an error,
       * so an outage never looks like an empty inbox. */
      ab_vfs_logf(vfs, AB_LOG_ERROR, "listing %s: transfer %s left out: %s", m->cfg->path,
                  ids[i], err->message);
      failed++;
      continue;
    }
    if (strcmp(t.status, "Published") == 0 && t.size < 0) {
      ab_vfs_logf(vfs, AB_LOG_ERROR, "listing %s: transfer %s left out: the Broker gives no "
                  "valid fileTransferSize", m->cfg->path, ids[i]);
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
  if (failed > 0 && n == 0) {
    free(fresh);
    return ab_error_prefix(err, "listing %s", m->cfg->path);
  }
  ab_error_clear(err);
  /* Collisions are judged on the current set of transfers. */
  assign_names(fresh, n);
  free(m->entries);
  m->entries = fresh;
  m->n_entries = n;
  m->listed_at = time(NULL);
  cJSON *arr = entries_json(fresh, n);
  ab_error e2;
  if (arr == NULL || ab_shared_listing_put(vfs->shared, m->client->cfg->org, m->cfg->resource_id,
                                           arr, &e2) < 0) {
    ab_vfs_logf(vfs, AB_LOG_ERROR, "listed %s but could not share the listing: %s", m->cfg->path,
                arr == NULL ? "out of memory" : e2.message);
  }
  cJSON_Delete(arr);
  ab_vfs_logf(vfs, AB_LOG_INFO, "listed %s: %zu file(s)", m->cfg->path, n);
  return 0;
}

int ab_inbox_refresh(ab_vfs *vfs, ab_mount *m, int force, ab_error *err) {
  time_t now = time(NULL);
  if (!force && m->listed_at != 0 && now - m->listed_at < SESSION_LISTING_TTL_SECONDS) {
    return 0;
  }
  const char *org = m->client->cfg->org;
  const char *res = m->cfg->resource_id;
  cJSON *known = NULL;
  int fresh = 0, refresh = 0;
  long long waited = 0;
  for (;;) {
    if (ab_shared_listing_get(vfs->shared, org, res, 1, &known, &fresh, &refresh, err) < 0) {
      return ab_error_prefix(err, "listing %s", m->cfg->path);
    }
    if (known != NULL && (fresh || !refresh) && !force) {
      /* Fresh, or another session is refreshing it: serve what is known. */
      int rc = adopt(m, known, now, err);
      cJSON_Delete(known);
      return rc;
    }
    if (refresh || known != NULL || waited >= FIRST_LISTING_WAIT_MS) {
      break;
    }
    /* Nothing known yet and another session is making the first listing. */
    struct timespec ts = { 0, 200 * 1000000L };
    nanosleep(&ts, NULL);
    waited += 200;
  }
  int rc = list_from_broker(vfs, m, known, known == NULL, err);
  if (rc < 0 && known != NULL && err->err_no == EAGAIN) {
    /* Out of search budget: what is known is better than nothing. */
    ab_vfs_logf(vfs, AB_LOG_INFO, "listing %s from what is known: %s", m->cfg->path, err->message);
    rc = adopt(m, known, now, err);
  } else if (rc < 0) {
    ab_error_prefix(err, "listing %s", m->cfg->path);
  }
  cJSON_Delete(known);
  return rc;
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

/* The listed size comes from the overview; what counts is what the
 * download serves. When they differ, nothing is read: a file served longer
 * than listed would be cut and then count as read whole (rm would confirm
 * it), one served shorter could never be completed. */
static int check_served_size(ab_file *f, ab_error *err) {
  off_t total = ab_download_total(f->dl);
  f->size_checked = 1;
  if (total >= 0 && (long long) total != f->size) {
    f->size_checked = -1;
    ab_download_close(f->dl);
    f->dl = NULL;
    ab_error_set(err, EIO, "download of %s/%s refused: the Broker lists it as %lld bytes but "
                 "serves %lld (fileTransferId %s); nothing was read",
                 f->mount->cfg->path, f->name, f->size, (long long) total, f->id);
    ab_vfs_logf(f->vfs, AB_LOG_ERROR, "%s", err->message);
    return -1;
  }
  return 0;
}

ssize_t ab_inbox_pread(ab_file *f, void *buf, size_t len, off_t off, ab_error *err) {
  if (f->size_checked < 0) {
    return ab_error_set(err, EIO, "download of %s/%s refused: the Broker lists another size "
                        "than it serves", f->mount->cfg->path, f->name);
  }
  if (f->size == 0 && !f->size_checked) {
    /* Listed as empty: reading nothing would make it "read whole", so the
     * Broker has to agree that there is nothing. */
    if (ab_download_open(&f->mount->client->broker, f->id, 0, &f->dl, err) < 0) {
      return ab_error_prefix(err, "download of %s/%s", f->mount->cfg->path, f->name);
    }
    if (check_served_size(f, err) < 0) {
      return -1;
    }
  }
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
    if (!f->size_checked && check_served_size(f, err) < 0) {
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
  if (off <= f->read_upto && (long long) off + (long long) got > f->read_upto) {
    f->read_upto = (long long) off + (long long) got;
  }
  return (ssize_t) got;
}

int ab_inbox_close(ab_file *f, ab_error *err) {
  (void) err;
  /* An empty file is read whole only once the Broker agreed it is empty. */
  if (f->read_upto >= f->size && f->size_checked >= 0 && (f->size > 0 || f->size_checked > 0)) {
    if (ab_shared_read_mark(f->vfs->shared, f->mount->client->cfg->org, f->id, err) < 0) {
      ab_vfs_logf(f->vfs, AB_LOG_ERROR, "cannot record that %s/%s was read whole: %s",
                  f->mount->cfg->path, f->name, err->message);
    }
    ab_vfs_report(f->vfs, "download", "ok", f->mount, f->name, f->id, f->size, NULL);
  } else {
    /* Not read whole: never confirmable. */
    ab_vfs_report(f->vfs, "download", "partial", f->mount, f->name, f->id, f->read_upto, NULL);
  }
  ab_download_close(f->dl);
  close(f->fd);
  free(f);
  return 0;
}

static void forget(ab_mount *m, ab_inbox_entry *e) {
  size_t idx = (size_t) (e - m->entries);
  memmove(&m->entries[idx], &m->entries[idx + 1], (m->n_entries - idx - 1) * sizeof(*e));
  m->n_entries--;
}

int ab_inbox_unlink(ab_vfs *vfs, ab_mount *m, const char *name, ab_error *err) {
  if (ab_inbox_refresh(vfs, m, 0, err) < 0) {
    return -1;
  }
  ab_inbox_entry *e = find_by_name(m, name);
  if (e == NULL) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, name);
  }
  const char *org = m->client->cfg->org;
  int read = ab_shared_read_check(vfs->shared, org, e->id, err);
  if (read < 0) {
    return ab_error_prefix(err, "confirming %s/%s", m->cfg->path, name);
  }
  if (!read) {
    return ab_error_set(err, EACCES, "%s/%s has not been downloaded whole; "
                        "deleting confirms the download, so read the whole file first",
                        m->cfg->path, name);
  }
  /* One confirm per file, whichever session or node asks. */
  char claim[160];
  int c = ab_shared_confirm_claim(vfs->shared, org, e->id, claim, err);
  if (c < 0) {
    return ab_error_prefix(err, "confirming %s/%s", m->cfg->path, name);
  }
  if (c == AB_CLAIM_ALREADY_CONFIRMED) {
    ab_vfs_logf(vfs, AB_LOG_NOTICE, "%s/%s: fileTransferId=%s was already confirmed through this "
                "gateway; not confirming again", m->cfg->path, name, e->id);
    forget(m, e);
    return 0;
  }
  if (c == AB_CLAIM_BUSY) {
    return ab_error_set(err, EBUSY, "%s/%s is being confirmed by another session; try again shortly",
                        m->cfg->path, name);
  }
  char id[AB_ID_LEN];
  snprintf(id, sizeof(id), "%s", e->id);
  int rc = ab_broker_confirm(&m->client->broker, id, err);
  ab_error e2;
  if (ab_shared_confirm_done(vfs->shared, org, id, claim, rc == 0, &e2) < 0) {
    ab_vfs_logf(vfs, AB_LOG_ERROR, "confirm of %s/%s: could not record it in the shared state: %s",
                m->cfg->path, name, e2.message);
  }
  if (rc < 0) {
    ab_error_prefix(err, "confirming %s/%s", m->cfg->path, name);
    ab_vfs_report(vfs, "confirm", "failed", m, name, id, 0, err);
    return -1;
  }
  ab_vfs_report(vfs, "confirm", "ok", m, name, id, 0, NULL);
  e = find_by_name(m, name);
  if (e != NULL) {
    forget(m, e);
  }
  return 0;
}
