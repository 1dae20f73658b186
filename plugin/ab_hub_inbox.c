/* ab_hub_inbox.c - what the inbox shares between sessions and nodes:
 *
 *   read:<org>:<id>          the transfer was read whole (rm may confirm it)
 *   confirming:<org>:<id>    a confirm in progress (claim: one confirm per file)
 *   confirmed:<org>:<id>     confirmed through this gateway
 *   confirmed-list:<org>     the most recent confirmed ids (other nodes' feeds fold them in)
 *
 * The listings themselves are the feeds of ab_hub_feed.c.
 *
 * Markers are written to the embedded store too (mirror), so a node still
 * knows what it read and confirmed when Redis is unreachable. A confirm
 * claim needs the shared store: without it two nodes could confirm one file.
 */
#include "ab_hub_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Transfers live 30 days by default (TTL P30D); markers a little longer. */
#define MARKER_TTL_MS (31LL * 24 * 3600 * 1000)
#define CLAIM_TTL_MS 120000
#define CONFIRMED_LIST_MAX 2000

int hub_op_read_mark(ab_hub *h, const char *org, const char *id, cJSON *reply, ab_error *err) {
  (void) reply;
  char key[128];
  snprintf(key, sizeof(key), "read:%s:%s", org, id);
  return hub_put(h, key, "1", MARKER_TTL_MS, 1, err);
}

/* 1 when key is set in the primary store or (mirror) the local one. */
static int marker(ab_hub *h, const char *key, ab_error *err) {
  char *v = NULL;
  int rc = hub_get(h, key, &v, NULL, err);
  free(v);
  if (rc == 0 && h->shared) {
    rc = h->local->ops->get(h->local, key, &v, NULL, err);
    free(v);
  }
  return rc;
}

int hub_op_read_check(ab_hub *h, const char *org, const char *id, cJSON *reply, ab_error *err) {
  char key[128];
  snprintf(key, sizeof(key), "read:%s:%s", org, id);
  int rc = marker(h, key, err);
  if (rc < 0) {
    return -1;
  }
  cJSON_AddBoolToObject(reply, "read", rc == 1);
  return 0;
}

int hub_op_confirm_claim(ab_hub *h, ab_hub_peer *p, const char *org, const char *id,
                         cJSON *reply, ab_error *err) {
  char key[128];
  snprintf(key, sizeof(key), "confirmed:%s:%s", org, id);
  int rc = marker(h, key, err);
  if (rc < 0) {
    return -1;
  }
  if (rc == 1) {
    cJSON_AddStringToObject(reply, "state", "confirmed");
    return 0;
  }
  char claim[160];
  snprintf(claim, sizeof(claim), "%s:%lu", h->node_id, p->id);
  snprintf(key, sizeof(key), "confirming:%s:%s", org, id);
  rc = h->primary->ops->set_nx(h->primary, key, claim, CLAIM_TTL_MS, err);
  if (rc < 0) {
    if (hub_primary_down(h, err)) {
      return ab_error_set(err, EAGAIN, "confirming is paused while the shared state (Redis) is "
                          "unavailable, so that no file is confirmed twice; the file stays; try again later");
    }
    return -1;
  }
  hub_primary_ok(h);
  cJSON_AddStringToObject(reply, "state", rc == 1 ? "claimed" : "busy");
  if (rc == 1) {
    cJSON_AddStringToObject(reply, "claim", claim);
  }
  return 0;
}

int hub_op_confirm_done(ab_hub *h, const char *org, const char *id, const char *claim,
                        int confirmed, cJSON *reply, ab_error *err) {
  (void) reply;
  char key[128];
  int rc = 0;
  if (confirmed) {
    hub_feed_confirmed(h, org, id);
    snprintf(key, sizeof(key), "confirmed:%s:%s", org, id);
    rc = hub_put(h, key, "1", MARKER_TTL_MS, 1, err);
    snprintf(key, sizeof(key), "confirmed-list:%s", org);
    ab_error e2;
    if (hub_push(h, key, id, CONFIRMED_LIST_MAX, MARKER_TTL_MS, &e2) < 0 && rc == 0) {
      *err = e2;
      rc = -1;
    }
  }
  if (claim != NULL) {
    ab_error ignored;
    snprintf(key, sizeof(key), "confirming:%s:%s", org, id);
    h->primary->ops->del(h->primary, key, claim, &ignored);
  }
  return rc;
}

