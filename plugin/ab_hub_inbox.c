/* ab_hub_inbox.c - what the inbox shares between sessions and nodes:
 *
 *   read:<org>:<id>          the transfer was read whole (rm may confirm it)
 *   confirming:<org>:<id>    a confirm in progress (claim: one confirm per file)
 *   confirmed:<org>:<id>     confirmed through this gateway
 *   confirmed-list:<org>     the most recent confirmed ids (one read to filter a listing)
 *   listing:<org>:<res>      the last listing (JSON entries) of a resource
 *   listing-fresh:<org>:<res> present while that listing is fresh
 *   listing-lock:<org>:<res> who is refreshing it (refresh claim)
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
#define LISTING_TTL_MS 3600000
#define LISTING_FRESH_MS 10000
#define LISTING_LOCK_MS 30000
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

/* The ids confirmed recently (primary and local), as a cJSON array to
 * search; NULL when none or unknown. */
static cJSON *recent_confirmed(ab_hub *h, const char *org) {
  char key[128];
  snprintf(key, sizeof(key), "confirmed-list:%s", org);
  cJSON *ids = cJSON_CreateArray();
  ab_store *stores[2] = { h->primary, h->shared ? h->local : NULL };
  for (int s = 0; s < 2 && ids != NULL; s++) {
    if (stores[s] == NULL) {
      continue;
    }
    char **items = NULL;
    size_t n = 0;
    ab_error err;
    if (stores[s]->ops->list_range(stores[s], key, CONFIRMED_LIST_MAX, &items, &n, &err) < 0) {
      continue;
    }
    for (size_t i = 0; i < n; i++) {
      cJSON_AddItemToArray(ids, cJSON_CreateString(items[i]));
    }
    ab_store_free_list(items, n);
  }
  return ids;
}

static int in_array(const cJSON *arr, const char *s) {
  const cJSON *it;
  cJSON_ArrayForEach(it, arr) {
    if (cJSON_IsString(it) && strcmp(it->valuestring, s) == 0) {
      return 1;
    }
  }
  return 0;
}

int hub_op_listing_get(ab_hub *h, const char *org, const char *resource, int claim,
                       cJSON *reply, ab_error *err) {
  char key[160], fresh_key[180];
  snprintf(key, sizeof(key), "listing:%s:%s", org, resource);
  snprintf(fresh_key, sizeof(fresh_key), "listing-fresh:%s:%s", org, resource);
  char *value = NULL, *fresh = NULL;
  int rc = hub_get(h, key, &value, NULL, err);
  if (rc < 0) {
    return -1;
  }
  int is_fresh = rc == 1 && hub_get(h, fresh_key, &fresh, NULL, err) == 1;
  free(fresh);
  if (rc == 1) {
    cJSON *entries = cJSON_Parse(value);
    free(value);
    if (!cJSON_IsArray(entries)) {
      cJSON_Delete(entries);
      entries = NULL;
    }
    cJSON *confirmed = entries != NULL ? recent_confirmed(h, org) : NULL;
    /* Drop what was confirmed since the listing was made (on any node). */
    cJSON *kept = cJSON_CreateArray();
    cJSON *e;
    cJSON_ArrayForEach(e, entries) {
      const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(e, "id"));
      if (id != NULL && !in_array(confirmed, id)) {
        cJSON_AddItemToArray(kept, cJSON_Duplicate(e, 1));
      }
    }
    cJSON_Delete(confirmed);
    cJSON_Delete(entries);
    cJSON_AddItemToObject(reply, "entries", kept);
  }
  cJSON_AddBoolToObject(reply, "fresh", is_fresh);
  int refresh = 0;
  if (!is_fresh && claim) {
    char lock_key[180];
    snprintf(lock_key, sizeof(lock_key), "listing-lock:%s:%s", org, resource);
    ab_error e2;
    int got = h->primary->ops->set_nx(h->primary, lock_key, h->node_id, LISTING_LOCK_MS, &e2);
    /* With Redis down, every node refreshes for itself (its budget share
     * keeps the total inside the limit). */
    refresh = got == 1 || (got < 0 && hub_primary_down(h, &e2));
  }
  cJSON_AddBoolToObject(reply, "refresh", refresh);
  return 0;
}

int hub_op_listing_put(ab_hub *h, const char *org, const char *resource,
                       const cJSON *entries, cJSON *reply, ab_error *err) {
  (void) reply;
  if (!cJSON_IsArray(entries)) {
    return ab_error_set(err, EINVAL, "listing_put needs \"entries\" (an array)");
  }
  char key[160], fresh_key[180], lock_key[180];
  snprintf(key, sizeof(key), "listing:%s:%s", org, resource);
  snprintf(fresh_key, sizeof(fresh_key), "listing-fresh:%s:%s", org, resource);
  snprintf(lock_key, sizeof(lock_key), "listing-lock:%s:%s", org, resource);
  char *text = cJSON_PrintUnformatted(entries);
  if (text == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  int rc = hub_put(h, key, text, LISTING_TTL_MS, 1, err);
  free(text);
  ab_error ignored;
  if (rc == 0) {
    hub_put(h, fresh_key, "1", LISTING_FRESH_MS, 0, &ignored);
  }
  h->primary->ops->del(h->primary, lock_key, NULL, &ignored);
  return rc;
}
