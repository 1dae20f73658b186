/* ab_journal_shared.c - the upload journal over the gateway's shared
 * state (see ab_journal.h and the journal ops in ab_agent.h).
 *
 * Each entry is one journal record of the organisation, a JSON object
 * with the fields of the agent's protocol (id, mount, name, size, md5,
 * ref, state, user, at) and the outbox's own: scope, dir, recipients,
 * duplicateOf, status, statusText, recipientStatus, checked.
 */
#include "ab_journal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct ab_journal {
  ab_shared *shared;
};

ab_journal *ab_journal_open(ab_shared *shared, ab_error *err) {
  ab_journal *j = calloc(1, sizeof(*j));
  if (j == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  j->shared = shared;
  return j;
}

void ab_journal_close(ab_journal *j) {
  free(j);
}

void ab_journal_scope(const char *org, const char *resource, const char *mount_path,
                      char out[64]) {
  /* FNV-1a: stable across runs, builds and nodes. */
  uint64_t h = 1469598103934665603ULL;
  const char *parts[] = { resource, "\n", mount_path };
  for (size_t i = 0; i < 3; i++) {
    for (const unsigned char *p = (const unsigned char *) parts[i]; *p; p++) {
      h = (h ^ *p) * 1099511628211ULL;
    }
  }
  snprintf(out, 64, "%.9s.%016" PRIx64, org, h);
}

/* The organisation part of a scope. */
static void scope_org(const char *scope, char org[16]) {
  size_t n = strcspn(scope, ".");
  snprintf(org, 16, "%.*s", (int) (n < 15 ? n : 15), scope);
}

static cJSON *entry_json(const char *scope, const char *mount_path, const ab_journal_entry *e) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) return NULL;
  cJSON_AddStringToObject(o, "id", e->id);
  cJSON_AddStringToObject(o, "mount", mount_path);
  cJSON_AddStringToObject(o, "scope", scope);
  cJSON_AddStringToObject(o, "name", e->name);
  cJSON_AddStringToObject(o, "dir", e->dir);
  cJSON_AddStringToObject(o, "user", e->user);
  cJSON_AddNumberToObject(o, "size", (double) e->size);
  cJSON_AddStringToObject(o, "md5", e->md5);
  cJSON_AddStringToObject(o, "ref", e->reference);
  cJSON_AddStringToObject(o, "state", "uploaded");
  cJSON_AddNumberToObject(o, "at", (double) e->sent);
  cJSON_AddStringToObject(o, "recipients", e->recipients);
  cJSON_AddStringToObject(o, "duplicateOf", e->duplicate_of);
  cJSON_AddStringToObject(o, "status", e->status);
  cJSON_AddStringToObject(o, "statusText", e->status_text);
  cJSON_AddStringToObject(o, "recipientStatus", e->recipient_status);
  cJSON_AddNumberToObject(o, "checked", (double) e->checked);
  return o;
}

static void get_str(const cJSON *o, const char *key, char *dst, size_t dstsz) {
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
  snprintf(dst, dstsz, "%s", v != NULL ? v : "");
}

static double get_num(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* Reads a record of this scope; 0 when it is one, -1 otherwise. */
static int entry_parse(const cJSON *o, const char *scope, ab_journal_entry *e) {
  const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "scope"));
  if (!cJSON_IsObject(o) || s == NULL || strcmp(s, scope) != 0) {
    return -1;
  }
  memset(e, 0, sizeof(*e));
  get_str(o, "id", e->id, sizeof(e->id));
  get_str(o, "name", e->name, sizeof(e->name));
  get_str(o, "dir", e->dir, sizeof(e->dir));
  get_str(o, "user", e->user, sizeof(e->user));
  e->size = (long long) get_num(o, "size");
  get_str(o, "md5", e->md5, sizeof(e->md5));
  get_str(o, "recipients", e->recipients, sizeof(e->recipients));
  get_str(o, "ref", e->reference, sizeof(e->reference));
  get_str(o, "duplicateOf", e->duplicate_of, sizeof(e->duplicate_of));
  e->sent = (time_t) get_num(o, "at");
  get_str(o, "status", e->status, sizeof(e->status));
  get_str(o, "statusText", e->status_text, sizeof(e->status_text));
  get_str(o, "recipientStatus", e->recipient_status, sizeof(e->recipient_status));
  e->checked = (time_t) get_num(o, "checked");
  return e->id[0] != '\0' && e->name[0] != '\0' ? 0 : -1;
}

static void dup_key(const char *scope, const char *md5, long long size, const char *recipients,
                    char *out, size_t outsz) {
  snprintf(out, outsz, "outbox-bytes:%s:%s:%lld:%s", scope, md5, size, recipients);
}

static void name_key(const char *scope, const char *dir, const char *name, char *out,
                     size_t outsz) {
  snprintf(out, outsz, "outbox-name:%s:%s/%s", scope, dir, name);
}

int ab_journal_put(ab_journal *j, const char *scope, const char *mount_path,
                   const ab_journal_entry *e, int is_new, ab_error *err) {
  char org[16];
  scope_org(scope, org);
  cJSON *o = entry_json(scope, mount_path, e);
  cJSON *keys = o != NULL && is_new ? cJSON_AddArrayToObject(o, "keys") : NULL;
  if (o == NULL || (is_new && keys == NULL)) {
    cJSON_Delete(o);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (is_new) {
    char k[1500];
    dup_key(scope, e->md5, e->size, e->recipients, k, sizeof(k));
    cJSON_AddItemToArray(keys, cJSON_CreateString(k));
    name_key(scope, e->dir, e->name, k, sizeof(k));
    cJSON_AddItemToArray(keys, cJSON_CreateString(k));
  }
  int rc = ab_shared_journal_add(j->shared, org, o, NULL, err);
  cJSON_Delete(o);
  return rc < 0 ? ab_error_prefix(err, "upload journal") : 0;
}

static int lookup(ab_journal *j, const char *scope, const char *key, ab_journal_entry *out,
                  ab_error *err) {
  char org[16];
  scope_org(scope, org);
  cJSON *req = cJSON_CreateObject();
  if (req != NULL && (!cJSON_AddStringToObject(req, "op", "journal_lookup") ||
                      !cJSON_AddStringToObject(req, "org", org) ||
                      !cJSON_AddStringToObject(req, "key", key))) {
    cJSON_Delete(req);
    req = NULL;
  }
  cJSON *reply = ab_shared_call(j->shared, req, err);
  if (reply == NULL) {
    return ab_error_prefix(err, "upload journal");
  }
  int found = entry_parse(cJSON_GetObjectItemCaseSensitive(reply, "entry"), scope, out) == 0;
  cJSON_Delete(reply);
  return found;
}

int ab_journal_find_duplicate(ab_journal *j, const char *scope, const char *md5,
                              long long size, const char *recipients,
                              ab_journal_entry *out, ab_error *err) {
  char k[1500];
  dup_key(scope, md5, size, recipients, k, sizeof(k));
  return lookup(j, scope, k, out, err);
}

int ab_journal_find_name(ab_journal *j, const char *scope, const char *dir,
                         const char *name, ab_journal_entry *out, ab_error *err) {
  char k[400];
  name_key(scope, dir, name, k, sizeof(k));
  return lookup(j, scope, k, out, err);
}

static int newest_first(const void *a, const void *b) {
  const ab_journal_entry *x = a, *y = b;
  if (x->sent != y->sent) return x->sent > y->sent ? -1 : 1;
  return strcmp(y->id, x->id);
}

int ab_journal_list(ab_journal *j, const char *scope, time_t since,
                    ab_journal_entry **out, size_t *n, ab_error *err) {
  *out = NULL;
  *n = 0;
  char org[16];
  scope_org(scope, org);
  cJSON *req = cJSON_CreateObject();
  if (req != NULL && (!cJSON_AddStringToObject(req, "op", "journal_list") ||
                      !cJSON_AddStringToObject(req, "org", org) ||
                      !cJSON_AddNumberToObject(req, "max", AB_JOURNAL_LIST_MAX))) {
    cJSON_Delete(req);
    req = NULL;
  }
  cJSON *reply = ab_shared_call(j->shared, req, err);
  if (reply == NULL) {
    return ab_error_prefix(err, "upload journal");
  }
  const cJSON *entries = cJSON_GetObjectItemCaseSensitive(reply, "entries");
  int total = cJSON_GetArraySize(entries);
  ab_journal_entry *list = total > 0 ? malloc((size_t) total * sizeof(*list)) : NULL;
  if (total > 0 && list == NULL) {
    cJSON_Delete(reply);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  const cJSON *item;
  cJSON_ArrayForEach(item, entries) {
    if (entry_parse(item, scope, &list[*n]) == 0 && list[*n].sent >= since) {
      (*n)++;
    }
  }
  cJSON_Delete(reply);
  if (*n == 0) {
    free(list);
    return 0;
  }
  qsort(list, *n, sizeof(*list), newest_first);
  *out = list;
  return 0;
}
