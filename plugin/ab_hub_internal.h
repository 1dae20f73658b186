/* ab_hub_internal.h - state shared by the hub's files (ab_hub.c: requests,
 * failover; ab_hub_token.c; ab_hub_budget.c; ab_hub_inbox.c;
 * ab_hub_feed.c; ab_hub_journal.c). Not part of any public API. */
#ifndef AB_HUB_INTERNAL_H
#define AB_HUB_INTERNAL_H

#include <pthread.h>

#include "ab_auth.h"
#include "ab_http.h"
#include "ab_hub.h"
#include "ab_store.h"

/* One Maskinporten client, as the hub fetches and caches its tokens. */
typedef struct hub_client {
  const ab_client_cfg *cfg;
  ab_auth *auth;             /* with the key: signs grants */
  ab_http *http;             /* used under mu only */
  char *scope;               /* borrowed by auth */
  pthread_mutex_t mu;        /* single flight inside this process */
  char key[96];              /* store key of the token */
  char lock_key[96];         /* store key of the refresh lock */
  char *value;               /* cached store value (JSON with the token), or NULL */
  char *token;               /* the token inside value */
  char fp[17];               /* its fingerprint */
  long long valid_until;     /* monotonic ms */
} hub_client;

typedef struct hub_stats {
  long long grants;          /* grant+exchange done by this hub */
  long long tokens_served;
  long long budget_refused;
  long long replayed;        /* pending writes replayed into Redis */
} hub_stats;

struct ab_hub {
  const ab_config *cfg;
  ab_log_fn log;
  void *log_ctx;
  ab_store *primary;         /* Redis when configured, else == local */
  ab_store *local;           /* embedded: state dir, or memory only */
  int shared;                /* primary is Redis */
  char node_id[96];          /* host:pid:random, unique per hub */
  pthread_mutex_t mu;        /* guards the fields below */
  int primary_down;
  int nodes;                 /* gateway nodes seen sharing the store (>= 1) */
  long long next_heartbeat;  /* monotonic ms */
  hub_stats stats;
  pthread_mutex_t pending_mu;/* queueing vs replaying writes */
  hub_client *clients;
  size_t n_clients;
  struct hub_metrics *metrics; /* ab_hub_metrics.c */
  struct hub_feeds *feeds;   /* the inbox feeds (ab_hub_feed.c) */
};

long long hub_mono_ms(void);
void hub_logf(ab_hub *h, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Failover: after a primary-store call failed with err, returns 1 when the
 * primary is unreachable (marking it down, logging once) and the caller
 * should use h->local instead; 0 for other errors. hub_primary_ok records a
 * success (logging the recovery once). */
int hub_primary_down(ab_hub *h, const ab_error *err);
void hub_primary_ok(ab_hub *h);

/* Store helpers with failover. hub_get: primary, else local (1/0/-1 as
 * ab_store get). hub_put: primary, and also local when mirror; with the
 * primary down, local plus the pending queue (replayed later). hub_push:
 * the same for lists. */
int hub_get(ab_hub *h, const char *key, char **value, long long *ttl_ms, ab_error *err);
int hub_put(ab_hub *h, const char *key, const char *value, long long ttl_ms, int mirror,
            ab_error *err);
int hub_push(ab_hub *h, const char *key, const char *value, size_t max_len, long long ttl_ms,
             ab_error *err);

/* Op handlers: fill reply (an object) or return -1 with err. */
int hub_op_token(ab_hub *h, hub_client *c, const char *rejected, cJSON *reply, ab_error *err);
int hub_op_budget(ab_hub *h, const char *org, const char *endpoint, cJSON *reply, ab_error *err);
int hub_op_read_mark(ab_hub *h, const char *org, const char *id, cJSON *reply, ab_error *err);
int hub_op_read_check(ab_hub *h, const char *org, const char *id, cJSON *reply, ab_error *err);
int hub_op_confirm_claim(ab_hub *h, ab_hub_peer *p, const char *org, const char *id,
                         cJSON *reply, ab_error *err);
int hub_op_confirm_done(ab_hub *h, const char *org, const char *id, const char *claim,
                        int ok, cJSON *reply, ab_error *err);
int hub_op_inbox_list(ab_hub *h, const char *org, const char *resource, const cJSON *req,
                      cJSON *reply, ab_error *err);
int hub_op_inbox_event(ab_hub *h, const cJSON *event, cJSON *reply, ab_error *err);
int hub_op_inbox_work(ab_hub *h, const cJSON *req, cJSON *reply, ab_error *err);
int hub_op_inbox_status(ab_hub *h, const char *org, const char *resource, cJSON *reply,
                        ab_error *err);
int hub_op_inbox_recheck(ab_hub *h, const char *org, const char *id, cJSON *reply,
                         ab_error *err);
int hub_op_journal_add(ab_hub *h, const char *org, const cJSON *entry, cJSON *reply,
                       ab_error *err);
int hub_op_journal_get(ab_hub *h, const char *org, const char *id, cJSON *reply, ab_error *err);
int hub_op_journal_list(ab_hub *h, const char *org, int max, cJSON *reply, ab_error *err);
int hub_op_journal_lookup(ab_hub *h, const char *org, const char *key, cJSON *reply,
                          ab_error *err);

/* Metrics (ab_hub_metrics.c): the gateway-wide counts sessions hand in
 * ("metrics_add"), the hub's own HTTP calls and token refreshes, rendered
 * for "metrics" and written to AltinnBrokerMetricsFile by the agent. */
struct hub_metrics *hub_metrics_new(ab_hub *h);
void hub_metrics_free(struct hub_metrics *m);
/* An ab_http_options observer for the hub's own requests (ctx = the hub). */
void hub_metrics_http(void *ctx, const char *method, const char *url, long status,
                      double seconds);
/* "metrics_add" {"counts":{...}} and "metrics" -> {"text"}. */
int hub_op_metrics(ab_hub *h, const char *op, const cJSON *req, cJSON *reply, ab_error *err);
/* Writes AltinnBrokerMetricsFile when due (called from ab_hub_tick). */
void hub_metrics_tick(ab_hub *h);
/* The rate budget (ab_hub_budget.c): 1 = one call to Broker `endpoint`
 * for org may be made now (counted), 0 = not now (*retry_ms says when),
 * -1 with err. */
int hub_budget_take(ab_hub *h, const char *org, const char *endpoint, long long *retry_ms,
                    ab_error *err);

/* The inbox feeds (ab_hub_feed.c): created with the hub, freed with it
 * (stopping the background thread, saving what was learned). */
int hub_feeds_init(ab_hub *h, ab_error *err);
void hub_feeds_free(ab_hub *h);
/* A confirmation recorded through this hub: the transfer leaves the listing. */
void hub_feed_confirmed(ab_hub *h, const char *org, const char *id);

/* 1 when s is a Broker GUID (hex and '-', 36 chars): safe in a store key. */
int hub_is_id(const char *s);

#endif
