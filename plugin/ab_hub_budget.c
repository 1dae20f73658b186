/* ab_hub_budget.c - the Broker's per-organisation rate limits, shared by
 * every session (and node) that uses the store.
 *
 * Limits per organisation and endpoint per minute (broker-api.md §9):
 * search 10, details 15, every other endpoint 120. The window is a sliding
 * 61 s rather than 60 s, so a call admitted just as the oldest leaves our
 * window cannot arrive at the Broker while that one is still in its own.
 * With Redis unreachable each node takes only its share (limit / nodes
 * last seen) of a window that also holds the calls it made through Redis
 * before (every take is recorded in the embedded store too), so a node that
 * was busy just before the outage waits instead of starting afresh.
 */
#include "ab_hub_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define WINDOW_MS 61000

/* Altinn's limits, or lower ones from AltinnBrokerRateLimit. */
static int limit_for(const ab_config *cfg, const char *endpoint) {
  int configured = ab_config_rate_limit(cfg, endpoint);
  if (configured > 0) {
    return configured;
  }
  if (strcmp(endpoint, "search") == 0) {
    return 10;
  }
  if (strcmp(endpoint, "details") == 0) {
    return 15;
  }
  return 120;
}

static int known_endpoint(const char *e) {
  static const char *names[] = { "initialize", "upload", "overview", "details", "search",
                                 "download", "confirmdownload", NULL };
  for (int i = 0; names[i] != NULL; i++) {
    if (strcmp(names[i], e) == 0) {
      return 1;
    }
  }
  return 0;
}

int hub_budget_take(ab_hub *h, const char *org, const char *endpoint, long long *retry_ms,
                    ab_error *err) {
  if (!known_endpoint(endpoint)) {
    return ab_error_set(err, EINVAL, "unknown Broker endpoint '%.40s'", endpoint);
  }
  char key[128];
  snprintf(key, sizeof(key), "rate:%s:%s", org, endpoint);
  int limit = limit_for(h->cfg, endpoint);
  long long retry = 0;
  int rc = h->primary->ops->rate_take(h->primary, key, limit, WINDOW_MS, &retry, err);
  if (rc >= 0) {
    hub_primary_ok(h);
    if (rc == 1 && h->shared) {
      long long ignored_retry;
      ab_error ignored;
      h->local->ops->rate_take(h->local, key, INT_MAX, WINDOW_MS, &ignored_retry, &ignored);
    }
  } else if (hub_primary_down(h, err)) {
    pthread_mutex_lock(&h->mu);
    int nodes = h->nodes;
    pthread_mutex_unlock(&h->mu);
    int share = limit / (nodes > 0 ? nodes : 1);
    rc = h->local->ops->rate_take(h->local, key, share > 0 ? share : 1, WINDOW_MS, &retry, err);
  }
  if (rc == 0) {
    pthread_mutex_lock(&h->mu);
    h->stats.budget_refused++;
    pthread_mutex_unlock(&h->mu);
  }
  *retry_ms = retry;
  return rc;
}

int hub_op_budget(ab_hub *h, const char *org, const char *endpoint, cJSON *reply, ab_error *err) {
  long long retry = 0;
  int rc = hub_budget_take(h, org, endpoint, &retry, err);
  if (rc < 0) {
    return -1;
  }
  cJSON_AddBoolToObject(reply, "granted", rc == 1);
  cJSON_AddNumberToObject(reply, "retry_ms", (double) retry);
  return 0;
}
