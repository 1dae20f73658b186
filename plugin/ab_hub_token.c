/* ab_hub_token.c - one Altinn token per client and token lifetime, for
 * every session of every node sharing the store.
 *
 * Single flight at three levels: the client's mutex (threads of this
 * process wait for one fetch), the store's refresh lock (processes and
 * nodes wait for the holder, who writes the token into the store), and the
 * store entry's TTL, which is the token's own lifetime (exp - iat, so the
 * local clock's offset does not matter) minus ab_auth's margin. The TTL the store
 * reports is what a reader may still use the token for: no two clocks are
 * ever compared.
 */
#include "ab_hub_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ab_maskinporten.h"

/* The refresh lock outlives a slow grant (Maskinporten + exchange + one
 * retry) but not a crashed holder for long. */
#define LOCK_TTL_MS 30000
/* How long a waiter polls for the lock holder's token before fetching. */
#define WAIT_FOR_HOLDER_MS 20000
#define POLL_MS 100

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

/* Replaces the client's cached value (and the token inside it). */
static int cache_value(hub_client *c, char *value, long long valid_ms) {
  cJSON *j = cJSON_Parse(value);
  const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(j, "token"));
  char *token = t ? strdup(t) : NULL;
  if (j != NULL) {
    /* cJSON keeps its own copy of the token: wipe it before freeing. */
    cJSON *item = cJSON_GetObjectItem(j, "token");
    if (cJSON_IsString(item)) {
      memset(item->valuestring, 0, strlen(item->valuestring));
    }
    cJSON_Delete(j);
  }
  if (token == NULL) {
    ab_secret_free(value);
    return -1;
  }
  ab_secret_free(c->value);
  ab_secret_free(c->token);
  c->value = value;
  c->token = token;
  ab_token_fingerprint(token, c->fp);
  c->valid_until = hub_mono_ms() + valid_ms;
  return 0;
}

static void drop_cache(hub_client *c) {
  ab_secret_free(c->value);
  ab_secret_free(c->token);
  c->value = c->token = NULL;
  c->fp[0] = '\0';
  c->valid_until = 0;
}

/* Grant + exchange now. Returns the store value (malloc'ed JSON with the
 * token) and its TTL, or NULL with err. */
static char *fetch(ab_hub *h, hub_client *c, long long *ttl_ms, ab_error *err) {
  const char *token = ab_auth_refresh(c->auth, c->http, NULL, err);
  if (token == NULL) {
    return NULL;
  }
  /* ab_auth counts the usable life from the token's own exp - iat and takes
   * its margin off (Broker validates with zero clock skew). */
  long long ttl = (long long) ab_auth_usable_seconds(c->auth) * 1000;
  if (ttl < 1000) {
    ttl = 1000;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "token", token);
  cJSON_AddStringToObject(j, "by", h->node_id);
  char *value = cJSON_PrintUnformatted(j);
  cJSON *item = cJSON_GetObjectItem(j, "token");
  memset(item->valuestring, 0, strlen(item->valuestring));
  cJSON_Delete(j);
  ab_auth_invalidate(c->auth); /* the hub keeps its copy in c->value only */
  if (value == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  pthread_mutex_lock(&h->mu);
  h->stats.grants++;
  pthread_mutex_unlock(&h->mu);
  hub_logf(h, AB_LOG_INFO, "new Altinn token for client %s (org %s): usable for %lld s, "
           "shared through the %s store", c->cfg->name, c->cfg->org, ttl / 1000,
           h->primary_down ? "local" : ab_hub_store_name(h));
  *ttl_ms = ttl;
  return value;
}

/* The token from store st (1), absent (0) or -1 with err. A stored token
 * whose fingerprint equals `rejected` is deleted and reported absent. A
 * token found in Redis is copied to the embedded store, so this node can
 * go on with it while Redis is unreachable. */
static int from_store(ab_hub *h, ab_store *st, hub_client *c, const char *rejected,
                      ab_error *err) {
  char *value = NULL;
  long long ttl = 0;
  int rc = st->ops->get(st, c->key, &value, &ttl, err);
  if (rc <= 0) {
    return rc;
  }
  if (st != h->local && ttl > 0 && (rejected == NULL || c->value == NULL ||
                                    strcmp(value, c->value) != 0)) {
    ab_error ignored;
    h->local->ops->set(h->local, c->key, value, ttl, &ignored);
  }
  if (cache_value(c, value, ttl > 0 ? ttl : 1000) < 0) {
    return 0;
  }
  if (rejected != NULL && strcmp(rejected, c->fp) == 0) {
    ab_error ignored;
    st->ops->del(st, c->key, c->value, &ignored);
    drop_cache(c);
    return 0;
  }
  return 1;
}

/* The single-flight refresh over one store. Returns 1 with c's cache
 * filled, or -1 with err (errno EAGAIN: the store is unreachable). */
static int refresh(ab_hub *h, ab_store *st, hub_client *c, const char *rejected, ab_error *err) {
  long long deadline = hub_mono_ms() + WAIT_FOR_HOLDER_MS;
  for (;;) {
    int rc = from_store(h, st, c, rejected, err);
    if (rc != 0) {
      return rc;
    }
    rejected = NULL; /* deleted once; a new one is not "rejected" */
    int locked = st->ops->set_nx(st, c->lock_key, h->node_id, LOCK_TTL_MS, err);
    if (locked < 0) {
      return -1;
    }
    if (locked == 1 || hub_mono_ms() >= deadline) {
      long long ttl = 0;
      char *value = fetch(h, c, &ttl, err);
      ab_error ignored;
      if (value != NULL) {
        st->ops->set(st, c->key, value, ttl, &ignored);
        if (st != h->local) {
          /* a node-local copy for when Redis is unreachable */
          h->local->ops->set(h->local, c->key, value, ttl, &ignored);
        }
      }
      if (locked == 1) {
        st->ops->del(st, c->lock_key, h->node_id, &ignored);
      }
      if (value == NULL) {
        return -1;
      }
      cache_value(c, value, ttl);
      return 1;
    }
    sleep_ms(POLL_MS); /* someone else is fetching: wait for their token */
  }
}

int hub_op_token(ab_hub *h, hub_client *c, const char *rejected, cJSON *reply, ab_error *err) {
  pthread_mutex_lock(&c->mu);
  long long now = hub_mono_ms();
  int rc = 0;
  if (c->token != NULL && rejected != NULL && strcmp(rejected, c->fp) == 0) {
    /* The Broker refused the token we handed out: never hand it out again. */
    hub_logf(h, AB_LOG_NOTICE, "the Broker refused the token of client %s; fetching a new one",
             c->cfg->name);
  } else if (c->token != NULL && now < c->valid_until) {
    rejected = NULL;
    rc = 1;
  }
  if (rc == 0) {
    rc = refresh(h, h->primary, c, rejected, err);
    if (rc < 0 && hub_primary_down(h, err)) {
      rc = refresh(h, h->local, c, rejected, err);
    } else if (rc > 0) {
      hub_primary_ok(h);
    }
  }
  if (rc > 0) {
    cJSON_AddStringToObject(reply, "token", c->token);
    cJSON_AddNumberToObject(reply, "valid_ms", (double) (c->valid_until - hub_mono_ms()));
    pthread_mutex_lock(&h->mu);
    h->stats.tokens_served++;
    pthread_mutex_unlock(&h->mu);
  }
  pthread_mutex_unlock(&c->mu);
  return rc > 0 ? 0 : -1;
}
