/* ab_broker_wire.c - Broker URLs, request JSON and reply parsing
 * (see ab_broker_wire.h). */
#include "ab_broker_wire.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ab_json.h"

/* Bounds on what a reply may make us allocate. */
#define AB_MAX_RECIPIENTS 10000
#define AB_MAX_PROPERTIES 1000
#define AB_MAX_SEARCH_IDS 100000

int ab_broker_valid_id(const char *id) {
  if (id == NULL || strlen(id) != 36) {
    return 0;
  }
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (id[i] != '-') {
        return 0;
      }
    } else if (!isxdigit((unsigned char)id[i])) {
      return 0;
    }
  }
  return 1;
}

char *ab_broker_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = malloc(n * 3 + 1);
  if (out == NULL) {
    return NULL;
  }
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out[o++] = (char)c;
    } else {
      out[o++] = '%';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  out[o] = '\0';
  return out;
}

/* Length of base without trailing slashes. */
static size_t base_len(const char *base) {
  size_t n = strlen(base);
  while (n > 0 && base[n - 1] == '/') {
    n--;
  }
  return n;
}

char *ab_broker_url(const char *base, const char *id, const char *suffix,
                    ab_error *err) {
  if (base == NULL || base[0] == '\0') {
    ab_error_set(err, EINVAL, "no Broker base URL configured");
    return NULL;
  }
  if (id != NULL && !ab_broker_valid_id(id)) {
    ab_error_set(err, EINVAL, "\"%.64s\" is not a file transfer id", id);
    return NULL;
  }
  char *url = NULL;
  if (asprintf(&url, "%.*s/broker/api/v1/filetransfer%s%s%s", (int)base_len(base), base,
               id != NULL ? "/" : "", id != NULL ? id : "",
               suffix != NULL ? suffix : "") < 0) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  return url;
}

/* Appends "&name=<escaped value>" (or "?..." first) to *url. */
static int add_param(char **url, int *first, const char *name, const char *value) {
  if (value == NULL || value[0] == '\0') {
    return 0;
  }
  char *esc = ab_broker_escape(value);
  if (esc == NULL) {
    return -1;
  }
  char *next = NULL;
  int rc = asprintf(&next, "%s%c%s=%s", *url, *first ? '?' : '&', name, esc);
  free(esc);
  if (rc < 0) {
    return -1;
  }
  free(*url);
  *url = next;
  *first = 0;
  return 0;
}

char *ab_broker_search_url(const char *base, const ab_search *q, ab_error *err) {
  if (q == NULL || q->resource_id == NULL || q->resource_id[0] == '\0') {
    ab_error_set(err, EINVAL, "search needs a resource id");
    return NULL;
  }
  char *url = ab_broker_url(base, NULL, NULL, err);
  if (url == NULL) {
    return NULL;
  }
  int first = 1;
  if (add_param(&url, &first, "resourceId", q->resource_id) ||
      add_param(&url, &first, "status", q->status) ||
      add_param(&url, &first, "recipientStatus", q->recipient_status) ||
      add_param(&url, &first, "role", q->role) ||
      add_param(&url, &first, "from", q->from_iso) ||
      add_param(&url, &first, "to", q->to_iso) ||
      add_param(&url, &first, "orderAscending", q->order_ascending ? "true" : NULL)) {
    free(url);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  return url;
}

static int missing(const char *s) {
  return s == NULL || s[0] == '\0';
}

char *ab_broker_init_json(const ab_transfer_init *in, ab_error *err) {
  if (missing(in->file_name) || missing(in->resource_id) || missing(in->sender) ||
      in->n_recipients == 0 || missing(in->senders_reference)) {
    ab_error_set(err, EINVAL, "initialize needs a file name, resource id, sender, "
                 "at least one recipient and a sender's reference");
    return NULL;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON *r = NULL;
  int ok = o != NULL && cJSON_AddStringToObject(o, "fileName", in->file_name) &&
           cJSON_AddStringToObject(o, "resourceId", in->resource_id) &&
           cJSON_AddStringToObject(o, "sender", in->sender) &&
           (r = cJSON_AddArrayToObject(o, "recipients")) != NULL &&
           cJSON_AddStringToObject(o, "sendersFileTransferReference", in->senders_reference);
  for (size_t i = 0; ok && i < in->n_recipients; i++) {
    cJSON *s = in->recipients[i] != NULL ? cJSON_CreateString(in->recipients[i]) : NULL;
    ok = s != NULL && cJSON_AddItemToArray(r, s);
  }
  if (ok && in->n_properties > 0) {
    cJSON *props = cJSON_AddObjectToObject(o, "propertyList");
    ok = props != NULL;
    for (size_t i = 0; ok && i < in->n_properties; i++) {
      const ab_property *p = &in->properties[i];
      ok = p->key != NULL && p->value != NULL &&
           cJSON_AddStringToObject(props, p->key, p->value) != NULL;
    }
  }
  if (ok && !missing(in->checksum_md5)) {
    ok = cJSON_AddStringToObject(o, "checksum", in->checksum_md5) != NULL;
  }
  char *json = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (json == NULL) {
    ab_error_set(err, ok ? ENOMEM : EINVAL, "cannot build the initialize request%s",
                 ok ? "" : " (a recipient or property is NULL)");
    return NULL;
  }
  /* cJSON allocates with malloc by default; hand out a plain malloc'ed copy
   * so callers never need to know about cJSON_free. */
  char *copy = strdup(json);
  cJSON_free(json);
  if (copy == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
  }
  return copy;
}

int ab_broker_parse_id(const char *body, size_t len, char id[AB_ID_LEN],
                       ab_error *err) {
  id[0] = '\0';
  cJSON *root = (body != NULL && len > 0) ? cJSON_ParseWithLength(body, len) : NULL;
  const cJSON *item = cJSON_IsObject(root) ? cJSON_GetObjectItem(root, "fileTransferId") : root;
  if (cJSON_IsString(item) && ab_broker_valid_id(item->valuestring)) {
    memcpy(id, item->valuestring, AB_ID_LEN);
  }
  cJSON_Delete(root);
  if (id[0] == '\0') {
    return ab_error_set(err, EIO, "Broker reply has no valid fileTransferId");
  }
  return 0;
}

void ab_transfer_clear(ab_transfer *t) {
  if (t == NULL) {
    return;
  }
  free(t->recipients);
  for (size_t i = 0; i < t->n_properties; i++) {
    free(t->properties[i].key);
    free(t->properties[i].value);
  }
  free(t->properties);
  memset(t, 0, sizeof(*t));
}

static int parse_recipients(const cJSON *arr, ab_transfer *out) {
  int n = cJSON_GetArraySize(arr);
  if (!cJSON_IsArray(arr) || n <= 0) {
    return 0;
  }
  if (n > AB_MAX_RECIPIENTS) {
    n = AB_MAX_RECIPIENTS;
  }
  out->recipients = calloc((size_t)n, sizeof(*out->recipients));
  if (out->recipients == NULL) {
    return -1;
  }
  const cJSON *r = NULL;
  cJSON_ArrayForEach(r, arr) {
    if (out->n_recipients == (size_t)n) {
      break;
    }
    if (!cJSON_IsObject(r)) {
      continue;
    }
    ab_recipient_status *s = &out->recipients[out->n_recipients];
    ab_json_copy_string(r, "recipient", s->recipient, sizeof(s->recipient));
    ab_json_copy_string(r, "currentRecipientFileTransferStatusCode", s->status,
                        sizeof(s->status));
    out->n_recipients++;
  }
  return 0;
}

static int parse_properties(const cJSON *obj, ab_transfer *out) {
  int n = cJSON_GetArraySize(obj);
  if (!cJSON_IsObject(obj) || n <= 0) {
    return 0;
  }
  if (n > AB_MAX_PROPERTIES) {
    n = AB_MAX_PROPERTIES;
  }
  out->properties = calloc((size_t)n, sizeof(*out->properties));
  if (out->properties == NULL) {
    return -1;
  }
  const cJSON *p = NULL;
  cJSON_ArrayForEach(p, obj) {
    if (out->n_properties == (size_t)n) {
      break;
    }
    if (!cJSON_IsString(p) || p->string == NULL) {
      continue;
    }
    ab_transfer_property *dst = &out->properties[out->n_properties];
    dst->key = strdup(p->string);
    dst->value = strdup(p->valuestring);
    out->n_properties++; /* counted even on OOM so clear frees what exists */
    if (dst->key == NULL || dst->value == NULL) {
      return -1;
    }
  }
  return 0;
}

int ab_broker_parse_overview(const char *body, size_t len, ab_transfer *out,
                             ab_error *err) {
  memset(out, 0, sizeof(*out));
  cJSON *root = (body != NULL && len > 0) ? cJSON_ParseWithLength(body, len) : NULL;
  char id[64] = "";
  ab_json_copy_string(root, "fileTransferId", id, sizeof(id));
  if (!ab_broker_valid_id(id)) {
    cJSON_Delete(root);
    return ab_error_set(err, EIO, "Broker overview reply is not a file transfer");
  }
  memcpy(out->id, id, AB_ID_LEN);
  ab_json_copy_string(root, "resourceId", out->resource_id, sizeof(out->resource_id));
  ab_json_copy_string(root, "fileName", out->file_name, sizeof(out->file_name));
  ab_json_copy_string(root, "sender", out->sender, sizeof(out->sender));
  ab_json_copy_string(root, "fileTransferStatus", out->status, sizeof(out->status));
  ab_json_copy_string(root, "fileTransferStatusText", out->status_text,
                      sizeof(out->status_text));
  ab_json_copy_string(root, "sendersFileTransferReference", out->senders_reference,
                      sizeof(out->senders_reference));
  /* A checksum is 32 hex chars; anything else is not one. */
  char sum[64] = "";
  ab_json_copy_string(root, "checksum", sum, sizeof(sum));
  if (strlen(sum) == 32) {
    memcpy(out->checksum, sum, sizeof(out->checksum));
  }
  /* An absent or negative size is unknown (-1), never 0: a transfer listed
   * as empty would count as read whole after reading nothing. */
  long long size = 0;
  out->size = ab_json_get_int64(root, "fileTransferSize", &size) && size >= 0 ? size : -1;
  const cJSON *scan = cJSON_GetObjectItem(root, "useVirusScan");
  out->use_virus_scan = cJSON_IsTrue(scan);
  ab_json_get_time(root, "created", &out->created);
  ab_json_get_time(root, "published", &out->published);
  char published[64] = "";
  if (ab_json_copy_string(root, "published", published, sizeof(published)) &&
      ab_json_parse_time_us(published, &out->published_us) != 0) {
    out->published_us = 0;
  }
  ab_json_get_time(root, "fileTransferStatusChanged", &out->status_changed);
  ab_json_get_time(root, "expirationTime", &out->expires);
  int rc = 0;
  if (parse_recipients(cJSON_GetObjectItem(root, "recipients"), out) != 0 ||
      parse_properties(cJSON_GetObjectItem(root, "propertyList"), out) != 0) {
    ab_transfer_clear(out);
    rc = ab_error_set(err, ENOMEM, "out of memory reading the overview");
  }
  cJSON_Delete(root);
  return rc;
}

int ab_broker_parse_search(const char *body, size_t len,
                           char (**ids)[AB_ID_LEN], size_t *n, ab_error *err) {
  *ids = NULL;
  *n = 0;
  cJSON *root = (body != NULL && len > 0) ? cJSON_ParseWithLength(body, len) : NULL;
  if (!cJSON_IsArray(root)) {
    cJSON_Delete(root);
    return ab_error_set(err, EIO, "Broker search reply is not a JSON array");
  }
  int count = cJSON_GetArraySize(root);
  if (count > AB_MAX_SEARCH_IDS) {
    count = AB_MAX_SEARCH_IDS;
  }
  if (count > 0) {
    *ids = malloc((size_t)count * sizeof(**ids));
    if (*ids == NULL) {
      cJSON_Delete(root);
      return ab_error_set(err, ENOMEM, "out of memory reading search results");
    }
  }
  const cJSON *e = NULL;
  cJSON_ArrayForEach(e, root) {
    if (*n == (size_t)count) {
      break;
    }
    if (cJSON_IsString(e) && ab_broker_valid_id(e->valuestring)) {
      memcpy((*ids)[*n], e->valuestring, AB_ID_LEN);
      (*n)++;
    }
  }
  cJSON_Delete(root);
  if (*n == 0) {
    free(*ids);
    *ids = NULL;
  }
  return 0;
}
