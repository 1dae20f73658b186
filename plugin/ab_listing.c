/* ab_listing.c - the inbox listing model (see ab_listing.h). */
#include "ab_listing.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_broker_wire.h"
#include "ab_json.h"
#include "ab_names.h"
#include "ab_strmap.h"

/* How long tombstones are kept when the transfer's expiry is unknown or
 * already past: long enough to swallow Altinn Events' retries (about 1.5
 * days) and the next reconciliation sweeps. */
#define TOMBSTONE_SECONDS (7 * 24 * 3600)
/* Longest a tombstone is kept (the Broker's longest TTL is 365 days). */
#define TOMBSTONE_MAX_SECONDS (400 * 24 * 3600)
#define BACKOFF_FIRST 5
#define BACKOFF_MAX 300

struct ab_listing {
  ab_listing_entry *e;
  size_t n, cap;
  ab_strmap *by_id;    /* id -> index */
  ab_strmap *flat;     /* fold(name) -> index, shown entries */
  ab_strmap *grouped;  /* dir "/" fold(gname) -> index, shown entries */
  size_t shown, pending;
};

ab_listing *ab_listing_new(void) {
  ab_listing *l = calloc(1, sizeof(*l));
  if (l == NULL) {
    return NULL;
  }
  l->by_id = ab_strmap_new();
  l->flat = ab_strmap_new();
  l->grouped = ab_strmap_new();
  if (l->by_id == NULL || l->flat == NULL || l->grouped == NULL) {
    ab_listing_free(l);
    return NULL;
  }
  return l;
}

static void entry_free(ab_listing_entry *e) {
  free(e->name);
  free(e->gname);
  free(e->dir);
  free(e->file_name);
  free(e->sender);
}

void ab_listing_free(ab_listing *l) {
  if (l == NULL) {
    return;
  }
  for (size_t i = 0; i < l->n; i++) {
    entry_free(&l->e[i]);
  }
  free(l->e);
  ab_strmap_free(l->by_id);
  ab_strmap_free(l->flat);
  ab_strmap_free(l->grouped);
  free(l);
}

size_t ab_listing_size(const ab_listing *l) {
  return l->n;
}

const ab_listing_entry *ab_listing_at(const ab_listing *l, size_t i) {
  return i < l->n ? &l->e[i] : NULL;
}

size_t ab_listing_shown(const ab_listing *l) {
  return l->shown;
}

size_t ab_listing_pending(const ab_listing *l) {
  return l->pending;
}

static ab_listing_entry *by_id(const ab_listing *l, const char *id) {
  size_t i;
  return ab_strmap_get(l->by_id, id, &i) ? &l->e[i] : NULL;
}

const ab_listing_entry *ab_listing_find_id(const ab_listing *l, const char *id) {
  return by_id(l, id);
}

/* The key of a grouped name: "<dir>/<fold(name)>" ('/' never occurs in
 * a sanitized name or directory). */
static void group_key(const char *dir, const char *name, char *out, size_t outsz) {
  char fold[512];
  ab_name_fold(name, fold, sizeof(fold));
  snprintf(out, outsz, "%s/%s", dir ? dir : "", fold);
}

const ab_listing_entry *ab_listing_find_name(const ab_listing *l, const char *dir,
                                             const char *name) {
  char key[1024];
  size_t i;
  if (dir == NULL) {
    ab_name_fold(name, key, sizeof(key));
    if (!ab_strmap_get(l->flat, key, &i) || strcmp(l->e[i].name, name) != 0) {
      return NULL;
    }
  } else {
    group_key(dir, name, key, sizeof(key));
    if (!ab_strmap_get(l->grouped, key, &i) || strcmp(l->e[i].gname, name) != 0) {
      return NULL;
    }
  }
  return &l->e[i];
}

void ab_listing_sender_dir(const char *sender, char *out, size_t outsz) {
  static const char urn[] = "urn:altinn:organization:identifier-no:";
  const char *digits = NULL;
  if (sender != NULL && strncmp(sender, "0192:", 5) == 0) {
    digits = sender + 5;
  } else if (sender != NULL && strncmp(sender, urn, sizeof(urn) - 1) == 0) {
    digits = sender + sizeof(urn) - 1;
  }
  if (digits != NULL && strlen(digits) == 9 && strspn(digits, "0123456789") == 9) {
    snprintf(out, outsz, "%s", digits);
    return;
  }
  ab_name_sanitize(sender != NULL && *sender ? sender : "unknown-sender", out, outsz);
}

static ab_listing_entry *add(ab_listing *l, const char *id) {
  if (l->n == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 64;
    ab_listing_entry *ne = realloc(l->e, ncap * sizeof(*ne));
    if (ne == NULL) {
      return NULL;
    }
    l->e = ne;
    l->cap = ncap;
  }
  ab_listing_entry *e = &l->e[l->n];
  memset(e, 0, sizeof(*e));
  memcpy(e->id, id, AB_ID_LEN);
  if (ab_strmap_put(l->by_id, id, l->n) < 0) {
    return NULL;
  }
  l->n++;
  return e;
}

/* Candidate k for a name: the base, then with 8, 12 and 36 id chars, then
 * with the whole id and a counter (only if a sender crafted names that
 * contain another transfer's id). */
static void candidate(const char *base, const char *id, int k, char *out, size_t outsz) {
  static const size_t lens[] = { 0, 8, 12, 36 };
  if (k == 0) {
    snprintf(out, outsz, "%s", base);
  } else if (k < 4) {
    ab_name_with_id(base, id, lens[k], out, outsz);
  } else {
    char tagged[AB_ID_LEN + 16];
    snprintf(tagged, sizeof(tagged), "%s-%d", id, k - 2);
    ab_name_with_id(base, tagged, sizeof(tagged), out, outsz);
  }
}

#define MAX_CANDIDATES 64

/* 1 when name is one of the names the rule can give a transfer with this
 * base and id. */
static int is_candidate(const char *base, const char *id, const char *name) {
  char c[300];
  for (int k = 0; k < MAX_CANDIDATES; k++) {
    candidate(base, id, k, c, sizeof(c));
    if (strcmp(c, name) == 0) {
      return 1;
    }
  }
  return 0;
}

/* Gives entry i free names in both views and indexes them. */
static int assign_names(ab_listing *l, size_t i) {
  ab_listing_entry *e = &l->e[i];
  char name[300], key[1024];
  const char *base = e->file_name ? e->file_name : "unnamed";
  for (int k = 0;; k++) {
    candidate(base, e->id, k, name, sizeof(name));
    ab_name_fold(name, key, sizeof(key));
    if (!ab_strmap_get(l->flat, key, NULL)) {
      break;
    }
  }
  free(e->name);
  e->name = strdup(name);
  if (e->name == NULL || ab_strmap_put(l->flat, key, i) < 0) {
    return -1;
  }
  for (int k = 0;; k++) {
    candidate(base, e->id, k, name, sizeof(name));
    group_key(e->dir, name, key, sizeof(key));
    if (!ab_strmap_get(l->grouped, key, NULL)) {
      break;
    }
  }
  free(e->gname);
  e->gname = strdup(name);
  if (e->gname == NULL || ab_strmap_put(l->grouped, key, i) < 0) {
    return -1;
  }
  return 0;
}

/* Takes entry i's names out of the name indexes. */
static void unshow(ab_listing *l, ab_listing_entry *e) {
  if (!e->shown) {
    return;
  }
  char key[1024];
  ab_name_fold(e->name, key, sizeof(key));
  ab_strmap_del(l->flat, key);
  group_key(e->dir, e->gname, key, sizeof(key));
  ab_strmap_del(l->grouped, key);
  e->shown = 0;
  l->shown--;
}

static void set_state(ab_listing *l, ab_listing_entry *e, ab_entry_state st) {
  if (e->state == AB_ENTRY_PENDING) l->pending--;
  if (st == AB_ENTRY_PENDING) l->pending++;
  e->state = st;
}

int ab_listing_hint(ab_listing *l, const char *id, int recheck, time_t now) {
  if (!ab_broker_valid_id(id)) {
    return -1;
  }
  ab_listing_entry *e = by_id(l, id);
  if (e == NULL) {
    e = add(l, id);
    if (e == NULL) {
      return -1;
    }
    l->pending++;
    e->state = AB_ENTRY_PENDING;
    e->next_check = now;
    return 1;
  }
  if (e->state == AB_ENTRY_PENDING) {
    return 1;
  }
  if (e->state == AB_ENTRY_LISTED && recheck) {
    set_state(l, e, AB_ENTRY_PENDING);
    e->next_check = now;
    e->tries = 0;
    return 1;
  }
  return 0;
}

const char *ab_listing_next_pending(const ab_listing *l, time_t now) {
  if (l->pending == 0) {
    return NULL;
  }
  const ab_listing_entry *first = NULL;
  for (size_t i = 0; i < l->n; i++) {
    const ab_listing_entry *e = &l->e[i];
    if (e->state != AB_ENTRY_PENDING || e->next_check > now) {
      continue;
    }
    if (e->shown) {
      return e->id;
    }
    if (first == NULL) {
      first = e;
    }
  }
  return first ? first->id : NULL;
}

time_t ab_listing_next_check(const ab_listing *l) {
  time_t first = 0;
  int any = 0;
  for (size_t i = 0; l->pending > 0 && i < l->n; i++) {
    const ab_listing_entry *e = &l->e[i];
    if (e->state == AB_ENTRY_PENDING && (!any || e->next_check < first)) {
      first = e->next_check > 0 ? e->next_check : 1;
      any = 1;
    }
  }
  return first;
}

static time_t tombstone_until(time_t expires, time_t now) {
  if (expires > now + TOMBSTONE_SECONDS) {
    return expires < now + TOMBSTONE_MAX_SECONDS ? expires : now + TOMBSTONE_MAX_SECONDS;
  }
  return now + TOMBSTONE_SECONDS;
}

static int make_gone(ab_listing *l, ab_listing_entry *e, ab_gone_reason reason, time_t now) {
  unshow(l, e);
  set_state(l, e, AB_ENTRY_GONE);
  e->reason = reason;
  e->until = tombstone_until(e->expires, now);
  e->tries = 0;
  return 0;
}

int ab_listing_gone(ab_listing *l, const char *id, ab_gone_reason reason, time_t now) {
  if (!ab_broker_valid_id(id)) {
    return -1;
  }
  ab_listing_entry *e = by_id(l, id);
  if (e == NULL) {
    e = add(l, id);
    if (e == NULL) {
      return -1;
    }
    e->state = AB_ENTRY_GONE;
    e->reason = reason;
    e->until = tombstone_until(0, now);
    return 0;
  }
  return make_gone(l, e, reason, now);
}

/* Our own recipient status, or NULL when we are not a recipient. The
 * Broker stores recipients as "0192:<org>"; compare the organisation
 * number so a URN form matches too. */
static const char *our_status(const ab_transfer *t, const char *us) {
  const char *org = strrchr(us, ':') ? strrchr(us, ':') + 1 : us;
  for (size_t i = 0; i < t->n_recipients; i++) {
    const char *r = t->recipients[i].recipient;
    const char *rorg = strrchr(r, ':') ? strrchr(r, ':') + 1 : r;
    if (strcmp(rorg, org) == 0) {
      return t->recipients[i].status;
    }
  }
  return NULL;
}

static int replace_str(char **slot, const char *value) {
  char *copy = strdup(value ? value : "");
  if (copy == NULL) {
    return -1;
  }
  free(*slot);
  *slot = copy;
  return 0;
}

int ab_listing_apply_overview(ab_listing *l, const ab_transfer *t, const char *us,
                              const char *resource_id, time_t now) {
  ab_listing_entry *e = by_id(l, t->id);
  if (e == NULL) {
    if (ab_listing_hint(l, t->id, 0, now) < 0) {
      return -1;
    }
    e = by_id(l, t->id);
  }
  e->expires = t->expires;
  const char *mine = our_status(t, us);
  if (mine == NULL || (resource_id != NULL && strcmp(t->resource_id, resource_id) != 0)) {
    return make_gone(l, e, AB_GONE_NOT_OURS, now);
  }
  if (strcmp(mine, "DownloadConfirmed") == 0 || strcmp(t->status, "AllConfirmedDownloaded") == 0) {
    return make_gone(l, e, AB_GONE_CONFIRMED, now);
  }
  if (strcmp(t->status, "Published") != 0) {
    if (strcmp(t->status, "Initialized") == 0 || strcmp(t->status, "UploadStarted") == 0 ||
        strcmp(t->status, "UploadProcessing") == 0) {
      /* Not ready yet: its published event (or a later sweep) brings it
       * back; until then it is neither shown nor a tombstone. */
      unshow(l, e);
      set_state(l, e, AB_ENTRY_PENDING);
      e->next_check = now + BACKOFF_MAX;
      return 0;
    }
    return make_gone(l, e, AB_GONE_PURGED, now);
  }
  char base[256], dir[256];
  ab_name_sanitize(t->file_name, base, sizeof(base));
  ab_listing_sender_dir(t->sender, dir, sizeof(dir));
  e->size = t->size;
  e->published_us = t->published_us ? t->published_us : (long long) t->published * 1000000LL;
  if (e->published_us == 0) {
    e->published_us = (long long) t->created * 1000000LL;
  }
  e->tries = 0;
  set_state(l, e, AB_ENTRY_LISTED);
  if (e->shown) {
    return 0;               /* keeps its names while it stays listed */
  }
  if (replace_str(&e->file_name, base) < 0 || replace_str(&e->dir, dir) < 0 ||
      replace_str(&e->sender, t->sender) < 0 || assign_names(l, (size_t) (e - l->e)) < 0) {
    return -1;
  }
  e->shown = 1;
  e->listed_at = now;
  l->shown++;
  return 0;
}

void ab_listing_overview_failed(ab_listing *l, const char *id, const ab_error *err,
                                time_t now) {
  ab_listing_entry *e = by_id(l, id);
  if (e == NULL || e->state != AB_ENTRY_PENDING) {
    return;
  }
  if (err->http_status == 404 ||
      ((err->http_status == 401 || err->http_status == 403) && err->code[0] != '\0')) {
    make_gone(l, e, err->http_status == 404 ? AB_GONE_PURGED : AB_GONE_NOT_OURS, now);
    return;
  }
  long delay = BACKOFF_FIRST;
  for (int i = 0; i < e->tries && delay < BACKOFF_MAX; i++) {
    delay *= 2;
  }
  e->tries++;
  e->tried = now;
  e->next_check = now + (delay < BACKOFF_MAX ? delay : BACKOFF_MAX);
}

void ab_listing_retry_failed(ab_listing *l, time_t now, time_t min_age) {
  for (size_t i = 0; l->pending > 0 && i < l->n; i++) {
    ab_listing_entry *e = &l->e[i];
    if (e->state == AB_ENTRY_PENDING && e->tries > 0 && e->next_check > now &&
        now - e->tried >= min_age) {
      e->next_check = now;
    }
  }
}

void ab_listing_mark_seen(ab_listing *l, const char *id, unsigned sweep) {
  ab_listing_entry *e = by_id(l, id);
  if (e != NULL) {
    e->sweep = sweep;
  }
}

size_t ab_listing_recheck_unseen(ab_listing *l, unsigned sweep, time_t started, time_t now) {
  size_t n = 0;
  for (size_t i = 0; i < l->n; i++) {
    ab_listing_entry *e = &l->e[i];
    if (e->state == AB_ENTRY_LISTED && e->sweep != sweep && e->listed_at < started) {
      ab_listing_hint(l, e->id, 1, now);
      n++;
    }
  }
  return n;
}

/* Drops tombstones that expired and rebuilds the indexes. */
static void compact(ab_listing *l, time_t now) {
  size_t o = 0;
  for (size_t i = 0; i < l->n; i++) {
    ab_listing_entry *e = &l->e[i];
    if (e->state == AB_ENTRY_GONE && e->until <= now) {
      entry_free(e);
      continue;
    }
    l->e[o++] = *e;
  }
  if (o == l->n) {
    return;
  }
  l->n = o;
  ab_strmap_clear(l->by_id);
  ab_strmap_clear(l->flat);
  ab_strmap_clear(l->grouped);
  char key[1024];
  for (size_t i = 0; i < l->n; i++) {
    ab_listing_entry *e = &l->e[i];
    ab_strmap_put(l->by_id, e->id, i);
    if (e->shown) {
      ab_name_fold(e->name, key, sizeof(key));
      ab_strmap_put(l->flat, key, i);
      group_key(e->dir, e->gname, key, sizeof(key));
      ab_strmap_put(l->grouped, key, i);
    }
  }
}

void ab_listing_expire(ab_listing *l, time_t now) {
  for (size_t i = 0; i < l->n; i++) {
    ab_listing_entry *e = &l->e[i];
    if (e->state == AB_ENTRY_LISTED && e->expires != 0 && e->expires <= now) {
      ab_listing_hint(l, e->id, 1, now);
    }
  }
  compact(l, now);
}

long long ab_listing_newest_published(const ab_listing *l) {
  long long newest = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (l->e[i].published_us > newest) {
      newest = l->e[i].published_us;
    }
  }
  return newest;
}

/* ---- persistence ---- */

static int add_str(cJSON *o, const char *k, const char *v) {
  return v == NULL || cJSON_AddStringToObject(o, k, v) != NULL;
}

cJSON *ab_listing_to_json(const ab_listing *l) {
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; arr != NULL && i < l->n; i++) {
    const ab_listing_entry *e = &l->e[i];
    cJSON *o = cJSON_CreateObject();
    int ok = o != NULL && cJSON_AddItemToArray(arr, o) &&
             add_str(o, "id", e->id) &&
             cJSON_AddNumberToObject(o, "state", e->state) &&
             cJSON_AddNumberToObject(o, "shown", e->shown) &&
             add_str(o, "name", e->name) && add_str(o, "gname", e->gname) &&
             add_str(o, "dir", e->dir) && add_str(o, "file", e->file_name) &&
             add_str(o, "sender", e->sender) &&
             cJSON_AddNumberToObject(o, "size", (double) e->size) &&
             cJSON_AddNumberToObject(o, "pub", (double) e->published_us) &&
             cJSON_AddNumberToObject(o, "exp", (double) e->expires) &&
             cJSON_AddNumberToObject(o, "sweep", e->sweep) &&
             cJSON_AddNumberToObject(o, "listed", (double) e->listed_at);
    if (ok && e->state == AB_ENTRY_GONE) {
      ok = cJSON_AddNumberToObject(o, "reason", e->reason) &&
           cJSON_AddNumberToObject(o, "until", (double) e->until);
    }
    if (ok && e->state == AB_ENTRY_PENDING) {
      ok = cJSON_AddNumberToObject(o, "next", (double) e->next_check) &&
           cJSON_AddNumberToObject(o, "tries", e->tries) &&
           cJSON_AddNumberToObject(o, "tried", (double) e->tried);
    }
    if (!ok) {
      cJSON_Delete(arr);
      return NULL;
    }
  }
  return arr;
}

static long long num(const cJSON *o, const char *k) {
  long long v = 0;
  return ab_json_get_int64(o, k, &v) ? v : 0;
}

static int dup_field(const cJSON *o, const char *k, char **out) {
  char buf[512];
  if (!ab_json_copy_string(o, k, buf, sizeof(buf))) {
    return 0;
  }
  *out = strdup(buf);
  return *out == NULL ? -1 : 0;
}

ab_listing *ab_listing_from_json(const cJSON *arr) {
  ab_listing *l = ab_listing_new();
  const cJSON *o = NULL;
  cJSON_ArrayForEach(o, arr) {
    if (l == NULL) {
      break;
    }
    char id[64] = "";
    ab_json_copy_string(o, "id", id, sizeof(id));
    long long st = num(o, "state");
    if (!ab_broker_valid_id(id) || by_id(l, id) != NULL || st < 0 || st > 2) {
      continue;                          /* malformed or duplicate */
    }
    ab_listing_entry *e = add(l, id);
    if (e == NULL) {
      ab_listing_free(l);
      return NULL;
    }
    e->state = (ab_entry_state) st;
    e->size = num(o, "size");
    e->published_us = num(o, "pub");
    e->expires = (time_t) num(o, "exp");
    e->sweep = (unsigned) num(o, "sweep");
    e->listed_at = (time_t) num(o, "listed");
    e->reason = (ab_gone_reason) num(o, "reason");
    e->until = (time_t) num(o, "until");
    e->next_check = (time_t) num(o, "next");
    e->tries = (int) num(o, "tries");
    e->tried = (time_t) num(o, "tried");
    if (e->state == AB_ENTRY_PENDING) {
      l->pending++;
    }
    if (dup_field(o, "file", &e->file_name) < 0 || dup_field(o, "dir", &e->dir) < 0 ||
        dup_field(o, "sender", &e->sender) < 0 || dup_field(o, "name", &e->name) < 0 ||
        dup_field(o, "gname", &e->gname) < 0) {
      ab_listing_free(l);
      return NULL;
    }
    if (num(o, "shown") == 0 || e->state == AB_ENTRY_GONE || e->file_name == NULL ||
        e->name == NULL || e->gname == NULL || e->dir == NULL) {
      continue;
    }
    /* The file is ours, but names that are not what the rules produce
     * (edited, or from an older version) are given again. */
    char safe[256], dir[256], key[1024], gkey[1024];
    ab_name_sanitize(e->file_name, safe, sizeof(safe));
    ab_listing_sender_dir(e->sender, dir, sizeof(dir));
    ab_name_fold(e->name, key, sizeof(key));
    group_key(e->dir, e->gname, gkey, sizeof(gkey));
    size_t i = (size_t) (e - l->e);
    int ok = strcmp(safe, e->file_name) == 0 && strcmp(dir, e->dir) == 0 &&
             is_candidate(safe, e->id, e->name) && is_candidate(safe, e->id, e->gname) &&
             !ab_strmap_get(l->flat, key, NULL) && !ab_strmap_get(l->grouped, gkey, NULL);
    if (ok) {
      if (ab_strmap_put(l->flat, key, i) < 0 || ab_strmap_put(l->grouped, gkey, i) < 0) {
        ab_listing_free(l);
        return NULL;
      }
    } else if (replace_str(&e->file_name, safe) < 0 || replace_str(&e->dir, dir) < 0 ||
               assign_names(l, i) < 0) {
      ab_listing_free(l);
      return NULL;
    }
    e->shown = 1;
    l->shown++;
  }
  return l;
}
