/* ab_store.h - the key/value store behind the gateway's shared state.
 *
 * What sessions race on (the token cache and its refresh lock, the Broker
 * rate budget, "read whole" markers, confirm claims, the upload journal,
 * the shared listing) is kept in one store with a handful of atomic
 * operations. Two backends implement it:
 *
 *   local  (ab_store_local.c)  in the memory of one process (the gateway's
 *          agent), persisted to files in the state directory so it survives
 *          a restart. The default for a single gateway.
 *   redis  (ab_store_redis.c)  a Redis server shared by several gateway
 *          nodes (AltinnBrokerRedis), keys under a per-cluster prefix.
 *
 * Rules every backend follows:
 *  1. Keys and values are NUL-terminated text (values are JSON or short
 *     tokens); keys are at most AB_STORE_KEY_MAX bytes of printable ASCII
 *     without spaces.
 *  2. ttl_ms > 0 makes an entry expire that many milliseconds after it was
 *     written; 0 means it never expires. Expiry is judged by the store's own
 *     clock (the Redis server's for redis), so nodes with skewed clocks agree.
 *  3. Every operation is atomic with respect to every other caller of the
 *     same store (all threads, all processes, all nodes).
 *  4. Operations return -1 with err set when the store cannot be reached;
 *     err->err_no is EAGAIN then, so callers can tell "store down" from
 *     "not there" and degrade.
 *  5. A store may be used from several threads at once.
 */
#ifndef AB_STORE_H
#define AB_STORE_H

#include <stddef.h>

#include "ab_error.h"

#define AB_STORE_KEY_MAX 200

typedef struct ab_store ab_store;

typedef struct ab_store_ops {
  const char *name; /* "local" or "redis", for log lines */
  /* 1 with *value malloc'ed when the key holds a string, 0 when absent.
   * ttl_ms (may be NULL) receives the milliseconds left before it expires
   * (0 = never): how long a cached token may still be used, skew-free. */
  int (*get)(ab_store *s, const char *key, char **value, long long *ttl_ms,
             ab_error *err);
  /* Sets (replaces) key. */
  int (*set)(ab_store *s, const char *key, const char *value, long long ttl_ms,
             ab_error *err);
  /* Sets key only if absent: 1 set, 0 it existed (claims and locks). */
  int (*set_nx)(ab_store *s, const char *key, const char *value, long long ttl_ms,
                ab_error *err);
  /* Adds delta to the integer in key (absent = 0) and stores the result in
   * *out; ttl_ms applies when the key is created by this call. */
  int (*incr)(ab_store *s, const char *key, long long delta, long long ttl_ms,
              long long *out, ab_error *err);
  /* Deletes key: 1 deleted, 0 absent. With expect != NULL only when the key
   * holds exactly that value (releasing a lock only its holder owns). */
  int (*del)(ab_store *s, const char *key, const char *expect, ab_error *err);
  /* Sliding-window rate limit: 1 when fewer than `limit` takes happened
   * under key within the last window_ms (and records this one), 0 when not,
   * with *retry_ms = how long until the oldest take leaves the window. */
  int (*rate_take)(ab_store *s, const char *key, int limit, long long window_ms,
                   long long *retry_ms, ab_error *err);
  /* Appends value to the list in key, keeping the newest max_len items;
   * ttl_ms (0 = none) is renewed on every push. */
  int (*list_push)(ab_store *s, const char *key, const char *value, size_t max_len,
                   long long ttl_ms, ab_error *err);
  /* The newest `max` items, newest first, as a malloc'ed array of malloc'ed
   * strings (free with ab_store_free_list). */
  int (*list_range)(ab_store *s, const char *key, size_t max, char ***items,
                    size_t *n, ab_error *err);
  /* Counts live members of a group: records `member` as alive for ttl_ms
   * and returns how many members were recorded within their ttl (used to
   * learn how many gateway nodes share the store). */
  int (*members)(ab_store *s, const char *key, const char *member, long long ttl_ms,
                 ab_error *err);
  void (*close)(ab_store *s);
} ab_store_ops;

struct ab_store {
  const ab_store_ops *ops;
};

/* Opens the embedded store persisted in dir (created 0700 if missing; must
 * be owned by the caller and not accessible by others). dir NULL: memory
 * only (a degraded session, tests). Takes an exclusive lock on dir, so
 * exactly one process owns it at a time: EWOULDBLOCK when another does. */
ab_store *ab_store_local_open(const char *dir, ab_error *err);

/* Rewrites the local store's files as one snapshot (drops expired and
 * superseded records). No-op for a memory-only store. */
int ab_store_local_compact(ab_store *s, ab_error *err);

typedef struct ab_store_redis_options {
  const char *host;        /* name or address */
  int port;
  const char *prefix;      /* prepended to every key, e.g. "altinn-broker:prod:" */
  const char *user;        /* ACL user for AUTH, or NULL (password only) */
  const char *password;    /* NULL: no AUTH */
  int tls;                 /* 1: TLS, verifying the server against ca_pem */
  const char *ca_pem;      /* CA bytes (NULL: system trust store) */
  size_t ca_pem_len;
  int timeout_ms;          /* connect and per-command timeout */
} ab_store_redis_options;

/* Creates the Redis store. It connects lazily and reconnects on demand, so
 * opening succeeds even when Redis is down (operations then fail with
 * EAGAIN, rule 4). */
ab_store *ab_store_redis_open(const ab_store_redis_options *opts, ab_error *err);

/* Frees an item list from list_range. */
void ab_store_free_list(char **items, size_t n);

/* 1 when key is acceptable under rule 1. */
int ab_store_key_ok(const char *key);

static inline void ab_store_close(ab_store *s) {
  if (s != NULL) {
    s->ops->close(s);
  }
}

#endif
