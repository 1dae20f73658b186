/* ab_store_redis.c - the store on a Redis server (see ab_store.h).
 *
 * Every operation is one command; the compound ones are Lua scripts (EVAL),
 * which Redis runs atomically. Time inside scripts is the server's (TIME),
 * so rate windows are the same for all nodes whatever their clocks say.
 * The connection is made lazily and remade after a failure, at most once
 * per RECONNECT_BACKOFF_MS: while Redis is down an operation fails at once
 * with EAGAIN instead of waiting for a connect timeout each time.
 */
#include "ab_store.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ab_redis.h"

#define RECONNECT_BACKOFF_MS 1000

typedef struct redis_store {
  ab_store base;
  pthread_mutex_t mu;
  ab_redis_options opts;
  char *host, *user, *password, *ca_pem, *prefix;
  ab_redis *conn;
  long long next_attempt_ms;
  char last_error[AB_ERROR_MSG_MAX];
  unsigned long long seq;  /* makes rate-window members unique */
} redis_store;

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs one command (argv[key_index] gets the prefix, when key_index >= 0).
 * Returns the reply, or NULL with err (EAGAIN when Redis is unreachable,
 * EIO for an error reply). Caller frees the reply. */
static redisReply *run(redis_store *s, int argc, const char **argv, int key_index,
                       ab_error *err) {
  char key[AB_STORE_KEY_MAX + 256];
  if (key_index >= 0) {
    if (!ab_store_key_ok(argv[key_index])) {
      ab_error_set(err, EINVAL, "invalid store key");
      return NULL;
    }
    snprintf(key, sizeof(key), "%s%s", s->prefix, argv[key_index]);
    argv[key_index] = key;
  }
  redisReply *rep = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->conn == NULL) {
    long long now = mono_ms();
    if (now < s->next_attempt_ms) {
      ab_error_set(err, EAGAIN, "%s", s->last_error);
    } else {
      s->conn = ab_redis_connect(&s->opts, err);
      if (s->conn == NULL) {
        s->next_attempt_ms = now + RECONNECT_BACKOFF_MS;
        snprintf(s->last_error, sizeof(s->last_error), "%s", err->message);
      }
    }
  }
  if (s->conn != NULL) {
    rep = ab_redis_command(s->conn, argc, argv, err);
    if (rep == NULL) {
      ab_redis_close(s->conn);
      s->conn = NULL;
      s->next_attempt_ms = mono_ms() + RECONNECT_BACKOFF_MS;
      snprintf(s->last_error, sizeof(s->last_error), "%s", err->message);
    }
  }
  pthread_mutex_unlock(&s->mu);
  if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
    /* LOADING (a restarted server reading its data) and failover states
     * are temporary: report them as "unavailable". */
    int temporary = strncmp(rep->str, "LOADING", 7) == 0 || strncmp(rep->str, "READONLY", 8) == 0 ||
                    strncmp(rep->str, "MASTERDOWN", 10) == 0 || strncmp(rep->str, "BUSY", 4) == 0;
    ab_error_set(err, temporary ? EAGAIN : EIO, "Redis %s:%d: %.200s", s->opts.host,
                 s->opts.port, rep->str);
    freeReplyObject(rep);
    return NULL;
  }
  return rep;
}

static void ms_text(char *buf, size_t n, long long v) {
  snprintf(buf, n, "%lld", v);
}

static const char get_lua[] =
  "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}\n";

static int r_get(ab_store *st, const char *key, char **value, long long *ttl_ms,
                 ab_error *err) {
  const char *argv[] = { "EVAL", get_lua, "1", key };
  redisReply *rep = run((redis_store *) st, 4, argv, 3, err);
  if (rep == NULL) {
    return -1;
  }
  int rc = 0;
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
      rep->element[0]->type == REDIS_REPLY_STRING) {
    *value = strndup(rep->element[0]->str, rep->element[0]->len);
    rc = *value != NULL ? 1 : ab_error_set(err, ENOMEM, "out of memory");
    if (ttl_ms != NULL) {
      long long pttl = rep->element[1]->type == REDIS_REPLY_INTEGER ? rep->element[1]->integer : -1;
      *ttl_ms = pttl > 0 ? pttl : 0;
    }
  } else if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
             rep->element[0]->type == REDIS_REPLY_ERROR) {
    rc = ab_error_set(err, EIO, "Redis: %.200s", rep->element[0]->str);
  }
  freeReplyObject(rep);
  return rc;
}

static int set_common(ab_store *st, const char *key, const char *value, long long ttl_ms,
                      int nx, ab_error *err) {
  char ttl[32];
  ms_text(ttl, sizeof(ttl), ttl_ms);
  const char *argv[6] = { "SET", key, value };
  int argc = 3;
  if (ttl_ms > 0) {
    argv[argc++] = "PX";
    argv[argc++] = ttl;
  }
  if (nx) {
    argv[argc++] = "NX";
  }
  redisReply *rep = run((redis_store *) st, argc, argv, 1, err);
  if (rep == NULL) {
    return -1;
  }
  int rc = rep->type == REDIS_REPLY_STATUS ? 1 : 0;
  freeReplyObject(rep);
  return nx ? rc : 0;
}

static int r_set(ab_store *st, const char *key, const char *value, long long ttl_ms,
                 ab_error *err) {
  return set_common(st, key, value, ttl_ms, 0, err);
}

static int r_set_nx(ab_store *st, const char *key, const char *value, long long ttl_ms,
                    ab_error *err) {
  return set_common(st, key, value, ttl_ms, 1, err);
}

static const char incr_lua[] =
  "local existed = redis.call('EXISTS', KEYS[1])\n"
  "local v = redis.call('INCRBY', KEYS[1], ARGV[1])\n"
  "if existed == 0 and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
  "return v\n";

static int r_incr(ab_store *st, const char *key, long long delta, long long ttl_ms,
                  long long *out, ab_error *err) {
  char d[32], ttl[32];
  ms_text(d, sizeof(d), delta);
  ms_text(ttl, sizeof(ttl), ttl_ms);
  const char *argv[] = { "EVAL", incr_lua, "1", key, d, ttl };
  redisReply *rep = run((redis_store *) st, 6, argv, 3, err);
  if (rep == NULL) {
    return -1;
  }
  int rc = rep->type == REDIS_REPLY_INTEGER ? 0 : ab_error_set(err, EIO, "Redis: INCRBY gave no integer");
  *out = rep->integer;
  freeReplyObject(rep);
  return rc;
}

static const char del_if_lua[] =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\n"
  "return 0\n";

static int r_del(ab_store *st, const char *key, const char *expect, ab_error *err) {
  redisReply *rep;
  if (expect == NULL) {
    const char *argv[] = { "DEL", key };
    rep = run((redis_store *) st, 2, argv, 1, err);
  } else {
    const char *argv[] = { "EVAL", del_if_lua, "1", key, expect };
    rep = run((redis_store *) st, 5, argv, 3, err);
  }
  if (rep == NULL) {
    return -1;
  }
  int rc = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 ? 1 : 0;
  freeReplyObject(rep);
  return rc;
}

/* A sorted set of take times (score = server ms); members are unique. */
static const char rate_lua[] =
  "local t = redis.call('TIME')\n"
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
  "local limit = tonumber(ARGV[1])\n"
  "local win = tonumber(ARGV[2])\n"
  "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)\n"
  "local n = redis.call('ZCARD', KEYS[1])\n"
  "if n >= limit then\n"
  "  local oldest = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')\n"
  "  return {0, tonumber(oldest[2]) + win - now}\n"
  "end\n"
  "redis.call('ZADD', KEYS[1], now, ARGV[3])\n"
  "redis.call('PEXPIRE', KEYS[1], win)\n"
  "return {1, 0}\n";

static int r_rate_take(ab_store *st, const char *key, int limit, long long window_ms,
                       long long *retry_ms, ab_error *err) {
  redis_store *s = (redis_store *) st;
  char lim[16], win[32], member[64];
  snprintf(lim, sizeof(lim), "%d", limit);
  ms_text(win, sizeof(win), window_ms);
  pthread_mutex_lock(&s->mu);
  unsigned long long seq = ++s->seq;
  pthread_mutex_unlock(&s->mu);
  snprintf(member, sizeof(member), "%ld.%p.%llu", (long) getpid(), (void *) s, seq);
  const char *argv[] = { "EVAL", rate_lua, "1", key, lim, win, member };
  redisReply *rep = run(s, 7, argv, 3, err);
  if (rep == NULL) {
    return -1;
  }
  int rc = -1;
  if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
      rep->element[0]->type == REDIS_REPLY_INTEGER && rep->element[1]->type == REDIS_REPLY_INTEGER) {
    rc = (int) rep->element[0]->integer;
    *retry_ms = rep->element[1]->integer > 0 ? rep->element[1]->integer : (rc ? 0 : 1);
  } else {
    ab_error_set(err, EIO, "Redis: unexpected reply to the rate script");
  }
  freeReplyObject(rep);
  return rc;
}

static const char push_lua[] =
  "redis.call('RPUSH', KEYS[1], ARGV[1])\n"
  "if tonumber(ARGV[2]) > 0 then redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1) end\n"
  "if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
  "else redis.call('PERSIST', KEYS[1]) end\n"
  "return 1\n";

static int r_list_push(ab_store *st, const char *key, const char *value, size_t max_len,
                       long long ttl_ms, ab_error *err) {
  char max[32], ttl[32];
  snprintf(max, sizeof(max), "%zu", max_len);
  ms_text(ttl, sizeof(ttl), ttl_ms);
  const char *argv[] = { "EVAL", push_lua, "1", key, value, max, ttl };
  redisReply *rep = run((redis_store *) st, 7, argv, 3, err);
  if (rep == NULL) {
    return -1;
  }
  freeReplyObject(rep);
  return 0;
}

static int r_list_range(ab_store *st, const char *key, size_t max, char ***items,
                        size_t *n, ab_error *err) {
  *items = NULL;
  *n = 0;
  if (max == 0) {
    return 0;
  }
  char start[32];
  snprintf(start, sizeof(start), "-%zu", max);
  const char *argv[] = { "LRANGE", key, start, "-1" };
  redisReply *rep = run((redis_store *) st, 4, argv, 1, err);
  if (rep == NULL) {
    return -1;
  }
  size_t count = rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0;
  char **out = calloc(count ? count : 1, sizeof(char *));
  int rc = out != NULL ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  for (size_t i = 0; rc == 0 && i < count; i++) {
    redisReply *el = rep->element[count - 1 - i]; /* newest first */
    out[i] = strndup(el->str ? el->str : "", el->str ? el->len : 0);
    if (out[i] == NULL) {
      ab_store_free_list(out, i);
      out = NULL;
      rc = ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  freeReplyObject(rep);
  if (rc == 0) {
    *items = out;
    *n = count;
  }
  return rc;
}

static const char members_lua[] =
  "local t = redis.call('TIME')\n"
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
  "redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])\n"
  "redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)\n"
  "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
  "return redis.call('ZCARD', KEYS[1])\n";

static int r_members(ab_store *st, const char *key, const char *member, long long ttl_ms,
                     ab_error *err) {
  char ttl[32];
  ms_text(ttl, sizeof(ttl), ttl_ms);
  const char *argv[] = { "EVAL", members_lua, "1", key, member, ttl };
  redisReply *rep = run((redis_store *) st, 6, argv, 3, err);
  if (rep == NULL) {
    return -1;
  }
  int rc = rep->type == REDIS_REPLY_INTEGER ? (int) rep->integer : 1;
  freeReplyObject(rep);
  return rc;
}

static void r_close(ab_store *st) {
  redis_store *s = (redis_store *) st;
  if (s == NULL) {
    return;
  }
  ab_redis_close(s->conn);
  free(s->host);
  free(s->user);
  if (s->password != NULL) {
    memset(s->password, 0, strlen(s->password));
    free(s->password);
  }
  free(s->ca_pem);
  free(s->prefix);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static const ab_store_ops redis_ops = {
  .name = "redis",
  .get = r_get,
  .set = r_set,
  .set_nx = r_set_nx,
  .incr = r_incr,
  .del = r_del,
  .rate_take = r_rate_take,
  .list_push = r_list_push,
  .list_range = r_list_range,
  .members = r_members,
  .close = r_close,
};

static int dup_opt(char **dst, const char *src) {
  if (src == NULL) {
    *dst = NULL;
    return 0;
  }
  *dst = strdup(src);
  return *dst == NULL ? -1 : 0;
}

ab_store *ab_store_redis_open(const ab_store_redis_options *o, ab_error *err) {
  redis_store *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  s->base.ops = &redis_ops;
  pthread_mutex_init(&s->mu, NULL);
  if (dup_opt(&s->host, o->host) < 0 || dup_opt(&s->user, o->user) < 0 ||
      dup_opt(&s->password, o->password) < 0 || dup_opt(&s->prefix, o->prefix ? o->prefix : "") < 0 ||
      (o->ca_pem != NULL && (s->ca_pem = malloc(o->ca_pem_len + 1)) == NULL)) {
    r_close(&s->base);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  if (s->ca_pem != NULL) {
    memcpy(s->ca_pem, o->ca_pem, o->ca_pem_len);
    s->ca_pem[o->ca_pem_len] = '\0';
  }
  s->opts = (ab_redis_options) {
    .host = s->host, .port = o->port, .user = s->user, .password = s->password,
    .tls = o->tls, .ca_pem = s->ca_pem, .ca_pem_len = o->ca_pem_len,
    .timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 1000,
  };
  return &s->base;
}
