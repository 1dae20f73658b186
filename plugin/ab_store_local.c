/* ab_store_local.c - the embedded store (see ab_store.h): a hash table in
 * the memory of the process that owns the state directory (the gateway's
 * agent, or the admin CLI when no agent runs), made durable with two files:
 *
 *   store.snap  every live entry, written to store.snap.tmp and renamed over
 *               the old one (a crash leaves the old or the new, never half);
 *   store.log   every change since the snapshot, appended one line each, so
 *               a killed agent loses nothing the kernel has accepted.
 *
 * Both hold lines "<op>\t<key>\t<fields...>" with values in base64url (no
 * tab or newline can break a line). Opening replays snap then log and
 * compacts; the log is compacted again whenever it outgrows the snapshot.
 * store.lock is held with flock(LOCK_EX) by the owner for its lifetime.
 */
#include "ab_store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ab_base64.h"

/* Compact when the log exceeds this and twice the snapshot. */
#define LOG_COMPACT_BYTES (4 * 1024 * 1024)

typedef enum { E_STR = 1, E_LIST, E_RATE, E_MEMBERS } entry_kind;

typedef struct member {
  char *name;
  long long until_ms;
} member;

typedef struct entry {
  char *key;
  entry_kind kind;
  long long expires_ms;   /* 0 = never */
  char *value;            /* E_STR */
  char **items;           /* E_LIST: oldest first */
  size_t n_items;
  long long *stamps;      /* E_RATE: take times, oldest first */
  size_t n_stamps;
  member *members;        /* E_MEMBERS */
  size_t n_members;
  struct entry *next;
} entry;

typedef struct local_store {
  ab_store base;
  pthread_mutex_t mu;
  entry **buckets;
  size_t n_buckets, n_entries;
  int dirfd, lockfd, logfd;   /* -1 for a memory-only store */
  long long log_bytes, snap_bytes;
  int replaying;              /* while loading: do not append to the log */
} local_store;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ab_store_key_ok(const char *key) {
  size_t n = strlen(key);
  if (n == 0 || n > AB_STORE_KEY_MAX) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (key[i] <= ' ' || key[i] > '~') {
      return 0;
    }
  }
  return 1;
}

void ab_store_free_list(char **items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i]);
  }
  free(items);
}

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++) {
    h = (h ^ (unsigned char) *s) * 1099511628211ULL;
  }
  return h;
}

static void entry_free(entry *e) {
  free(e->key);
  free(e->value);
  ab_store_free_list(e->items, e->n_items);
  free(e->stamps);
  for (size_t i = 0; i < e->n_members; i++) {
    free(e->members[i].name);
  }
  free(e->members);
  free(e);
}

/* Unlinks and frees the entry for key, if any. */
static void drop(local_store *s, const char *key) {
  entry **pp = &s->buckets[hash(key) % s->n_buckets];
  for (; *pp != NULL; pp = &(*pp)->next) {
    if (strcmp((*pp)->key, key) == 0) {
      entry *e = *pp;
      *pp = e->next;
      entry_free(e);
      s->n_entries--;
      return;
    }
  }
}

/* The live entry for key (expired ones are dropped on the way). */
static entry *find(local_store *s, const char *key, long long now) {
  for (entry *e = s->buckets[hash(key) % s->n_buckets]; e != NULL; e = e->next) {
    if (strcmp(e->key, key) == 0) {
      if (e->expires_ms != 0 && e->expires_ms <= now) {
        drop(s, key);
        return NULL;
      }
      return e;
    }
  }
  return NULL;
}

static int grow(local_store *s) {
  size_t n = s->n_buckets * 2;
  entry **b = calloc(n, sizeof(*b));
  if (b == NULL) {
    return -1;
  }
  for (size_t i = 0; i < s->n_buckets; i++) {
    for (entry *e = s->buckets[i], *next; e != NULL; e = next) {
      next = e->next;
      size_t j = hash(e->key) % n;
      e->next = b[j];
      b[j] = e;
    }
  }
  free(s->buckets);
  s->buckets = b;
  s->n_buckets = n;
  return 0;
}

/* A new empty entry of `kind` for key, replacing any existing one. */
static entry *create(local_store *s, const char *key, entry_kind kind) {
  drop(s, key);
  if (s->n_entries + 1 > s->n_buckets * 3 / 4 && grow(s) < 0) {
    return NULL;
  }
  entry *e = calloc(1, sizeof(*e));
  if (e == NULL || (e->key = strdup(key)) == NULL) {
    free(e);
    return NULL;
  }
  e->kind = kind;
  size_t j = hash(key) % s->n_buckets;
  e->next = s->buckets[j];
  s->buckets[j] = e;
  s->n_entries++;
  return e;
}

/* --- persistence ------------------------------------------------------ */

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return -1;
    }
    buf += n;
    len -= (size_t) n;
  }
  return 0;
}

/* Formats one record line; value (may be NULL) is base64url-encoded. */
static char *record(const char *op, const char *key, long long a, long long b,
                    const char *value) {
  char *enc = NULL;
  if (value != NULL && (enc = ab_base64url_encode(value, strlen(value))) == NULL) {
    return NULL;
  }
  char *line = NULL;
  int n = asprintf(&line, "%s\t%s\t%lld\t%lld\t%s\n", op, key, a, b, enc ? enc : "");
  free(enc);
  return n < 0 ? NULL : line;
}

/* Appends a record to the log (nothing for a memory-only store). */
static int log_append(local_store *s, const char *op, const char *key, long long a,
                      long long b, const char *value, ab_error *err) {
  if (s->logfd < 0 || s->replaying) {
    return 0;
  }
  char *line = record(op, key, a, b, value);
  if (line == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t len = strlen(line);
  int rc = write_all(s->logfd, line, len);
  free(line);
  if (rc < 0) {
    return ab_error_set(err, EIO, "cannot write the state log store.log: %s", strerror(errno));
  }
  s->log_bytes += (long long) len;
  return 0;
}

static int compact_locked(local_store *s, ab_error *err);

/* After a change: compact when the log has outgrown the snapshot. */
static void maybe_compact(local_store *s) {
  if (s->logfd >= 0 && s->log_bytes > LOG_COMPACT_BYTES && s->log_bytes > 2 * s->snap_bytes) {
    ab_error ignored;
    compact_locked(s, &ignored);
  }
}

/* --- operations (callers hold s->mu) ---------------------------------- */

static int do_set(local_store *s, const char *key, const char *value, long long expires,
                  ab_error *err) {
  entry *e = create(s, key, E_STR);
  if (e == NULL || (e->value = strdup(value)) == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  e->expires_ms = expires;
  return log_append(s, "S", key, expires, 0, value, err);
}

static int do_push(local_store *s, const char *key, const char *value, size_t max_len,
                   long long expires, long long now, ab_error *err) {
  entry *e = find(s, key, now);
  if (e != NULL && e->kind != E_LIST) {
    e = NULL;
  }
  if (e == NULL && (e = create(s, key, E_LIST)) == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  char **grown = realloc(e->items, (e->n_items + 1) * sizeof(char *));
  char *copy = strdup(value);
  if (grown == NULL || copy == NULL) {
    if (grown != NULL) {
      e->items = grown;
    }
    free(copy);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  e->items = grown;
  e->items[e->n_items++] = copy;
  if (max_len > 0 && e->n_items > max_len) {
    size_t extra = e->n_items - max_len;
    for (size_t i = 0; i < extra; i++) {
      free(e->items[i]);
    }
    memmove(e->items, e->items + extra, max_len * sizeof(char *));
    e->n_items = max_len;
  }
  e->expires_ms = expires;
  return log_append(s, "L", key, expires, (long long) max_len, value, err);
}

static int do_rate(local_store *s, const char *key, int limit, long long window_ms,
                   long long now, long long *retry_ms, int record_take, ab_error *err) {
  entry *e = find(s, key, now);
  if (e != NULL && e->kind != E_RATE) {
    e = NULL;
  }
  if (e == NULL && (e = create(s, key, E_RATE)) == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t keep = 0;
  while (keep < e->n_stamps && e->stamps[keep] <= now - window_ms) {
    keep++;
  }
  if (keep > 0) { /* stamps is NULL while the window is empty */
    memmove(e->stamps, e->stamps + keep, (e->n_stamps - keep) * sizeof(long long));
    e->n_stamps -= keep;
  }
  if (record_take && limit > 0 && e->n_stamps >= (size_t) limit) {
    *retry_ms = e->stamps[e->n_stamps - (size_t) limit] + window_ms - now;
    if (*retry_ms < 1) {
      *retry_ms = 1;
    }
    return 0;
  }
  long long *grown = realloc(e->stamps, (e->n_stamps + 1) * sizeof(long long));
  if (grown == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  e->stamps = grown;
  e->stamps[e->n_stamps++] = now;
  e->expires_ms = now + window_ms;
  *retry_ms = 0;
  if (record_take && log_append(s, "R", key, now, window_ms, NULL, err) < 0) {
    return -1;
  }
  return 1;
}

/* Applies one persisted record while loading. */
static void replay_line(local_store *s, char *line, long long now) {
  char *f[5] = { 0 };
  int n = 0;
  for (char *p = line, *save = NULL, *t; n < 5; p = NULL) {
    t = strtok_r(p, "\t\n", &save);
    if (t == NULL) {
      break;
    }
    f[n++] = t;
  }
  if (n < 4 || !ab_store_key_ok(f[1])) {
    return; /* a torn last line after a crash: ignore it */
  }
  long long a = strtoll(f[2], NULL, 10);
  long long b = strtoll(f[3], NULL, 10);
  char *value = NULL;
  if (n == 5) {
    size_t len = 0;
    unsigned char *raw = ab_base64url_decode(f[4], strlen(f[4]), &len);
    if (raw == NULL) {
      return;
    }
    value = malloc(len + 1);
    if (value != NULL) {
      memcpy(value, raw, len);
      value[len] = '\0';
    }
    free(raw);
  }
  ab_error ignored;
  long long retry;
  if (strcmp(f[0], "S") == 0 && value != NULL) {
    if (a == 0 || a > now) {
      do_set(s, f[1], value, a, &ignored);
    } else {
      drop(s, f[1]);
    }
  } else if (strcmp(f[0], "L") == 0 && value != NULL) {
    do_push(s, f[1], value, (size_t) b, a, now, &ignored);
  } else if (strcmp(f[0], "R") == 0 && a > now - b) {
    do_rate(s, f[1], 0, b, a, &retry, 0, &ignored);
  } else if (strcmp(f[0], "D") == 0) {
    drop(s, f[1]);
  } else if (strcmp(f[0], "S") == 0 && n == 4) {
    do_set(s, f[1], "", a, &ignored); /* an empty string value */
  }
  free(value);
}

static void replay_file(local_store *s, const char *name, long long *bytes) {
  int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return;
  }
  FILE *f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long long now = now_ms();
  while ((len = getline(&line, &cap, f)) > 0) {
    *bytes += len;
    if (line[len - 1] == '\n') {
      replay_line(s, line, now);
    }
  }
  free(line);
  fclose(f);
}

/* Writes every live entry to store.snap (via a temporary file and rename)
 * and empties the log. */
static int compact_locked(local_store *s, ab_error *err) {
  if (s->dirfd < 0) {
    return 0;
  }
  int fd = openat(s->dirfd, "store.snap.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return ab_error_set(err, EIO, "cannot write store.snap.tmp: %s", strerror(errno));
  }
  long long now = now_ms();
  long long bytes = 0;
  int rc = 0;
  for (size_t i = 0; i < s->n_buckets && rc == 0; i++) {
    for (entry *e = s->buckets[i]; e != NULL && rc == 0; e = e->next) {
      if (e->expires_ms != 0 && e->expires_ms <= now) {
        continue;
      }
      for (size_t k = 0; rc == 0 && k < (e->kind == E_STR ? 1
                                         : e->kind == E_LIST ? e->n_items
                                         : e->kind == E_RATE ? e->n_stamps : 0); k++) {
        char *line = e->kind == E_STR ? record("S", e->key, e->expires_ms, 0, e->value)
                   : e->kind == E_LIST ? record("L", e->key, e->expires_ms, 0, e->items[k])
                   : record("R", e->key, e->stamps[k], e->expires_ms - e->stamps[e->n_stamps - 1], NULL);
        if (line == NULL) {
          rc = ab_error_set(err, ENOMEM, "out of memory");
          break;
        }
        size_t len = strlen(line);
        if (write_all(fd, line, len) < 0) {
          rc = ab_error_set(err, EIO, "cannot write store.snap.tmp: %s", strerror(errno));
        }
        bytes += (long long) len;
        free(line);
      }
    }
  }
  if (rc == 0 && fsync(fd) < 0) {
    rc = ab_error_set(err, EIO, "cannot sync store.snap.tmp: %s", strerror(errno));
  }
  close(fd);
  if (rc == 0 && renameat(s->dirfd, "store.snap.tmp", s->dirfd, "store.snap") < 0) {
    rc = ab_error_set(err, EIO, "cannot rename store.snap.tmp: %s", strerror(errno));
  }
  if (rc < 0) {
    unlinkat(s->dirfd, "store.snap.tmp", 0);
    return rc;
  }
  /* The snapshot now holds everything: start an empty log. */
  if (ftruncate(s->logfd, 0) < 0) {
    return ab_error_set(err, EIO, "cannot truncate store.log: %s", strerror(errno));
  }
  s->log_bytes = 0;
  s->snap_bytes = bytes;
  return 0;
}

/* --- the ops table ----------------------------------------------------- */

/* Runs the block with s->mu held. The block must not break or return. */
#define LOCKED(s) for (int once_ = (pthread_mutex_lock(&(s)->mu), 1); once_; \
                       once_ = (pthread_mutex_unlock(&(s)->mu), 0))

static int check_key(const char *key, ab_error *err) {
  return ab_store_key_ok(key) ? 0 : ab_error_set(err, EINVAL, "invalid store key");
}

static long long expiry(long long now, long long ttl_ms) {
  return ttl_ms > 0 ? now + ttl_ms : 0;
}

static int l_get(ab_store *st, const char *key, char **value, long long *ttl_ms,
                 ab_error *err) {
  local_store *s = (local_store *) st;
  int rc = 0;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    long long now = now_ms();
    entry *e = find(s, key, now);
    if (e != NULL && e->kind == E_STR) {
      if (ttl_ms != NULL) {
        *ttl_ms = e->expires_ms != 0 ? e->expires_ms - now : 0;
      }
      *value = strdup(e->value);
      rc = *value != NULL ? 1 : ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  return rc;
}

static int l_set(ab_store *st, const char *key, const char *value, long long ttl_ms,
                 ab_error *err) {
  local_store *s = (local_store *) st;
  int rc;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    rc = do_set(s, key, value, expiry(now_ms(), ttl_ms), err);
    maybe_compact(s);
  }
  return rc;
}

static int l_set_nx(ab_store *st, const char *key, const char *value, long long ttl_ms,
                    ab_error *err) {
  local_store *s = (local_store *) st;
  int rc = 0;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    long long now = now_ms();
    if (find(s, key, now) == NULL) {
      rc = do_set(s, key, value, expiry(now, ttl_ms), err) < 0 ? -1 : 1;
    }
  }
  return rc;
}

static int l_incr(ab_store *st, const char *key, long long delta, long long ttl_ms,
                  long long *out, ab_error *err) {
  local_store *s = (local_store *) st;
  int rc = 0;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    long long now = now_ms();
    entry *e = find(s, key, now);
    long long v = delta;
    long long exp = expiry(now, ttl_ms);
    if (e != NULL && e->kind == E_STR) {
      char *end = NULL;
      long long old = strtoll(e->value, &end, 10);
      if (*end != '\0' || end == e->value) {
        rc = ab_error_set(err, EINVAL, "store key does not hold an integer");
      }
      v = old + delta;
      exp = e->expires_ms;
    }
    if (rc == 0) {
      char buf[32];
      snprintf(buf, sizeof(buf), "%lld", v);
      rc = do_set(s, key, buf, exp, err);
      *out = v;
    }
  }
  return rc;
}

static int l_del(ab_store *st, const char *key, const char *expect, ab_error *err) {
  local_store *s = (local_store *) st;
  int rc = 0;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    entry *e = find(s, key, now_ms());
    if (e != NULL && (expect == NULL || (e->kind == E_STR && strcmp(e->value, expect) == 0))) {
      drop(s, key);
      rc = log_append(s, "D", key, 0, 0, NULL, err) < 0 ? -1 : 1;
    }
  }
  return rc;
}

static int l_rate_take(ab_store *st, const char *key, int limit, long long window_ms,
                       long long *retry_ms, ab_error *err) {
  local_store *s = (local_store *) st;
  int rc;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    rc = do_rate(s, key, limit, window_ms, now_ms(), retry_ms, 1, err);
  }
  return rc;
}

static int l_list_push(ab_store *st, const char *key, const char *value, size_t max_len,
                       long long ttl_ms, ab_error *err) {
  local_store *s = (local_store *) st;
  int rc;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    long long now = now_ms();
    rc = do_push(s, key, value, max_len, expiry(now, ttl_ms), now, err);
    maybe_compact(s);
  }
  return rc;
}

static int l_list_range(ab_store *st, const char *key, size_t max, char ***items,
                        size_t *n, ab_error *err) {
  local_store *s = (local_store *) st;
  int rc = 0;
  *items = NULL;
  *n = 0;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    entry *e = find(s, key, now_ms());
    size_t count = e != NULL && e->kind == E_LIST ? e->n_items : 0;
    if (count > max) {
      count = max;
    }
    char **out = calloc(count ? count : 1, sizeof(char *));
    if (out == NULL) {
      rc = ab_error_set(err, ENOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
      out[i] = strdup(e->items[e->n_items - 1 - i]);
      if (out[i] == NULL) {
        ab_store_free_list(out, i);
        out = NULL;
        rc = ab_error_set(err, ENOMEM, "out of memory");
      }
    }
    if (rc == 0) {
      *items = out;
      *n = count;
    }
  }
  return rc;
}

static int members_locked(local_store *s, const char *key, const char *member_name,
                          long long ttl_ms, ab_error *err) {
  long long now = now_ms();
  entry *e = find(s, key, now);
  if (e != NULL && e->kind != E_MEMBERS) {
    e = NULL;
  }
  if (e == NULL && (e = create(s, key, E_MEMBERS)) == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  size_t live = 0, found = 0;
  for (size_t i = 0; i < e->n_members; i++) {
    if (strcmp(e->members[i].name, member_name) == 0) {
      e->members[i].until_ms = now + ttl_ms;
      found = 1;
    }
    if (e->members[i].until_ms > now) {
      e->members[live++] = e->members[i];
    } else {
      free(e->members[i].name);
    }
  }
  e->n_members = live;
  if (!found) {
    member *grown = realloc(e->members, (live + 1) * sizeof(member));
    if (grown != NULL) {
      e->members = grown;
    }
    char *copy = grown != NULL ? strdup(member_name) : NULL;
    if (copy == NULL) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    e->members[live] = (member) { copy, now + ttl_ms };
    e->n_members++;
  }
  return (int) e->n_members;
}

static int l_members(ab_store *st, const char *key, const char *member_name,
                     long long ttl_ms, ab_error *err) {
  local_store *s = (local_store *) st;
  int rc;
  if (check_key(key, err) < 0) {
    return -1;
  }
  LOCKED(s) {
    rc = members_locked(s, key, member_name, ttl_ms, err);
  }
  return rc;
}

static void l_close(ab_store *st) {
  local_store *s = (local_store *) st;
  if (s == NULL) {
    return;
  }
  if (s->logfd >= 0) {
    ab_error ignored;
    pthread_mutex_lock(&s->mu);
    compact_locked(s, &ignored);
    pthread_mutex_unlock(&s->mu);
    close(s->logfd);
  }
  for (size_t i = 0; i < s->n_buckets; i++) {
    for (entry *e = s->buckets[i], *next; e != NULL; e = next) {
      next = e->next;
      entry_free(e);
    }
  }
  free(s->buckets);
  if (s->lockfd >= 0) {
    close(s->lockfd); /* releases the flock */
  }
  if (s->dirfd >= 0) {
    close(s->dirfd);
  }
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static const ab_store_ops local_ops = {
  .name = "local",
  .get = l_get,
  .set = l_set,
  .set_nx = l_set_nx,
  .incr = l_incr,
  .del = l_del,
  .rate_take = l_rate_take,
  .list_push = l_list_push,
  .list_range = l_list_range,
  .members = l_members,
  .close = l_close,
};

int ab_store_local_compact(ab_store *st, ab_error *err) {
  local_store *s = (local_store *) st;
  if (st == NULL || st->ops != &local_ops) {
    return 0;
  }
  pthread_mutex_lock(&s->mu);
  int rc = compact_locked(s, err);
  pthread_mutex_unlock(&s->mu);
  return rc;
}

/* Opens (creating 0700) the state directory and checks that nobody but its
 * owner, who must be us, can reach into it: it holds tokens. */
static int open_dir(const char *dir, ab_error *err) {
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
    return ab_error_set(err, errno, "cannot create state directory %s: %s", dir, strerror(errno));
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
    }
    return ab_error_set(err, e, "cannot open state directory %s: %s", dir, strerror(e));
  }
  if (st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
    close(fd);
    return ab_error_set(err, EACCES, "state directory %s must be owned by uid %u and closed to "
                        "others (it holds tokens): chown %u %s; chmod 700 %s", dir,
                        (unsigned) geteuid(), (unsigned) geteuid(), dir, dir);
  }
  return fd;
}

ab_store *ab_store_local_open(const char *dir, ab_error *err) {
  local_store *s = calloc(1, sizeof(*s));
  if (s == NULL || (s->buckets = calloc(64, sizeof(entry *))) == NULL) {
    free(s);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  s->base.ops = &local_ops;
  s->n_buckets = 64;
  s->dirfd = s->lockfd = s->logfd = -1;
  pthread_mutex_init(&s->mu, NULL);
  if (dir == NULL) {
    return &s->base;
  }
  if ((s->dirfd = open_dir(dir, err)) < 0) {
    l_close(&s->base);
    return NULL;
  }
  s->lockfd = openat(s->dirfd, "store.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (s->lockfd < 0) {
    ab_error_set(err, EIO, "cannot open %s/store.lock: %s", dir, strerror(errno));
    l_close(&s->base);
    return NULL;
  }
  if (flock(s->lockfd, LOCK_EX | LOCK_NB) < 0) {
    ab_error_set(err, EWOULDBLOCK, "the state in %s is in use by another process "
                 "(the gateway's agent, or another altinn-broker command)", dir);
    l_close(&s->base);
    return NULL;
  }
  s->replaying = 1;
  long long ignored_bytes = 0;
  replay_file(s, "store.snap", &ignored_bytes);
  replay_file(s, "store.log", &ignored_bytes);
  s->replaying = 0;
  s->logfd = openat(s->dirfd, "store.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (s->logfd < 0) {
    ab_error_set(err, EIO, "cannot open %s/store.log: %s", dir, strerror(errno));
    l_close(&s->base);
    return NULL;
  }
  if (compact_locked(s, err) < 0) {
    ab_error_prefix(err, "state directory %s", dir);
    l_close(&s->base);
    return NULL;
  }
  return &s->base;
}
