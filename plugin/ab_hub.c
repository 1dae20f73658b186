/* ab_hub.c - the hub (see ab_hub.h): stores, failover between Redis and
 * the embedded store, request dispatch and authorization, background tick.
 * The services themselves are in ab_hub_token.c, ab_hub_budget.c,
 * ab_hub_inbox.c and ab_hub_journal.c. */
#include "ab_hub_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "ab_audience.h"
#include "ab_maskinporten.h"

/* Writes queued while Redis was down; replayed in order when it returns. */
#define PENDING_KEY "pending"
#define PENDING_MAX 100000
/* A node counts as alive this long after its last heartbeat. */
#define NODE_TTL_MS 15000
#define HEARTBEAT_EVERY_MS 5000

long long hub_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hub_logf(ab_hub *h, int level, const char *fmt, ...) {
  if (h->log == NULL) {
    return;
  }
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  h->log(h->log_ctx, level, line);
}

void ab_hub_config_fingerprint(const ab_config *cfg, char out[17]) {
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    snprintf(out, 17, "unknown");
    return;
  }
  len += (size_t) snprintf(buf + len, cap - len, "%s|%s:%d|%s|", cfg->state_dir,
                           cfg->redis_host ? cfg->redis_host : "", cfg->redis_port,
                           cfg->redis_prefix ? cfg->redis_prefix : "");
  for (size_t i = 0; i < cfg->n_clients && len < cap; i++) {
    len += (size_t) snprintf(buf + len, cap - len, "%s=%s/%s;", cfg->clients[i].name,
                             cfg->clients[i].client_id, cfg->clients[i].org);
  }
  ab_token_fingerprint(buf, out);
  free(buf);
}

const char *ab_hub_store_name(const ab_hub *h) {
  return h->primary->ops->name;
}

int hub_is_id(const char *s) {
  size_t n = strlen(s);
  if (n != 36) {
    return 0;
  }
  for (size_t i = 0; i < n; i++) {
    if (!isxdigit((unsigned char) s[i]) && s[i] != '-') {
      return 0;
    }
  }
  return 1;
}

/* --- failover ---------------------------------------------------------- */

int hub_primary_down(ab_hub *h, const ab_error *err) {
  if (!h->shared || err->err_no != EAGAIN) {
    return 0;
  }
  pthread_mutex_lock(&h->mu);
  int was_down = h->primary_down;
  h->primary_down = 1;
  pthread_mutex_unlock(&h->mu);
  if (!was_down) {
    hub_logf(h, AB_LOG_ERROR, "shared state degraded: %s. Until Redis is back: tokens and the "
             "rate budget are node-local, listings are served from what is known, writes are "
             "queued locally, and confirming downloads (rm) is paused so nothing is confirmed twice",
             err->message);
  }
  return 1;
}

void hub_primary_ok(ab_hub *h) {
  if (!h->shared) {
    return;
  }
  pthread_mutex_lock(&h->mu);
  int was_down = h->primary_down;
  h->primary_down = 0;
  pthread_mutex_unlock(&h->mu);
  if (was_down) {
    hub_logf(h, AB_LOG_NOTICE, "shared state on Redis is available again");
  }
}

int hub_get(ab_hub *h, const char *key, char **value, long long *ttl_ms, ab_error *err) {
  int rc = h->primary->ops->get(h->primary, key, value, ttl_ms, err);
  if (rc >= 0) {
    hub_primary_ok(h);
    return rc;
  }
  if (hub_primary_down(h, err)) {
    return h->local->ops->get(h->local, key, value, ttl_ms, err);
  }
  return -1;
}

/* Queues one write for replay into Redis. */
static int queue_pending(ab_hub *h, cJSON *op, ab_error *err) {
  char *text = cJSON_PrintUnformatted(op);
  cJSON_Delete(op);
  if (text == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  pthread_mutex_lock(&h->pending_mu);
  int rc = h->local->ops->list_push(h->local, PENDING_KEY, text, PENDING_MAX, 0, err);
  pthread_mutex_unlock(&h->pending_mu);
  free(text);
  return rc;
}

int hub_put(ab_hub *h, const char *key, const char *value, long long ttl_ms, int mirror,
            ab_error *err) {
  int rc = h->primary->ops->set(h->primary, key, value, ttl_ms, err);
  if (rc == 0) {
    hub_primary_ok(h);
    if (mirror && h->shared) {
      ab_error ignored;
      h->local->ops->set(h->local, key, value, ttl_ms, &ignored);
    }
    return 0;
  }
  if (!hub_primary_down(h, err)) {
    return -1;
  }
  if (h->local->ops->set(h->local, key, value, ttl_ms, err) < 0) {
    return -1;
  }
  cJSON *op = cJSON_CreateObject();
  cJSON_AddStringToObject(op, "op", "set");
  cJSON_AddStringToObject(op, "key", key);
  cJSON_AddStringToObject(op, "value", value);
  cJSON_AddNumberToObject(op, "ttl", (double) ttl_ms);
  return queue_pending(h, op, err);
}

int hub_push(ab_hub *h, const char *key, const char *value, size_t max_len, long long ttl_ms,
             ab_error *err) {
  int rc = h->primary->ops->list_push(h->primary, key, value, max_len, ttl_ms, err);
  if (rc == 0) {
    hub_primary_ok(h);
    return 0;
  }
  if (!hub_primary_down(h, err)) {
    return -1;
  }
  if (h->local->ops->list_push(h->local, key, value, max_len, ttl_ms, err) < 0) {
    return -1;
  }
  cJSON *op = cJSON_CreateObject();
  cJSON_AddStringToObject(op, "op", "push");
  cJSON_AddStringToObject(op, "key", key);
  cJSON_AddStringToObject(op, "value", value);
  cJSON_AddNumberToObject(op, "max", (double) max_len);
  cJSON_AddNumberToObject(op, "ttl", (double) ttl_ms);
  return queue_pending(h, op, err);
}

/* Replays the pending queue into Redis, oldest first; stops at the first
 * failure (the rest stays queued; replaying a write twice is harmless). */
static void replay_pending(ab_hub *h) {
  ab_error err;
  char **items = NULL;
  size_t n = 0;
  pthread_mutex_lock(&h->pending_mu);
  if (h->local->ops->list_range(h->local, PENDING_KEY, PENDING_MAX, &items, &n, &err) < 0 || n == 0) {
    pthread_mutex_unlock(&h->pending_mu);
    ab_store_free_list(items, n);
    return;
  }
  size_t done = 0;
  for (size_t k = n; k-- > 0;) {
    cJSON *op = cJSON_Parse(items[k]);
    const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(op, "op"));
    const char *key = cJSON_GetStringValue(cJSON_GetObjectItem(op, "key"));
    const char *value = cJSON_GetStringValue(cJSON_GetObjectItem(op, "value"));
    long long ttl = (long long) cJSON_GetNumberValue(cJSON_GetObjectItem(op, "ttl"));
    int rc = 0;
    if (kind != NULL && key != NULL && value != NULL) {
      if (strcmp(kind, "set") == 0) {
        rc = h->primary->ops->set(h->primary, key, value, ttl, &err);
      } else if (strcmp(kind, "push") == 0) {
        size_t max = (size_t) cJSON_GetNumberValue(cJSON_GetObjectItem(op, "max"));
        rc = h->primary->ops->list_push(h->primary, key, value, max, ttl, &err);
      }
    }
    cJSON_Delete(op);
    if (rc < 0) {
      break;
    }
    done++;
  }
  if (done == n) {
    h->local->ops->del(h->local, PENDING_KEY, NULL, &err);
  }
  pthread_mutex_unlock(&h->pending_mu);
  ab_store_free_list(items, n);
  pthread_mutex_lock(&h->mu);
  h->stats.replayed += (long long) done;
  pthread_mutex_unlock(&h->mu);
  if (done > 0) {
    hub_logf(h, AB_LOG_NOTICE, "replayed %zu write(s) queued while Redis was unavailable%s",
             done, done < n ? "; the rest stays queued" : "");
  }
}

void ab_hub_tick(ab_hub *h) {
  hub_metrics_tick(h);
  if (!h->shared) {
    return;
  }
  long long now = hub_mono_ms();
  pthread_mutex_lock(&h->mu);
  int due = now >= h->next_heartbeat;
  if (due) {
    h->next_heartbeat = now + HEARTBEAT_EVERY_MS;
  }
  int was_down = h->primary_down;
  pthread_mutex_unlock(&h->mu);
  if (!due && !was_down) {
    return;
  }
  ab_error err;
  int n = h->primary->ops->members(h->primary, "nodes", h->node_id, NODE_TTL_MS, &err);
  if (n < 0) {
    hub_primary_down(h, &err);
    return;
  }
  hub_primary_ok(h);
  pthread_mutex_lock(&h->mu);
  h->nodes = n > 0 ? n : 1;
  pthread_mutex_unlock(&h->mu);
  replay_pending(h);
}

/* --- creation ------------------------------------------------------------ */

static int client_init(ab_hub *h, hub_client *c, const ab_client_cfg *cc, ab_error *err) {
  const ab_config *cfg = h->cfg;
  c->cfg = cc;
  pthread_mutex_init(&c->mu, NULL);
  char *scope = c->scope = ab_config_client_scope(cfg, cc);
  if (scope == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_auth_config ac;
  ab_config_auth(cfg, cc, scope, &ac);
  ac.log = h->log;
  ac.log_ctx = h->log_ctx;
  c->auth = ab_auth_new(&ac, err);
  /* The token is per (client, scope, system user): a different scope set
   * after a configuration change must not reuse the old token. */
  char fp_src[1024], fp[17];
  snprintf(fp_src, sizeof(fp_src), "%s|%s|%s|%s", cc->client_id, scope,
           cc->systemuser_org ? cc->systemuser_org : "", cfg->exchange_url);
  ab_token_fingerprint(fp_src, fp);
  if (c->auth == NULL) {
    return ab_error_prefix(err, "%s: AltinnBrokerClient %s", cc->source, cc->name);
  }
  snprintf(c->key, sizeof(c->key), "token:%s", fp);
  snprintf(c->lock_key, sizeof(c->lock_key), "token-lock:%s", fp);
  ab_http_options hopts = { .ca_pem = cfg->ca_pem, .ca_pem_len = cfg->ca_pem_len,
                            .observe = hub_metrics_http, .observe_ctx = h };
  c->http = ab_http_new(&hopts);
  if (c->http == NULL) {
    return ab_error_set(err, ENOMEM, "cannot create the HTTP context");
  }
  return 0;
}

ab_hub *ab_hub_new(const ab_hub_options *o, ab_error *err) {
  ab_hub *h = calloc(1, sizeof(*h));
  if (h == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  const ab_config *cfg = o->cfg;
  h->cfg = cfg;
  h->log = o->log;
  h->log_ctx = o->log_ctx;
  h->nodes = 1;
  pthread_mutex_init(&h->mu, NULL);
  pthread_mutex_init(&h->pending_mu, NULL);
  unsigned char rnd[6];
  char host[64] = "host";
  gethostname(host, sizeof(host) - 1);
  for (char *p = host; *p; p++) {
    if (*p <= ' ' || *p > '~') *p = '_';
  }
  RAND_bytes(rnd, sizeof(rnd));
  snprintf(h->node_id, sizeof(h->node_id), "%.40s:%ld:%02x%02x%02x%02x%02x%02x", host,
           (long) getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
  h->local = ab_store_local_open(o->memory_only ? NULL : cfg->state_dir, err);
  if (h->local == NULL) {
    free(h);
    return NULL;
  }
  h->primary = h->local;
  if (!o->memory_only && cfg->redis_host != NULL) {
    ab_store_redis_options ro = {
      .host = cfg->redis_host, .port = cfg->redis_port, .prefix = cfg->redis_prefix,
      .user = cfg->redis_user, .password = cfg->redis_password, .tls = cfg->redis_tls,
      .ca_pem = cfg->redis_ca_pem, .ca_pem_len = cfg->redis_ca_pem_len,
      .timeout_ms = cfg->redis_timeout_ms,
    };
    h->primary = ab_store_redis_open(&ro, err);
    if (h->primary == NULL) {
      ab_hub_free(h);
      return NULL;
    }
    h->shared = 1;
  }
  h->clients = calloc(cfg->n_clients ? cfg->n_clients : 1, sizeof(hub_client));
  h->metrics = hub_metrics_new(h);
  if (h->clients == NULL || h->metrics == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    ab_hub_free(h);
    return NULL;
  }
  for (size_t i = 0; i < cfg->n_clients; i++) {
    h->n_clients++;
    if (client_init(h, &h->clients[i], &cfg->clients[i], err) < 0) {
      ab_hub_free(h);
      return NULL;
    }
  }
  if (hub_feeds_init(h, err) < 0) {
    ab_hub_free(h);
    return NULL;
  }
  return h;
}

void ab_hub_free(ab_hub *h) {
  if (h == NULL) {
    return;
  }
  hub_feeds_free(h);
  for (size_t i = 0; i < h->n_clients; i++) {
    hub_client *c = &h->clients[i];
    ab_auth_free(c->auth);
    ab_http_free(c->http);
    free(c->scope);
    ab_secret_free(c->value);
    ab_secret_free(c->token);
    pthread_mutex_destroy(&c->mu);
  }
  free(h->clients);
  hub_metrics_free(h->metrics);
  if (h->primary != h->local) {
    ab_store_close(h->primary);
  }
  ab_store_close(h->local);
  pthread_mutex_destroy(&h->mu);
  pthread_mutex_destroy(&h->pending_mu);
  free(h);
}

/* --- requests ------------------------------------------------------------ */

/* May the peer act for this client? Only for clients of mounts its user
 * (or one of its groups) sees; the admin sees all. */
static int peer_may_use_client(const ab_hub *h, const ab_hub_peer *p, const ab_client_cfg *c) {
  const char *groups[AB_HUB_PEER_GROUPS];
  for (size_t i = 0; i < p->n_groups; i++) {
    groups[i] = p->groups[i];
  }
  ab_principal who = { .user = p->user, .groups = groups, .n_groups = p->n_groups };
  for (size_t i = 0; i < h->cfg->n_mounts; i++) {
    const ab_mount_cfg *m = &h->cfg->mounts[i];
    if (m->client == c && ab_mount_visible_to(m, p->admin ? NULL : &who)) {
      return 1;
    }
  }
  return 0;
}

static int peer_may_use_org(const ab_hub *h, const ab_hub_peer *p, const char *org) {
  for (size_t i = 0; i < h->n_clients; i++) {
    if (strcmp(h->clients[i].cfg->org, org) == 0 && peer_may_use_client(h, p, h->clients[i].cfg)) {
      return 1;
    }
  }
  return 0;
}

static const char *str(const cJSON *req, const char *name) {
  return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req, name));
}

static cJSON *error_reply(const ab_error *err) {
  cJSON *r = cJSON_CreateObject();
  cJSON_AddBoolToObject(r, "ok", 0);
  cJSON_AddNumberToObject(r, "errno", err->err_no ? err->err_no : EIO);
  cJSON_AddStringToObject(r, "error", err->message);
  if (err->http_status != 0) {
    cJSON_AddNumberToObject(r, "status", err->http_status);
  }
  if (err->code[0] != '\0') {
    cJSON_AddStringToObject(r, "code", err->code);
  }
  return r;
}

static int handle(ab_hub *h, ab_hub_peer *p, const cJSON *req, cJSON *reply, ab_error *err) {
  const char *op = str(req, "op");
  if (op == NULL) {
    return ab_error_set(err, EINVAL, "request without \"op\"");
  }
  if (strcmp(op, "hello") == 0) {
    cJSON_AddNumberToObject(reply, "version", 1);
    cJSON_AddStringToObject(reply, "store", ab_hub_store_name(h));
    cJSON_AddStringToObject(reply, "state_dir", h->cfg->state_dir);
    cJSON_AddStringToObject(reply, "node", h->node_id);
    char fp[17];
    ab_hub_config_fingerprint(h->cfg, fp);
    cJSON_AddStringToObject(reply, "config", fp);
    return 0;
  }
  if (strcmp(op, "login") == 0) {
    if (p->logged_in) {
      return ab_error_set(err, EPERM, "already logged in");
    }
    const char *user = str(req, "user");
    const cJSON *groups = cJSON_GetObjectItem(req, "groups");
    snprintf(p->user, sizeof(p->user), "%s", user ? user : "");
    p->n_groups = 0;
    const cJSON *g;
    cJSON_ArrayForEach(g, groups) {
      if (cJSON_IsString(g) && p->n_groups < AB_HUB_PEER_GROUPS) {
        snprintf(p->groups[p->n_groups++], sizeof(p->groups[0]), "%s", g->valuestring);
      }
    }
    p->admin = user == NULL && p->n_groups == 0;
    p->logged_in = 1;
    return 0;
  }
  if (strcmp(op, "stats") == 0) {
    pthread_mutex_lock(&h->mu);
    hub_stats s = h->stats;
    int down = h->primary_down, nodes = h->nodes;
    pthread_mutex_unlock(&h->mu);
    cJSON_AddNumberToObject(reply, "grants", (double) s.grants);
    cJSON_AddNumberToObject(reply, "tokensServed", (double) s.tokens_served);
    cJSON_AddNumberToObject(reply, "budgetRefused", (double) s.budget_refused);
    cJSON_AddNumberToObject(reply, "replayed", (double) s.replayed);
    cJSON_AddStringToObject(reply, "store", ab_hub_store_name(h));
    cJSON_AddBoolToObject(reply, "degraded", down);
    cJSON_AddNumberToObject(reply, "nodes", nodes);
    return 0;
  }
  if (strcmp(op, "metrics_add") == 0 || strcmp(op, "metrics") == 0) {
    return hub_op_metrics(h, op, req, reply, err);
  }
  if (!p->logged_in) {
    return ab_error_set(err, EPERM, "log in first (op \"login\")");
  }
  /* Events from the webhook receiver and work nudges: administrators only
   * (`altinn-broker events serve`), not SFTP users' sessions. */
  if (strcmp(op, "inbox_event") == 0 || strcmp(op, "inbox_work") == 0) {
    if (!p->admin) {
      return ab_error_set(err, EACCES, "%s is for the administrator's tools", op);
    }
    return strcmp(op, "inbox_event") == 0
           ? hub_op_inbox_event(h, cJSON_GetObjectItem(req, "event"), reply, err)
           : hub_op_inbox_work(h, req, reply, err);
  }
  if (strcmp(op, "token") == 0) {
    const char *name = str(req, "client");
    for (size_t i = 0; name != NULL && i < h->n_clients; i++) {
      if (strcmp(h->clients[i].cfg->name, name) == 0) {
        if (!peer_may_use_client(h, p, h->clients[i].cfg)) {
          break;
        }
        return hub_op_token(h, &h->clients[i], str(req, "rejected"), reply, err);
      }
    }
    return ab_error_set(err, EACCES, "no AltinnBrokerClient '%.80s' for this user", name ? name : "");
  }
  const char *org = str(req, "org");
  if (org == NULL || !peer_may_use_org(h, p, org)) {
    return ab_error_set(err, EACCES, "organisation '%.20s' is not one this user acts for",
                        org ? org : "");
  }
  const char *id = str(req, "id");
  if (id != NULL && !hub_is_id(id)) {
    return ab_error_set(err, EINVAL, "'%.40s' is not a fileTransferId", id);
  }
  int need_id = strcmp(op, "read_mark") == 0 || strcmp(op, "read_check") == 0 ||
                strcmp(op, "confirm_claim") == 0 || strcmp(op, "confirm_done") == 0 ||
                strcmp(op, "journal_get") == 0;
  if (need_id && id == NULL) {
    return ab_error_set(err, EINVAL, "%s needs \"id\"", op);
  }
  if (strcmp(op, "budget") == 0) {
    const char *endpoint = str(req, "endpoint");
    return hub_op_budget(h, org, endpoint ? endpoint : "", reply, err);
  }
  if (strcmp(op, "read_mark") == 0) {
    return hub_op_read_mark(h, org, id, reply, err);
  }
  if (strcmp(op, "read_check") == 0) {
    return hub_op_read_check(h, org, id, reply, err);
  }
  if (strcmp(op, "confirm_claim") == 0) {
    return hub_op_confirm_claim(h, p, org, id, reply, err);
  }
  if (strcmp(op, "confirm_done") == 0) {
    return hub_op_confirm_done(h, org, id, str(req, "claim"),
                               cJSON_IsTrue(cJSON_GetObjectItem(req, "confirmed")), reply, err);
  }
  const char *resource = str(req, "resource");
  if ((strcmp(op, "inbox_list") == 0 || strcmp(op, "inbox_status") == 0) &&
      (resource == NULL || !ab_store_key_ok(resource) || strlen(resource) > 100)) {
    return ab_error_set(err, EINVAL, "%s needs a \"resource\"", op);
  }
  if (strcmp(op, "inbox_list") == 0) {
    return hub_op_inbox_list(h, org, resource, req, reply, err);
  }
  if (strcmp(op, "inbox_status") == 0) {
    return hub_op_inbox_status(h, org, resource, reply, err);
  }
  if (strcmp(op, "inbox_recheck") == 0) {
    if (id == NULL) {
      return ab_error_set(err, EINVAL, "inbox_recheck needs \"id\"");
    }
    return hub_op_inbox_recheck(h, org, id, reply, err);
  }
  if (strcmp(op, "journal_add") == 0) {
    return hub_op_journal_add(h, org, cJSON_GetObjectItem(req, "entry"), reply, err);
  }
  if (strcmp(op, "journal_get") == 0) {
    return hub_op_journal_get(h, org, id, reply, err);
  }
  if (strcmp(op, "journal_list") == 0) {
    const cJSON *max = cJSON_GetObjectItem(req, "max");
    return hub_op_journal_list(h, org, cJSON_IsNumber(max) ? max->valueint : 100, reply, err);
  }
  if (strcmp(op, "journal_lookup") == 0) {
    const char *key = str(req, "key");
    if (key == NULL || key[0] == '\0') {
      return ab_error_set(err, EINVAL, "journal_lookup needs \"key\"");
    }
    return hub_op_journal_lookup(h, org, key, reply, err);
  }
  return ab_error_set(err, EINVAL, "unknown op '%.40s'", op);
}

cJSON *ab_hub_handle(ab_hub *h, ab_hub_peer *p, const cJSON *req) {
  ab_error err;
  ab_error_clear(&err);
  cJSON *reply = cJSON_CreateObject();
  if (reply == NULL) {
    return NULL;
  }
  if (!cJSON_IsObject(req)) {
    ab_error_set(&err, EINVAL, "a request is a JSON object");
  } else if (handle(h, p, req, reply, &err) == 0) {
    cJSON_AddBoolToObject(reply, "ok", 1);
    return reply;
  }
  cJSON_Delete(reply);
  return error_reply(&err);
}
