/* emu_hostile.c - see emu_hostile.h. */
#include "emu_hostile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_endpoints.h"

#define MAX_RULES 32
#define MAX_PAD (256L * 1024 * 1024)

typedef struct rule {
  char endpoint[32];
  char id[37];          /* "" = any transfer */
  int count;
  cJSON *set;           /* object or NULL */
  cJSON *append;        /* array or NULL */
  char *body;           /* replacement body or NULL */
  char content_type[128];
  int status;           /* 0 = keep */
  long pad_bytes;
} rule;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static rule rules[MAX_RULES];
static size_t nrules;

static void rule_free(rule *r)
{
  cJSON_Delete(r->set);
  cJSON_Delete(r->append);
  free(r->body);
  memset(r, 0, sizeof *r);
}

static bool add_one(const cJSON *j, char *err, size_t errlen)
{
  rule r;
  memset(&r, 0, sizeof r);
  const cJSON *it = cJSON_GetObjectItem(j, "endpoint");
  if (!cJSON_IsString(it)) {
    snprintf(err, errlen, "\"endpoint\" is required");
    return false;
  }
  snprintf(r.endpoint, sizeof r.endpoint, "%s", it->valuestring);
  it = cJSON_GetObjectItem(j, "id");
  if (cJSON_IsString(it))
    snprintf(r.id, sizeof r.id, "%s", it->valuestring);
  it = cJSON_GetObjectItem(j, "count");
  r.count = cJSON_IsNumber(it) ? it->valueint : 1;
  it = cJSON_GetObjectItem(j, "status");
  r.status = cJSON_IsNumber(it) ? it->valueint : 0;
  it = cJSON_GetObjectItem(j, "padBytes");
  r.pad_bytes = cJSON_IsNumber(it) ? (long)it->valuedouble : 0;
  it = cJSON_GetObjectItem(j, "contentType");
  if (cJSON_IsString(it))
    snprintf(r.content_type, sizeof r.content_type, "%s", it->valuestring);
  const cJSON *set = cJSON_GetObjectItem(j, "set");
  const cJSON *append = cJSON_GetObjectItem(j, "append");
  const cJSON *body = cJSON_GetObjectItem(j, "body");
  if (r.count <= 0 || (r.status && (r.status < 100 || r.status > 599)) || r.pad_bytes < 0 ||
      r.pad_bytes > MAX_PAD || (set && !cJSON_IsObject(set)) || (append && !cJSON_IsArray(append)) ||
      (body && !cJSON_IsString(body))) {
    snprintf(err, errlen, "bad rule: count > 0, status 100..599, padBytes 0..%ld, "
             "set an object, append an array, body a string", MAX_PAD);
    return false;
  }
  if (!set && !append && !body && !r.pad_bytes && !r.status) {
    snprintf(err, errlen, "a rule needs set, append, body, padBytes or status");
    return false;
  }
  r.set = set ? cJSON_Duplicate(set, 1) : NULL;
  r.append = append ? cJSON_Duplicate(append, 1) : NULL;
  r.body = body ? strdup(body->valuestring) : NULL;
  pthread_mutex_lock(&mu);
  bool room = nrules < MAX_RULES;
  if (room)
    rules[nrules++] = r;
  pthread_mutex_unlock(&mu);
  if (!room) {
    rule_free(&r);
    snprintf(err, errlen, "too many hostile rules queued");
  }
  return room;
}

bool emu_hostile_post(const cJSON *j, char *err, size_t errlen)
{
  if (cJSON_IsTrue(cJSON_GetObjectItem(j, "clear"))) {
    emu_hostile_clear();
    return true;
  }
  if (cJSON_IsArray(j)) {
    const cJSON *it;
    cJSON_ArrayForEach(it, j) if (!add_one(it, err, errlen)) return false;
    return true;
  }
  if (!cJSON_IsObject(j)) {
    snprintf(err, errlen, "body must be a JSON object or array");
    return false;
  }
  return add_one(j, err, errlen);
}

void emu_hostile_clear(void)
{
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nrules; i++)
    rule_free(&rules[i]);
  nrules = 0;
  pthread_mutex_unlock(&mu);
}

cJSON *emu_hostile_json(void)
{
  cJSON *arr = cJSON_CreateArray();
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nrules; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "endpoint", rules[i].endpoint);
    if (rules[i].id[0])
      cJSON_AddStringToObject(o, "id", rules[i].id);
    cJSON_AddNumberToObject(o, "count", rules[i].count);
    if (rules[i].set)
      cJSON_AddItemToObject(o, "set", cJSON_Duplicate(rules[i].set, 1));
    if (rules[i].append)
      cJSON_AddItemToObject(o, "append", cJSON_Duplicate(rules[i].append, 1));
    if (rules[i].body)
      cJSON_AddStringToObject(o, "body", rules[i].body);
    if (rules[i].status)
      cJSON_AddNumberToObject(o, "status", rules[i].status);
    if (rules[i].pad_bytes)
      cJSON_AddNumberToObject(o, "padBytes", (double)rules[i].pad_bytes);
    cJSON_AddItemToArray(arr, o);
  }
  pthread_mutex_unlock(&mu);
  return arr;
}

/* Takes one use of the first rule for r; the caller frees the copy. */
static bool take(const emu_request *r, rule *out)
{
  bool found = false;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nrules && !found; i++) {
    rule *h = &rules[i];
    if (strcmp(h->endpoint, r->ep->name) != 0 || (h->id[0] && strcasecmp(h->id, r->id) != 0))
      continue;
    found = true;
    *out = *h;
    out->set = h->set ? cJSON_Duplicate(h->set, 1) : NULL;
    out->append = h->append ? cJSON_Duplicate(h->append, 1) : NULL;
    out->body = h->body ? strdup(h->body) : NULL;
    if (--h->count == 0) {
      rule_free(h);
      memmove(&rules[i], &rules[i + 1], (nrules - i - 1) * sizeof rules[0]);
      nrules--;
    }
  }
  pthread_mutex_unlock(&mu);
  return found;
}

/* The reply after set/append, or NULL when the reply is not JSON of the
 * right kind (then it is left as it was). */
static char *patch_json(const rule *h, const char *body, size_t len)
{
  cJSON *doc = cJSON_ParseWithLength(body, len);
  if (!doc)
    return NULL;
  if (h->set && cJSON_IsObject(doc)) {
    const cJSON *m;
    cJSON_ArrayForEach(m, h->set)
    {
      cJSON_DeleteItemFromObjectCaseSensitive(doc, m->string);
      cJSON_AddItemToObject(doc, m->string, cJSON_Duplicate(m, 1));
    }
  }
  if (h->append && cJSON_IsArray(doc)) {
    const cJSON *m;
    cJSON_ArrayForEach(m, h->append) cJSON_AddItemToArray(doc, cJSON_Duplicate(m, 1));
  }
  char *text = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  return text;
}

char *emu_hostile_apply(const emu_request *r, unsigned *status, char *ctype, size_t ctype_len,
                        const char *body, size_t len, size_t *out_len)
{
  if (!r->ep)
    return NULL;
  rule h;
  if (!take(r, &h))
    return NULL;
  char *patched = NULL;
  if (h.body) {
    body = h.body;
    len = strlen(h.body);
  } else if (h.set || h.append) {
    patched = patch_json(&h, body, len);
    if (patched) {
      body = patched;
      len = strlen(patched);
    }
  }
  if (h.status)
    *status = (unsigned)h.status;
  if (h.content_type[0])
    snprintf(ctype, ctype_len, "%s", h.content_type);
  char *out = malloc((size_t)h.pad_bytes + len + 1);
  if (out) {
    memset(out, ' ', (size_t)h.pad_bytes);
    memcpy(out + h.pad_bytes, body, len);
    out[h.pad_bytes + len] = '\0';
    *out_len = (size_t)h.pad_bytes + len;
  }
  free(patched);
  rule_free(&h);
  return out;
}

static void hostile_finish(emu_request *r)
{
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  char err[200] = "body must be JSON";
  if (body && emu_hostile_post(body, err, sizeof err)) {
    emu_reply_json(r, 200, emu_hostile_json());
  } else {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", err);
    emu_reply_json(r, 400, j);
  }
  cJSON_Delete(body);
}

const emu_endpoint emu_ep_hostile = {
    .name = "hostile", .method = "POST", .flags = EMU_F_NOFAULT | EMU_F_NOCOUNT,
    .finish = hostile_finish,
};

static void hostile_list_finish(emu_request *r) { emu_reply_json(r, 200, emu_hostile_json()); }

const emu_endpoint emu_ep_hostile_list = {
    .name = "hostile", .method = "GET", .flags = EMU_F_NOFAULT | EMU_F_NOCOUNT,
    .finish = hostile_list_finish,
};
