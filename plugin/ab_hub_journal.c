/* ab_hub_journal.c - the upload journal: one record per Broker transfer
 * this gateway created, for receipts and duplicate detection.
 *
 *   journal:<org>:<id>        the record (JSON, see ab_agent.h "journal_add")
 *   journal-index:<org>       ids, newest last (capped)
 *   journal-ref:<org>:<hash>  id of the transfer with that sender's reference
 *   journal-key:<org>:<hash>  id of the transfer last added with that key in "keys"
 *
 * Adding a record with a known id updates it (state changes: initialized,
 * uploaded, published, failed...) without a second index entry. A record
 * whose sendersFileTransferReference was already used by another transfer
 * is stored, and the reply names the earlier one ("previous"), so the
 * caller can decide what a duplicate means.
 */
#include "ab_hub_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNAL_TTL_MS (400LL * 24 * 3600 * 1000)
#define JOURNAL_INDEX_MAX 100000

int hub_op_journal_add(ab_hub *h, const char *org, const cJSON *entry, cJSON *reply,
                       ab_error *err) {
  const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "id"));
  if (!cJSON_IsObject(entry) || id == NULL || !hub_is_id(id)) {
    return ab_error_set(err, EINVAL, "journal_add needs \"entry\" with the transfer's \"id\"");
  }
  char key[128];
  snprintf(key, sizeof(key), "journal:%s:%s", org, id);
  char *old = NULL;
  int existed = hub_get(h, key, &old, NULL, err);
  free(old);
  if (existed < 0) {
    return -1;
  }
  char *text = cJSON_PrintUnformatted(entry);
  if (text == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  int rc = hub_put(h, key, text, JOURNAL_TTL_MS, 0, err);
  free(text);
  if (rc < 0) {
    return -1;
  }
  if (!existed) {
    snprintf(key, sizeof(key), "journal-index:%s", org);
    if (hub_push(h, key, id, JOURNAL_INDEX_MAX, JOURNAL_TTL_MS, err) < 0) {
      return -1;
    }
  }
  const char *ref = cJSON_GetStringValue(cJSON_GetObjectItem(entry, "ref"));
  if (ref != NULL && ref[0] != '\0') {
    char fp[17];
    ab_token_fingerprint(ref, fp); /* any text -> a safe key part */
    snprintf(key, sizeof(key), "journal-ref:%s:%s", org, fp);
    char *prev = NULL;
    if (hub_get(h, key, &prev, NULL, err) == 1 && strcmp(prev, id) != 0) {
      cJSON_AddStringToObject(reply, "previous", prev);
    }
    free(prev);
    if (hub_put(h, key, id, JOURNAL_TTL_MS, 0, err) < 0) {
      return -1;
    }
  }
  const cJSON *keys = cJSON_GetObjectItem(entry, "keys");
  const cJSON *k;
  cJSON_ArrayForEach(k, keys) {
    if (!cJSON_IsString(k)) {
      continue;
    }
    char fp[17];
    ab_token_fingerprint(k->valuestring, fp);
    snprintf(key, sizeof(key), "journal-key:%s:%s", org, fp);
    if (hub_put(h, key, id, JOURNAL_TTL_MS, 0, err) < 0) {
      return -1;
    }
  }
  cJSON_AddBoolToObject(reply, "created", !existed);
  return 0;
}

int hub_op_journal_lookup(ab_hub *h, const char *org, const char *lookup, cJSON *reply,
                          ab_error *err) {
  char fp[17], key[128];
  ab_token_fingerprint(lookup, fp);
  snprintf(key, sizeof(key), "journal-key:%s:%s", org, fp);
  char *id = NULL;
  int rc = hub_get(h, key, &id, NULL, err);
  if (rc < 0) {
    return -1;
  }
  cJSON *entry = NULL;
  if (rc == 1 && hub_is_id(id)) {
    char *text = NULL;
    snprintf(key, sizeof(key), "journal:%s:%s", org, id);
    if (hub_get(h, key, &text, NULL, err) == 1) {
      entry = cJSON_Parse(text);
    }
    free(text);
  }
  free(id);
  cJSON_AddItemToObject(reply, "entry", entry != NULL ? entry : cJSON_CreateNull());
  return 0;
}

int hub_op_journal_get(ab_hub *h, const char *org, const char *id, cJSON *reply, ab_error *err) {
  char key[128];
  snprintf(key, sizeof(key), "journal:%s:%s", org, id);
  char *text = NULL;
  int rc = hub_get(h, key, &text, NULL, err);
  if (rc < 0) {
    return -1;
  }
  if (rc == 0) {
    return ab_error_set(err, ENOENT, "no journal record for transfer %s", id);
  }
  cJSON *entry = cJSON_Parse(text);
  free(text);
  cJSON_AddItemToObject(reply, "entry", entry != NULL ? entry : cJSON_CreateNull());
  return 0;
}

int hub_op_journal_list(ab_hub *h, const char *org, int max, cJSON *reply, ab_error *err) {
  if (max < 1 || max > 10000) {
    max = 100;
  }
  char key[128];
  snprintf(key, sizeof(key), "journal-index:%s", org);
  char **ids = NULL;
  size_t n = 0;
  int rc = h->primary->ops->list_range(h->primary, key, (size_t) max, &ids, &n, err);
  if (rc < 0 && hub_primary_down(h, err)) {
    rc = h->local->ops->list_range(h->local, key, (size_t) max, &ids, &n, err);
  }
  if (rc < 0) {
    return -1;
  }
  cJSON *entries = cJSON_AddArrayToObject(reply, "entries");
  for (size_t i = 0; i < n; i++) {
    char *text = NULL;
    snprintf(key, sizeof(key), "journal:%s:%.40s", org, ids[i]);
    if (hub_get(h, key, &text, NULL, err) == 1) {
      cJSON *e = cJSON_Parse(text);
      if (e != NULL) {
        cJSON_AddItemToArray(entries, e);
      }
    }
    free(text);
  }
  ab_store_free_list(ids, n);
  return 0;
}
