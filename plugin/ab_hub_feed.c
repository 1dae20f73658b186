/* ab_hub_feed.c - the inbox feeds the hub keeps fresh for every session
 * (ab_feed.h): one per (organisation, resource) of the inbox mounts.
 *
 * In the agent a background thread works them: Altinn Events pulled every
 * second (or pushed through `altinn-broker events serve`, op inbox_event),
 * overviews of the transfers they name, and search reconciliation, each
 * Broker call cleared with the shared rate budget first. Sessions ask for
 * the listing (op inbox_list) and get it at once, with stable names,
 * metadata kept across restarts in the store:
 *
 *   feed:<org>:<res>          the feed's state (listing, events cursor, sweep)
 *   feed-version:<org>:<res>  grows with every save (other nodes reload)
 *   feed-lock:<org>:<res>     the node that works the feed (one per cluster)
 *   feed-want:<org>:<res>     a listing was asked for on another node: look
 *                             for news now (the worker checks it 5 times a second)
 *
 * With Redis, one node works a feed and the others serve what it saved;
 * when that node goes away its lock expires and another takes over. A hub
 * without the background thread (the admin CLI, a lone session) works a
 * feed itself, briefly, when asked for the listing.
 *
 * The feed lock (f->mu) is never held across a network call: the worker
 * takes the next piece of work under it, releases it, calls, and hands the
 * result back under it (ab_feed_next / ab_feed_done_*).
 */
#include "ab_hub_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ab_events.h"
#include "ab_feed.h"
#include "ab_inbox_wire.h"

#define FEED_LOCK_TTL_MS 30000
#define SAVE_EVERY_MS 500
#define WANT_TTL_MS 5000
#define WANT_POLL_MS 200          /* with Redis: how often the worker looks for wants */
#define ROUND_WORK_MS 1000        /* one feed's share of a background round */
#define FIRST_LISTING_MS 10000    /* a hub without the thread, before any sweep */
#define MAX_WAIT_MS 15000         /* longest a caller may ask to wait */
#define PULL_ON_DEMAND_MS 500     /* a listing asked for pulls events, at most this often */

typedef struct hub_feed {
  ab_hub *h;
  char org[16];
  char *resource;
  hub_client *client;           /* tokens of the first inbox mount's client */
  ab_events_mode mode;          /* of the first inbox mount on (org, resource) */
  pthread_mutex_t mu;           /* feed, served_changes, version */
  ab_feed *feed;
  unsigned long long version;   /* what sessions cache by */
  unsigned long seen_changes;   /* ab_feed_changes when version last moved */
  char *wire;                   /* the listing as sent (ab_inbox_wire.h) ... */
  unsigned long long wire_version; /* ... of this version */
  /* worker side: only under work_mu */
  pthread_mutex_t work_mu;
  ab_http *http;
  ab_auth *auth;
  ab_broker broker;
  int holding;                  /* this node works the feed */
  int active;                   /* asked for since this hub started (under mu): worked */
  long long demand_ms;          /* last events pull asked for by a listing (under mu) */
  time_t token_complaint;       /* when a missing token may be logged again */
  unsigned long saved_changes;
  long long saved_ms;
  char *loaded_version;         /* feed-version we last loaded (non-holders) */
  size_t confirmed_seen;        /* cross-node confirmations applied (under mu) */
  char confirmed_newest[AB_ID_LEN];
  char key[240], version_key[240], lock_key[240], want_key[240];
} hub_feed;

struct hub_feeds {
  hub_feed *f;
  size_t n;
  pthread_t thread;
  int running;
  pthread_mutex_t mu;           /* stop, kicked, rounds, in_round */
  pthread_cond_t cv;            /* the thread waits here; waiters too */
  int stop;
  int kicked;
  unsigned long long rounds;    /* rounds finished */
  int in_round;                 /* the thread is working a round now (not waiting) */
};

/* --- tokens for the feed's own Broker client ------------------------------- */

static char *feed_token(void *ctx, const char *rejected, long long *valid_ms, ab_error *err) {
  hub_feed *f = ctx;
  cJSON *reply = cJSON_CreateObject();
  if (reply == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  char *token = NULL;
  if (hub_op_token(f->h, f->client, rejected, reply, err) == 0) {
    cJSON *t = cJSON_GetObjectItem(reply, "token");
    const cJSON *v = cJSON_GetObjectItem(reply, "valid_ms");
    token = cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
    *valid_ms = cJSON_IsNumber(v) ? (long long) v->valuedouble : 0;
    if (cJSON_IsString(t)) {
      memset(t->valuestring, 0, strlen(t->valuestring));
    }
    if (token == NULL) {
      ab_error_set(err, EIO, "no token for the inbox feed");
    }
  }
  cJSON_Delete(reply);
  return token;
}

/* --- the remote side (ab_feed_ops) ---------------------------------------- */

static int op_search(void *ctx, const ab_search *q, char (**ids)[AB_ID_LEN], size_t *n,
                     ab_error *err) {
  hub_feed *f = ctx;
  return ab_broker_search(&f->broker, q, ids, n, err);
}

static int op_overview(void *ctx, const char *id, ab_transfer *out, ab_error *err) {
  hub_feed *f = ctx;
  return ab_broker_overview(&f->broker, id, out, err);
}

static int op_events(void *ctx, const char *after, int size, ab_event **out, size_t *n,
                     ab_error *err) {
  hub_feed *f = ctx;
  return ab_events_pull(&f->broker, f->resource, f->org, after, size, out, n, err);
}

static void op_log(void *ctx, int level, const char *message) {
  hub_feed *f = ctx;
  hub_logf(f->h, level, "%s", message);
}

static const ab_feed_ops feed_ops = {
  .search = op_search, .overview = op_overview, .events = op_events, .log = op_log,
};

/* --- persistence ------------------------------------------------------------ */

static void save(hub_feed *f, long long now_ms) {
  pthread_mutex_lock(&f->mu);
  cJSON *doc = ab_feed_to_json(f->feed);
  unsigned long changes = ab_feed_changes(f->feed);
  pthread_mutex_unlock(&f->mu);
  char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;
  cJSON_Delete(doc);
  ab_error err;
  long long v = 0;
  if (text == NULL) {
    hub_logf(f->h, AB_LOG_ERROR, "inbox %s: out of memory saving the listing", f->resource);
  } else if (hub_put(f->h, f->key, text, 0, 1, &err) < 0) {
    hub_logf(f->h, AB_LOG_ERROR, "inbox %s: cannot save the listing: %s", f->resource,
             err.message);
  } else {
    f->saved_changes = changes;
    f->saved_ms = now_ms;
    if (f->h->primary->ops->incr(f->h->primary, f->version_key, 1, 0, &v, &err) == 0) {
      char buf[32];
      snprintf(buf, sizeof(buf), "%lld", v);
      free(f->loaded_version);
      f->loaded_version = strdup(buf);
    }
  }
  free(text);
}

/* Loads the saved state when it changed since we last loaded or saved it. */
static void load_if_changed(hub_feed *f, int force) {
  ab_error err;
  char *version = NULL;
  int rc = hub_get(f->h, f->version_key, &version, NULL, &err);
  if (rc < 0 || (!force && rc == 1 && f->loaded_version != NULL &&
                 strcmp(version, f->loaded_version) == 0) || (rc == 0 && !force)) {
    free(version);
    return;
  }
  char *text = NULL;
  if (hub_get(f->h, f->key, &text, NULL, &err) == 1) {
    cJSON *doc = cJSON_Parse(text);
    pthread_mutex_lock(&f->mu);
    if (doc == NULL || ab_feed_load(f->feed, doc, time(NULL)) < 0) {
      hub_logf(f->h, AB_LOG_ERROR, "inbox %s: the saved listing cannot be read; starting afresh",
               f->resource);
    }
    f->saved_changes = ab_feed_changes(f->feed);
    pthread_mutex_unlock(&f->mu);
    cJSON_Delete(doc);
  }
  free(text);
  free(f->loaded_version);
  f->loaded_version = version;
}

/* 1 when this node works the feed now (taking or renewing the lock). The
 * embedded store belongs to one process, which is then the only worker. */
static int take_lock(hub_feed *f) {
  if (!f->h->shared) {
    return 1;
  }
  ab_store *st = f->h->primary;
  ab_error err;
  char *holder = NULL;
  int rc = st->ops->get(st, f->lock_key, &holder, NULL, &err);
  int mine = rc == 1 && strcmp(holder, f->h->node_id) == 0;
  free(holder);
  if (rc < 0) {
    /* The shared store is down: serve and work what this node knows
     * (the budget falls back to this node's share). */
    return hub_primary_down(f->h, &err) ? 1 : f->holding;
  }
  if (mine) {
    st->ops->set(st, f->lock_key, f->h->node_id, FEED_LOCK_TTL_MS, &err);
    return 1;
  }
  return rc == 0 && st->ops->set_nx(st, f->lock_key, f->h->node_id, FEED_LOCK_TTL_MS, &err) == 1;
}

/* Confirmations made through other nodes (or other hubs) of this org:
 * the transfers leave the listing. */
static void fold_confirmed(hub_feed *f, time_t now) {
  char key[128];
  snprintf(key, sizeof(key), "confirmed-list:%s", f->org);
  char **items = NULL;
  size_t n = 0;
  ab_error err;
  ab_store *st = f->h->primary;
  if (st->ops->list_range(st, key, 2000, &items, &n, &err) < 0) {
    return;
  }
  pthread_mutex_lock(&f->mu);
  if (n != f->confirmed_seen || (n > 0 && strcmp(items[0], f->confirmed_newest) != 0)) {
    ab_listing *l = ab_feed_listing(f->feed);
    for (size_t i = 0; i < n; i++) {
      const ab_listing_entry *e = ab_listing_find_id(l, items[i]);
      if (e != NULL && e->state != AB_ENTRY_GONE) {
        ab_feed_confirmed(f->feed, items[i], now);
      }
    }
    f->confirmed_seen = n;
    snprintf(f->confirmed_newest, sizeof(f->confirmed_newest), "%s", n > 0 ? items[0] : "");
  }
  pthread_mutex_unlock(&f->mu);
  ab_store_free_list(items, n);
}

/* --- work ---------------------------------------------------------------- */

/* Does up to work_ms of due work on f (as the worker), saving when due.
 * Returns the number of remote calls made. */
static int round_of(hub_feed *f, long work_ms, int final_save) {
  pthread_mutex_lock(&f->work_mu);
  long long start = hub_mono_ms();
  int calls = 0;
  f->holding = take_lock(f);
  if (!f->holding) {
    load_if_changed(f, 0);      /* another node works it: serve what it saved */
    pthread_mutex_unlock(&f->work_mu);
    return 0;
  }
  time_t now = time(NULL);
  /* Without a token no call can be made: do not spend the rate budget on
   * calls that would fail anyway (Maskinporten down, key refused). */
  ab_error terr;
  if (ab_auth_token(f->auth, f->http, &terr) == NULL) {
    if (now >= f->token_complaint) {
      hub_logf(f->h, AB_LOG_ERROR, "inbox %s: no Altinn token, so no listing work: %s",
               f->resource, terr.message);
      f->token_complaint = now + 60;
    }
    pthread_mutex_unlock(&f->work_mu);
    return 0;
  }
  if (f->h->shared) {
    /* A listing asked for on another node: look for news now, and save
     * right after so that node sees it. */
    ab_store *st = f->h->primary;
    ab_error ignored;
    if (st->ops->del(st, f->want_key, NULL, &ignored) == 1) {
      pthread_mutex_lock(&f->mu);
      ab_feed_want_news(f->feed, now);
      pthread_mutex_unlock(&f->mu);
      final_save = 1;
    }
  }
  fold_confirmed(f, now);
  pthread_mutex_lock(&f->mu);
  ab_listing_expire(ab_feed_listing(f->feed), now);
  pthread_mutex_unlock(&f->mu);
  unsigned blocked = 0;
  ab_feed_ops ops = feed_ops;
  ops.ctx = f;
  while (hub_mono_ms() - start < work_ms) {
    ab_feed_work w;
    now = time(NULL);
    pthread_mutex_lock(&f->mu);
    ab_work_kind kind = ab_feed_next(f->feed, now, blocked, &w);
    ab_search q;
    if (kind == AB_WORK_SEARCH) {
      ab_feed_work_query(f->feed, &w, &q);
    }
    pthread_mutex_unlock(&f->mu);
    if (kind == AB_WORK_NONE) {
      break;
    }
    const char *endpoint = ab_call_class_endpoint(w.cls);
    long long retry = 0;
    ab_error err;
    if (endpoint != NULL && hub_budget_take(f->h, f->org, endpoint, &retry, &err) != 1) {
      blocked |= 1u << w.cls;     /* not now: other work may still be done */
      continue;
    }
    ab_error_clear(&err);
    calls++;
    if (kind == AB_WORK_EVENTS) {
      ab_event *ev = NULL;
      size_t n = 0;
      int rc = op_events(f, w.after, w.size, &ev, &n, &err);
      pthread_mutex_lock(&f->mu);
      ab_feed_done_events(f->feed, &w, ev, n, rc < 0 ? &err : NULL, time(NULL), &ops);
      pthread_mutex_unlock(&f->mu);
      free(ev);
    } else if (kind == AB_WORK_OVERVIEW) {
      ab_transfer t;
      memset(&t, 0, sizeof(t));
      int rc = op_overview(f, w.id, &t, &err);
      pthread_mutex_lock(&f->mu);
      ab_feed_done_overview(f->feed, &w, rc < 0 ? NULL : &t, rc < 0 ? &err : NULL, time(NULL),
                            &ops);
      pthread_mutex_unlock(&f->mu);
      ab_transfer_clear(&t);
    } else {
      char (*ids)[AB_ID_LEN] = NULL;
      size_t n = 0;
      int rc = op_search(f, &q, &ids, &n, &err);
      pthread_mutex_lock(&f->mu);
      ab_feed_done_search(f->feed, &w, ids, n, rc < 0 ? &err : NULL, time(NULL), &ops);
      pthread_mutex_unlock(&f->mu);
      free(ids);
    }
  }
  pthread_mutex_lock(&f->mu);
  unsigned long changes = ab_feed_changes(f->feed);
  pthread_mutex_unlock(&f->mu);
  long long now_ms = hub_mono_ms();
  if (changes != f->saved_changes && (final_save || now_ms - f->saved_ms >= SAVE_EVERY_MS)) {
    save(f, now_ms);
  }
  pthread_mutex_unlock(&f->work_mu);
  return calls;
}

/* A feed is worked once someone asked for its listing (or an event for it
 * arrived) since this hub started: a gateway whose inbox nobody uses
 * makes no Broker calls for it, and what was learned before a restart is
 * served at once from the store. */
static int is_active(hub_feed *f) {
  pthread_mutex_lock(&f->mu);
  int a = f->active;
  pthread_mutex_unlock(&f->mu);
  return a;
}

static void activate(hub_feed *f) {
  pthread_mutex_lock(&f->mu);
  f->active = 1;
  pthread_mutex_unlock(&f->mu);
}

/* With Redis: 1 (activating f) when another node asked for news of a
 * feed this node has not worked yet. */
static int wanted_elsewhere(hub_feed *f) {
  if (!f->h->shared) {
    return 0;
  }
  ab_store *st = f->h->primary;
  ab_error ignored;
  char *v = NULL;
  int rc = st->ops->get(st, f->want_key, &v, NULL, &ignored);
  free(v);
  if (rc == 1) {
    activate(f);
  }
  return rc == 1;
}

/* Seconds until f has work due (as known here). */
static int due_in(hub_feed *f) {
  pthread_mutex_lock(&f->mu);
  int d = ab_feed_due_in(f->feed, time(NULL));
  pthread_mutex_unlock(&f->mu);
  return d;
}

static void *feeds_main(void *arg) {
  ab_hub *h = arg;
  struct hub_feeds *fs = h->feeds;
  for (;;) {
    int calls = 0;
    long wait_ms = 1000;
    for (size_t i = 0; i < fs->n; i++) {
      if (!is_active(&fs->f[i]) && !wanted_elsewhere(&fs->f[i])) {
        continue;
      }
      calls += round_of(&fs->f[i], ROUND_WORK_MS, 0);
      /* Sleep until work is due (at most a second: the events pull), or a
       * quarter second when due work is waiting for the rate budget. */
      long d = due_in(&fs->f[i]) * 1000L;
      wait_ms = d < wait_ms ? d : wait_ms;
    }
    if (wait_ms == 0 && calls == 0) {
      wait_ms = 250;
    }
    if (h->shared && wait_ms > WANT_POLL_MS) {
      wait_ms = WANT_POLL_MS;     /* other nodes' wants */
    }
    pthread_mutex_lock(&fs->mu);
    fs->rounds++;
    fs->in_round = 0;
    pthread_cond_broadcast(&fs->cv);
    if (!fs->stop && !fs->kicked && wait_ms > 0) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += (wait_ms % 1000) * 1000000L;
      until.tv_sec += wait_ms / 1000 + until.tv_nsec / 1000000000L;
      until.tv_nsec %= 1000000000L;
      pthread_cond_timedwait(&fs->cv, &fs->mu, &until);
    }
    fs->kicked = 0;
    fs->in_round = 1;
    int stop = fs->stop;
    pthread_mutex_unlock(&fs->mu);
    if (stop) {
      return NULL;
    }
  }
}

/* --- life cycle ---------------------------------------------------------- */

static hub_client *client_of(ab_hub *h, const ab_client_cfg *c) {
  for (size_t i = 0; i < h->n_clients; i++) {
    if (h->clients[i].cfg == c) {
      return &h->clients[i];
    }
  }
  return NULL;
}

static int feed_init(ab_hub *h, hub_feed *f, const ab_mount_cfg *m, ab_error *err) {
  f->h = h;
  snprintf(f->org, sizeof(f->org), "%s", m->client->org);
  f->resource = strdup(m->resource_id);
  f->client = client_of(h, m->client);
  pthread_mutex_init(&f->mu, NULL);
  pthread_mutex_init(&f->work_mu, NULL);
  snprintf(f->key, sizeof(f->key), "feed:%s:%s", f->org, m->resource_id);
  snprintf(f->version_key, sizeof(f->version_key), "feed-version:%s:%s", f->org, m->resource_id);
  snprintf(f->lock_key, sizeof(f->lock_key), "feed-lock:%s:%s", f->org, m->resource_id);
  snprintf(f->want_key, sizeof(f->want_key), "feed-want:%s:%s", f->org, m->resource_id);
  if (f->resource == NULL || f->client == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (!ab_store_key_ok(f->lock_key) || !ab_store_key_ok(f->version_key)) {
    return ab_error_set(err, EINVAL, "%s: resource id '%.80s' cannot name shared state",
                        m->source, m->resource_id);
  }
  f->mode = (ab_events_mode) m->events;
  ab_feed_cfg fc = { .org = f->org, .resource_id = f->resource, .label = m->path,
                     .events = f->mode };
  f->feed = ab_feed_new(&fc, time(NULL));
  ab_http_options hopts = { .ca_pem = h->cfg->ca_pem, .ca_pem_len = h->cfg->ca_pem_len };
  f->http = ab_http_new(&hopts);
  ab_auth_config ac = { .source = feed_token, .source_ctx = f };
  f->auth = f->http != NULL ? ab_auth_new(&ac, err) : NULL;
  if (f->feed == NULL || f->http == NULL || f->auth == NULL) {
    return f->http == NULL || f->feed == NULL ? ab_error_set(err, ENOMEM, "out of memory") : -1;
  }
  f->broker.base_url = h->cfg->platform_url;
  f->broker.http = f->http;
  f->broker.auth = f->auth;   /* no pace: the round clears each call with the budget */
  load_if_changed(f, 1);
  return 0;
}

static void feed_free(hub_feed *f) {
  ab_feed_free(f->feed);
  ab_auth_free(f->auth);
  ab_http_free(f->http);
  free(f->resource);
  free(f->loaded_version);
  free(f->wire);
  pthread_mutex_destroy(&f->mu);
  pthread_mutex_destroy(&f->work_mu);
}

int hub_feeds_init(ab_hub *h, ab_error *err) {
  struct hub_feeds *fs = calloc(1, sizeof(*fs));
  const ab_config *cfg = h->cfg;
  if (fs == NULL || (fs->f = calloc(cfg->n_mounts ? cfg->n_mounts : 1, sizeof(hub_feed))) == NULL) {
    free(fs);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  pthread_mutex_init(&fs->mu, NULL);
  pthread_cond_init(&fs->cv, NULL);
  h->feeds = fs;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const ab_mount_cfg *m = &cfg->mounts[i];
    int known = m->direction != AB_INBOX;
    for (size_t k = 0; !known && k < fs->n; k++) {
      known = strcmp(fs->f[k].org, m->client->org) == 0 &&
              strcmp(fs->f[k].resource, m->resource_id) == 0;
    }
    if (!known && feed_init(h, &fs->f[fs->n++], m, err) < 0) {
      return -1;
    }
  }
  return 0;
}

int ab_hub_start_background(ab_hub *h, ab_error *err) {
  struct hub_feeds *fs = h->feeds;
  if (fs == NULL || fs->n == 0 || fs->running) {
    return 0;
  }
  fs->in_round = 1;             /* its first round starts at once */
  if (pthread_create(&fs->thread, NULL, feeds_main, h) != 0) {
    return ab_error_set(err, EAGAIN, "cannot start the inbox feeds' thread");
  }
  fs->running = 1;
  return 0;
}

void hub_feeds_free(ab_hub *h) {
  struct hub_feeds *fs = h->feeds;
  if (fs == NULL) {
    return;
  }
  if (fs->running) {
    pthread_mutex_lock(&fs->mu);
    fs->stop = 1;
    pthread_cond_broadcast(&fs->cv);
    pthread_mutex_unlock(&fs->mu);
    pthread_join(fs->thread, NULL);
  }
  for (size_t i = 0; i < fs->n; i++) {
    hub_feed *f = &fs->f[i];
    if (f->holding) {
      round_of(f, 0, 1);           /* keep what was learned */
      ab_error ignored;
      if (h->shared) {             /* let another node take over at once */
        h->primary->ops->del(h->primary, f->lock_key, h->node_id, &ignored);
      }
    }
    feed_free(f);
  }
  free(fs->f);
  pthread_mutex_destroy(&fs->mu);
  pthread_cond_destroy(&fs->cv);
  free(fs);
  h->feeds = NULL;
}

/* --- requests ------------------------------------------------------------ */

static hub_feed *find_feed(ab_hub *h, const char *org, const char *resource) {
  struct hub_feeds *fs = h->feeds;
  for (size_t i = 0; fs != NULL && i < fs->n; i++) {
    if (strcmp(fs->f[i].org, org) == 0 && (resource == NULL || strcmp(fs->f[i].resource, resource) == 0)) {
      return &fs->f[i];
    }
  }
  return NULL;
}

/* On a node that does not work the feed: asks the worker node to look
 * for news (feed-want) and waits up to wait_ms for its next save. */
static void wait_for_worker(hub_feed *f, long wait_ms) {
  ab_store *st = f->h->primary;
  ab_error err;
  if (st->ops->set(st, f->want_key, f->h->node_id, WANT_TTL_MS, &err) < 0) {
    return;
  }
  pthread_mutex_lock(&f->work_mu);
  char *before = f->loaded_version != NULL ? strdup(f->loaded_version) : NULL;
  long long deadline = hub_mono_ms() + wait_ms;
  while (hub_mono_ms() < deadline) {
    struct timespec ts = { 0, 50 * 1000000L };
    nanosleep(&ts, NULL);
    char *now = NULL;
    int rc = hub_get(f->h, f->version_key, &now, NULL, &err);
    int moved = rc == 1 && (before == NULL || strcmp(now, before) != 0);
    free(now);
    if (rc < 0 || moved) {
      break;
    }
  }
  load_if_changed(f, 0);
  free(before);
  pthread_mutex_unlock(&f->work_mu);
}

/* Gives the feed up to wait_ms to do due work before answering: the
 * background thread is woken and waited for, or (no thread) the caller
 * does a round itself. */
static void freshen(ab_hub *h, hub_feed *f, long wait_ms) {
  struct hub_feeds *fs = h->feeds;
  int first = !is_active(f);
  activate(f);
  if (first && wait_ms <= 0) {
    wait_ms = 1;                /* the first look starts the work */
  }
  if (wait_ms > 0) {
    /* Someone looks at the listing: what was published a moment ago
     * should be in it (an events pull, or a search inside the budget). */
    long long now = hub_mono_ms();
    pthread_mutex_lock(&f->mu);
    if (now - f->demand_ms >= PULL_ON_DEMAND_MS) {
      f->demand_ms = now;
      ab_feed_want_news(f->feed, time(NULL));
    }
    pthread_mutex_unlock(&f->mu);
  }
  if (wait_ms <= 0 || due_in(f) > 0) {
    if (!fs->running) {
      round_of(f, 0, 0);          /* still pick up another node's saves */
    }
    return;
  }
  if (!fs->running) {
    pthread_mutex_lock(&f->mu);
    int first = ab_feed_last_sweep(f->feed) == 0;
    pthread_mutex_unlock(&f->mu);
    round_of(f, first ? FIRST_LISTING_MS : wait_ms, 1);
    return;
  }
  if (h->shared && !f->holding) {
    /* Maybe no node works it yet: then this one takes it on now. */
    round_of(f, wait_ms, 1);
    if (!f->holding) {
      wait_for_worker(f, wait_ms);
    }
    return;
  }
  pthread_mutex_lock(&fs->mu);
  /* A whole round after this moment: the next one when the thread is
   * waiting, else the one after the round it is in (which may have passed
   * this feed before the news was asked for). Waiting for two rounds from
   * idle would sleep through the thread's pause between them, making every
   * READDIR take the whole wait. */
  unsigned long long target = fs->rounds + (fs->in_round ? 2 : 1);
  fs->kicked = 1;
  pthread_cond_broadcast(&fs->cv);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += wait_ms / 1000;
  until.tv_nsec += (wait_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (fs->rounds < target && !fs->stop &&
         pthread_cond_timedwait(&fs->cv, &fs->mu, &until) == 0) {
  }
  pthread_mutex_unlock(&fs->mu);
}

int hub_op_inbox_list(ab_hub *h, const char *org, const char *resource, const cJSON *req,
                      cJSON *reply, ab_error *err) {
  hub_feed *f = find_feed(h, org, resource);
  if (f == NULL) {
    return ab_error_set(err, ENOENT, "no inbox mount for organisation %s and resource %.100s",
                        org, resource);
  }
  const cJSON *wait = cJSON_GetObjectItem(req, "wait_ms");
  long wait_ms = cJSON_IsNumber(wait) ? (long) wait->valuedouble : 0;
  freshen(h, f, wait_ms < 0 ? 0 : wait_ms > MAX_WAIT_MS ? MAX_WAIT_MS : wait_ms);
  if (h->shared) {
    fold_confirmed(f, time(NULL));  /* confirmed on any node a moment ago */
  }
  const cJSON *have = cJSON_GetObjectItem(req, "have");
  pthread_mutex_lock(&f->mu);
  unsigned long changes = ab_feed_changes(f->feed);
  if (changes != f->seen_changes || f->version == 0) {
    f->seen_changes = changes;
    f->version++;
  }
  unsigned long long version = f->version;
  int unchanged = cJSON_IsNumber(have) && (unsigned long long) have->valuedouble == version;
  /* Built once per version: every new session asks for the whole listing. */
  if (!unchanged && (f->wire == NULL || f->wire_version != version)) {
    free(f->wire);
    f->wire = ab_inbox_wire_encode(ab_feed_listing(f->feed));
    f->wire_version = version;
  }
  int ok = unchanged || (f->wire != NULL && cJSON_AddStringToObject(reply, "listing", f->wire) != NULL);
  pthread_mutex_unlock(&f->mu);
  if (!ok) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  cJSON_AddNumberToObject(reply, "version", (double) version);
  if (unchanged) {
    cJSON_AddBoolToObject(reply, "unchanged", 1);
  }
  return 0;
}

int hub_op_inbox_event(ab_hub *h, const cJSON *event, cJSON *reply, ab_error *err) {
  ab_event ev;
  if (ab_event_parse(event, &ev) < 0) {
    return ab_error_set(err, EINVAL, "inbox_event needs \"event\", a CloudEvent");
  }
  struct hub_feeds *fs = h->feeds;
  int mine = 0;
  time_t now = time(NULL);
  for (size_t i = 0; fs != NULL && i < fs->n; i++) {
    hub_feed *f = &fs->f[i];
    pthread_mutex_lock(&f->mu);
    int about = ab_feed_event(f->feed, &ev, now);
    f->active |= about;
    mine += about;
    pthread_mutex_unlock(&f->mu);
  }
  if (mine > 0 && fs->running) {
    pthread_mutex_lock(&fs->mu);
    fs->kicked = 1;
    pthread_cond_broadcast(&fs->cv);
    pthread_mutex_unlock(&fs->mu);
  }
  cJSON_AddNumberToObject(reply, "feeds", mine);
  return 0;
}

int hub_op_inbox_work(ab_hub *h, const cJSON *req, cJSON *reply, ab_error *err) {
  (void) err;
  struct hub_feeds *fs = h->feeds;
  const cJSON *wait = cJSON_GetObjectItem(req, "wait_ms");
  long wait_ms = cJSON_IsNumber(wait) ? (long) wait->valuedouble : 1000;
  int due = 60;
  for (size_t i = 0; fs != NULL && i < fs->n; i++) {
    freshen(h, &fs->f[i], wait_ms < 0 ? 0 : wait_ms > MAX_WAIT_MS ? MAX_WAIT_MS : wait_ms);
    int d = due_in(&fs->f[i]);
    due = d < due ? d : due;
  }
  cJSON_AddNumberToObject(reply, "due_s", due);
  cJSON_AddBoolToObject(reply, "background", fs != NULL && fs->running);
  return 0;
}

int hub_op_inbox_status(ab_hub *h, const char *org, const char *resource, cJSON *reply,
                        ab_error *err) {
  hub_feed *f = find_feed(h, org, resource);
  if (f == NULL) {
    return ab_error_set(err, ENOENT, "no inbox mount for organisation %s and resource %.100s",
                        org, resource);
  }
  pthread_mutex_lock(&f->mu);
  const ab_listing *l = ab_feed_listing(f->feed);
  cJSON_AddNumberToObject(reply, "listed", (double) ab_listing_shown(l));
  cJSON_AddNumberToObject(reply, "pending", (double) ab_listing_pending(l));
  cJSON_AddNumberToObject(reply, "lastSweep", (double) ab_feed_last_sweep(f->feed));
  cJSON_AddNumberToObject(reply, "lastEvents", (double) ab_feed_last_events(f->feed));
  pthread_mutex_unlock(&f->mu);
  cJSON_AddBoolToObject(reply, "working", f->holding);
  cJSON_AddStringToObject(reply, "events", f->mode == AB_EVENTS_PULL ? "pull"
                          : f->mode == AB_EVENTS_WEBHOOK ? "webhook" : "off");
  return 0;
}

void hub_feed_confirmed(ab_hub *h, const char *org, const char *id) {
  struct hub_feeds *fs = h->feeds;
  time_t now = time(NULL);
  for (size_t i = 0; fs != NULL && i < fs->n; i++) {
    hub_feed *f = &fs->f[i];
    if (strcmp(f->org, org) == 0) {
      pthread_mutex_lock(&f->mu);
      if (ab_listing_find_id(ab_feed_listing(f->feed), id) != NULL) {
        ab_feed_confirmed(f->feed, id, now);
      }
      pthread_mutex_unlock(&f->mu);
    }
  }
}

int hub_op_inbox_recheck(ab_hub *h, const char *org, const char *id, cJSON *reply,
                         ab_error *err) {
  (void) reply; (void) err;
  struct hub_feeds *fs = h->feeds;
  time_t now = time(NULL);
  for (size_t i = 0; fs != NULL && i < fs->n; i++) {
    hub_feed *f = &fs->f[i];
    if (strcmp(f->org, org) == 0) {
      pthread_mutex_lock(&f->mu);
      if (ab_listing_find_id(ab_feed_listing(f->feed), id) != NULL) {
        ab_feed_recheck(f->feed, id, now);
      }
      pthread_mutex_unlock(&f->mu);
    }
  }
  return 0;
}
