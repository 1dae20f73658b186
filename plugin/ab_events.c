/* ab_events.c - Altinn Events client (see ab_events.h). */
#include "ab_events.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ab_broker_internal.h"
#include "ab_broker_wire.h"
#include "ab_json.h"

#define EVENTS_PATH "/events/api/v1"
#define RESOURCE_PREFIX "urn:altinn:resource:"
#define SUBJECT_PREFIX "urn:altinn:organization:identifier-no:"
#define TYPE_PREFIX "no.altinn.broker."
#define MAX_PULLED 1000
#define MAX_SUBSCRIPTIONS 10000

/* One Events API call: the Broker's rate budget does not cover Altinn
 * Events, so the broker's pacing is left out. */
static int events_request(ab_broker *b, const char *op, const char *method, const char *url,
                          const char *content_type, int accept_json, const void *body,
                          size_t len, int idempotent, ab_http_response *resp, ab_error *err) {
  ab_broker unpaced = *b;
  unpaced.pace = NULL;
  unpaced.pace_ctx = NULL;
  return ab_broker_request(&unpaced, op, method, url, content_type, accept_json, body, len,
                           idempotent, resp, err);
}

int ab_event_parse(const cJSON *obj, ab_event *out) {
  memset(out, 0, sizeof(*out));
  if (!cJSON_IsObject(obj) || !ab_json_copy_string(obj, "id", out->id, sizeof(out->id)) ||
      !ab_json_copy_string(obj, "type", out->type, sizeof(out->type)) || out->id[0] == '\0') {
    return -1;
  }
  for (char *p = out->type; *p; p++) {
    *p = (char) tolower((unsigned char) *p);
  }
  ab_json_copy_string(obj, "resource", out->resource, sizeof(out->resource));
  ab_json_copy_string(obj, "subject", out->subject, sizeof(out->subject));
  char instance[64] = "";
  ab_json_copy_string(obj, "resourceinstance", instance, sizeof(instance));
  if (ab_broker_valid_id(instance)) {
    memcpy(out->transfer_id, instance, AB_ID_LEN);
    for (char *p = out->transfer_id; *p; p++) {
      *p = (char) tolower((unsigned char) *p);
    }
  }
  const cJSON *data = cJSON_GetObjectItem(obj, "data");
  ab_json_copy_string(data, "Role", out->role, sizeof(out->role));
  return 0;
}

ab_event_kind ab_event_parse_body(const char *body, size_t len, ab_event *out) {
  memset(out, 0, sizeof(*out));
  cJSON *root = body != NULL && len > 0 ? cJSON_ParseWithLength(body, len) : NULL;
  ab_event_kind kind = AB_EVENT_INVALID;
  if (ab_event_parse(root, out) == 0) {
    kind = strcmp(out->type, "platform.events.validatesubscription") == 0
           ? AB_EVENT_VALIDATION : AB_EVENT_CLOUDEVENT;
  }
  cJSON_Delete(root);
  return kind;
}

/* 1 when subject names organisation org, in any of the forms Broker has
 * used ("urn:altinn:organization:identifier-no:<org>", "/organisation/<org>"). */
static int subject_is(const char *subject, const char *org) {
  static const char old[] = "/organisation/";
  const char *tail = NULL;
  if (strncmp(subject, SUBJECT_PREFIX, sizeof(SUBJECT_PREFIX) - 1) == 0) {
    tail = subject + sizeof(SUBJECT_PREFIX) - 1;
  } else if (strncmp(subject, old, sizeof(old) - 1) == 0) {
    tail = subject + sizeof(old) - 1;
  }
  return tail != NULL && strcmp(tail, org) == 0;
}

int ab_event_hint(const ab_event *ev, const char *resource_id, const char *org) {
  char resource[300];
  snprintf(resource, sizeof(resource), RESOURCE_PREFIX "%s", resource_id);
  if (ev->transfer_id[0] == '\0' || strcmp(ev->resource, resource) != 0 ||
      !subject_is(ev->subject, org) || strcasecmp(ev->role, "Sender") == 0 ||
      strncmp(ev->type, TYPE_PREFIX, sizeof(TYPE_PREFIX) - 1) != 0) {
    return 0;
  }
  const char *t = ev->type + sizeof(TYPE_PREFIX) - 1;
  if (strcmp(t, "published") == 0) {
    return 1;
  }
  if (strcmp(t, "downloadconfirmed") == 0 || strcmp(t, "fileneverconfirmeddownloaded") == 0 ||
      strcmp(t, "filepurged") == 0 || strcmp(t, "allconfirmeddownloaded") == 0) {
    return 2;
  }
  return 0;
}

/* Events errors: the generic Broker texts name the wrong scopes. */
static int events_error(ab_error *err, const char *op, const char *resource_id,
                        const char *org) {
  if (err->http_status == 403 && strstr(err->message, "lacks the scope") != NULL) {
    return ab_error_set_http(err, EACCES, 403, err->code,
                             "Altinn Events refused %s (HTTP 403): the token lacks the scope "
                             "altinn:events.subscribe, or resource %s does not grant 'subscribe' "
                             "to organisation %s", op, resource_id ? resource_id : "?",
                             org ? org : "?");
  }
  if (strncmp(err->message, "Broker refused ", 15) == 0) {
    char rest[AB_ERROR_MSG_MAX - 32];
    snprintf(rest, sizeof(rest), "%s", err->message + 15);
    snprintf(err->message, sizeof(err->message), "Altinn Events refused %s", rest);
  }
  return -1;
}

static char *events_url(ab_broker *b, const char *tail) {
  size_t n = strlen(b->base_url);
  while (n > 0 && b->base_url[n - 1] == '/') {
    n--;
  }
  char *url = NULL;
  if (asprintf(&url, "%.*s" EVENTS_PATH "%s", (int) n, b->base_url, tail) < 0) {
    return NULL;
  }
  return url;
}

int ab_events_pull(ab_broker *b, const char *resource_id, const char *org, const char *after,
                   int size, ab_event **out, size_t *n, ab_error *err) {
  *out = NULL;
  *n = 0;
  char resource[300], subject[128];
  snprintf(resource, sizeof(resource), RESOURCE_PREFIX "%s", resource_id);
  snprintf(subject, sizeof(subject), SUBJECT_PREFIX "%s", org);
  char *r = ab_broker_escape(resource), *s = ab_broker_escape(subject);
  char *a = ab_broker_escape(after != NULL && after[0] != '\0' ? after : "0");
  char *tail = NULL, *url = NULL;
  if (r != NULL && s != NULL && a != NULL &&
      asprintf(&tail, "/events?resource=%s&subject=%s&after=%s&size=%d", r, s, a,
               size > 0 && size <= MAX_PULLED ? size : 100) >= 0) {
    url = events_url(b, tail);
  }
  free(r);
  free(s);
  free(a);
  free(tail);
  if (url == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_http_response resp;
  int rc = events_request(b, "events pull", "GET", url, NULL, 0, NULL, 0, 1, &resp, err);
  free(url);
  if (rc < 0) {
    return events_error(err, "events pull", resource_id, org);
  }
  cJSON *root = cJSON_ParseWithLength(resp.body, resp.body_len);
  ab_http_response_clear(&resp);
  if (!cJSON_IsArray(root)) {
    cJSON_Delete(root);
    return ab_error_set(err, EIO, "Altinn Events pull reply is not a JSON array");
  }
  int count = cJSON_GetArraySize(root);
  if (count > MAX_PULLED) {
    count = MAX_PULLED;
  }
  if (count > 0) {
    *out = calloc((size_t) count, sizeof(ab_event));
    if (*out == NULL) {
      cJSON_Delete(root);
      return ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  const cJSON *e = NULL;
  cJSON_ArrayForEach(e, root) {
    if (*n == (size_t) count) {
      break;
    }
    if (ab_event_parse(e, &(*out)[*n]) == 0) {
      (*n)++;
    }
  }
  cJSON_Delete(root);
  return 0;
}

int ab_subscription_parse(const cJSON *obj, ab_subscription *out) {
  memset(out, 0, sizeof(*out));
  long long id = 0;
  if (!cJSON_IsObject(obj) || !ab_json_get_int64(obj, "id", &id) || id <= 0) {
    return -1;
  }
  out->id = (long) id;
  ab_json_copy_string(obj, "endPoint", out->endpoint, sizeof(out->endpoint));
  ab_json_copy_string(obj, "resourceFilter", out->resource_filter, sizeof(out->resource_filter));
  ab_json_copy_string(obj, "subjectFilter", out->subject_filter, sizeof(out->subject_filter));
  ab_json_copy_string(obj, "typeFilter", out->type_filter, sizeof(out->type_filter));
  ab_json_copy_string(obj, "consumer", out->consumer, sizeof(out->consumer));
  ab_json_copy_string(obj, "created", out->created, sizeof(out->created));
  out->validated = cJSON_IsTrue(cJSON_GetObjectItem(obj, "validated"));
  return 0;
}

static int parse_one(ab_http_response *resp, ab_subscription *out, ab_error *err) {
  cJSON *root = cJSON_ParseWithLength(resp->body, resp->body_len);
  int rc = ab_subscription_parse(root, out);
  cJSON_Delete(root);
  ab_http_response_clear(resp);
  return rc == 0 ? 0 : ab_error_set(err, EIO, "Altinn Events reply is not a subscription");
}

int ab_events_subscribe(ab_broker *b, const char *endpoint, const char *resource_id,
                        const char *org, const char *type, ab_subscription *out,
                        ab_error *err) {
  if (strncmp(endpoint, "https://", 8) != 0) {
    return ab_error_set(err, EINVAL, "the webhook endpoint must be an https:// URL "
                        "(Altinn Events delivers only over HTTPS), got '%.200s'", endpoint);
  }
  char resource[300], subject[128];
  snprintf(resource, sizeof(resource), RESOURCE_PREFIX "%s", resource_id);
  snprintf(subject, sizeof(subject), SUBJECT_PREFIX "%s", org);
  /* No sourceFilter or alternativeSubjectFilter: Events refuses them for
   * Broker resources (auth-and-events.md §3.2). */
  cJSON *o = cJSON_CreateObject();
  int ok = o != NULL && cJSON_AddStringToObject(o, "endPoint", endpoint) &&
           cJSON_AddStringToObject(o, "resourceFilter", resource) &&
           cJSON_AddStringToObject(o, "subjectFilter", subject) &&
           (type == NULL || cJSON_AddStringToObject(o, "typeFilter", type));
  char *json = ok ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  char *url = events_url(b, "/subscriptions");
  if (json == NULL || url == NULL) {
    cJSON_free(json);
    free(url);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_http_response resp;
  int rc = events_request(b, "subscribe", "POST", url, "Content-Type: application/json", 1,
                          json, strlen(json), 0, &resp, err);
  cJSON_free(json);
  free(url);
  if (rc < 0) {
    return events_error(err, "subscribe", resource_id, org);
  }
  return parse_one(&resp, out, err);
}

int ab_events_subscriptions(ab_broker *b, ab_subscription **out, size_t *n, ab_error *err) {
  *out = NULL;
  *n = 0;
  char *url = events_url(b, "/subscriptions");
  if (url == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_http_response resp;
  int rc = events_request(b, "list subscriptions", "GET", url, NULL, 1, NULL, 0, 1, &resp,
                          err);
  free(url);
  if (rc < 0) {
    return events_error(err, "list subscriptions", NULL, NULL);
  }
  cJSON *root = cJSON_ParseWithLength(resp.body, resp.body_len);
  ab_http_response_clear(&resp);
  const cJSON *arr = cJSON_GetObjectItem(root, "subscriptions");
  if (!cJSON_IsArray(arr)) {
    cJSON_Delete(root);
    return ab_error_set(err, EIO, "Altinn Events reply has no subscriptions list");
  }
  int count = cJSON_GetArraySize(arr);
  if (count > MAX_SUBSCRIPTIONS) {
    count = MAX_SUBSCRIPTIONS;
  }
  if (count > 0 && (*out = calloc((size_t) count, sizeof(ab_subscription))) == NULL) {
    cJSON_Delete(root);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  const cJSON *s = NULL;
  cJSON_ArrayForEach(s, arr) {
    if (*n < (size_t) count && ab_subscription_parse(s, &(*out)[*n]) == 0) {
      (*n)++;
    }
  }
  cJSON_Delete(root);
  return 0;
}

int ab_events_subscription(ab_broker *b, long id, ab_subscription *out, ab_error *err) {
  char tail[64];
  snprintf(tail, sizeof(tail), "/subscriptions/%ld", id);
  char *url = events_url(b, tail);
  if (url == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_http_response resp;
  int rc = events_request(b, "get subscription", "GET", url, NULL, 1, NULL, 0, 1, &resp, err);
  free(url);
  if (rc < 0) {
    return events_error(err, "get subscription", NULL, NULL);
  }
  return parse_one(&resp, out, err);
}

int ab_events_unsubscribe(ab_broker *b, long id, ab_error *err) {
  char tail[64];
  snprintf(tail, sizeof(tail), "/subscriptions/%ld", id);
  char *url = events_url(b, tail);
  if (url == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_http_response resp;
  int rc = events_request(b, "delete subscription", "DELETE", url, NULL, 0, NULL, 0, 0, &resp,
                          err);
  free(url);
  if (rc < 0) {
    return events_error(err, "delete subscription", NULL, NULL);
  }
  ab_http_response_clear(&resp);
  return 0;
}
