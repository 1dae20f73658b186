/* emu_events_api.c - the Altinn Events subscription API for Broker
 * resources (auth-and-events.md §3.2-3.6), and the access rules it shares
 * with the pull API (emu_events_pull.c, emu_events_http.h).
 *
 * Events takes only Altinn tokens (not raw Maskinporten ones) with scope
 * altinn:events.subscribe. A subscriber may only see its own subject
 * (urn:altinn:organization:identifier-no:<its orgnr>) unless it owns the
 * resource, and the resource policy must grant it "subscribe".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "emu_auth.h"
#include "emu_endpoints.h"
#include "emu_events.h"
#include "emu_events_http.h"
#include "emu_problem.h"

static void text(emu_request *r, unsigned status, const char *msg)
{
  emu_reply(r, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

bool emu_events_auth(emu_request *r)
{
  if (!emu_auth_bearer(r->cfg, emu_header(r, MHD_HTTP_HEADER_AUTHORIZATION), false, true, 0,
                       &r->caller, NULL)) {
    emu_reply_empty(r, 401);
    MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return false;
  }
  if (!emu_caller_has_scope(&r->caller, EMU_EVENTS_SCOPE)) {
    emu_reply_empty(r, 403);
    return false;
  }
  return true;
}

/* The subscriber identity, first match as Events derives it: org code,
 * system user, organisation number (no personal users here). */
static void consumer_of(const emu_request *r, char *out, size_t n)
{
  if (r->caller.org_code[0])
    snprintf(out, n, "/org/%s", r->caller.org_code);
  else if (r->caller.system_user_id[0])
    snprintf(out, n, "/systemuser/%s", r->caller.system_user_id);
  else
    snprintf(out, n, "/organisation/%s", r->caller.org);
}

bool emu_events_may_subscribe(const emu_request *r, const emu_resource *res, const char *subject)
{
  if (strcmp(res->owner, r->caller.org) == 0)
    return true;
  char own[80];
  snprintf(own, sizeof own, EMU_SUBJECT_PREFIX "%s", r->caller.org);
  return subject && strcmp(subject, own) == 0 &&
         (emu_resource_actions(res, r->caller.org) & EMU_ACT_SUBSCRIBE);
}

const emu_resource *emu_events_resource(const emu_request *r, const char *urn)
{
  if (!urn || strncmp(urn, EMU_RESOURCE_PREFIX, sizeof EMU_RESOURCE_PREFIX - 1) != 0)
    return NULL;
  return emu_config_resource(r->cfg, urn + sizeof EMU_RESOURCE_PREFIX - 1);
}

static const char *opt_string(const cJSON *body, const char *name)
{
  const cJSON *it = cJSON_GetObjectItem(body, name);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* System.Uri absolute with the https scheme (http when the knob allows). */
static bool webhook_url(const char *url, bool allow_http)
{
  const char *rest = !url                                  ? NULL
                     : strncasecmp(url, "https://", 8) == 0 ? url + 8
                     : allow_http && strncasecmp(url, "http://", 7) == 0 ? url + 7
                                                                        : NULL;
  return rest && *rest && *rest != '/';
}

/* "urn:<nid>:<nss>" */
static bool valid_urn(const char *s)
{
  if (strncasecmp(s, "urn:", 4) != 0)
    return false;
  const char *colon = strchr(s + 4, ':');
  return colon && colon > s + 4 && colon[1];
}

/* Validation in the order of Events' SubscriptionController and
 * GenericSubscriptionService (auth-and-events.md §3.2); plain-text errors. */
static void create_finish(emu_request *r)
{
  if (!emu_auth_bearer(r->cfg, emu_header(r, MHD_HTTP_HEADER_AUTHORIZATION), false, true, 0,
                       &r->caller, NULL)) {
    emu_reply_empty(r, 401);
    MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return;
  }
  if (!emu_http_consumes(r, "application/json"))
    return;
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  const char *endpoint = opt_string(body, "endPoint");
  const char *resource = opt_string(body, "resourceFilter");
  const char *subject = opt_string(body, "subjectFilter");
  const char *type = opt_string(body, "typeFilter");
  const cJSON *source = cJSON_GetObjectItem(body, "sourceFilter");
  const char *alt_subject = opt_string(body, "alternativeSubjectFilter");
  bool subunits = cJSON_IsTrue(cJSON_GetObjectItem(body, "includeSubunits"));
  emu_knobs k;
  emu_knobs_get(&k);
  if (source && cJSON_IsNull(source))
    source = NULL;
  if (!cJSON_IsObject(body)) {
    text(r, 400, "Invalid subscription request.");
  } else if (!webhook_url(endpoint, k.webhook_allow_http)) {
    text(r, 400, "Missing or invalid endpoint to push events towards");
  } else if (source && !webhook_url(cJSON_IsString(source) ? source->valuestring : NULL, false)) {
    text(r, 400, "SourceFilter must be an absolute URL with the https scheme.");
  } else if (!emu_caller_has_scope(&r->caller, EMU_EVENTS_SCOPE)) {
    emu_reply_empty(r, 403);
  } else if (resource && !valid_urn(resource)) {
    text(r, 400, "Resource filter must be a valid urn");
  } else if (!resource || !*resource) {
    text(r, 400, "Resource filter is required.");
  } else if (source) {
    text(r, 400, "Source filter is not supported for subscriptions on this resource.");
  } else if (alt_subject && *alt_subject) {
    text(r, 400, "AlternativeSubject filter is not supported for subscriptions on this resource.");
  } else if (subunits && (!subject || !*subject)) {
    text(r, 400, "IncludeSubunits requires a subject filter.");
  } else {
    const emu_resource *res = emu_events_resource(r, resource);
    if (!res || !emu_events_may_subscribe(r, res, subject)) {
      char msg[400];
      snprintf(msg, sizeof msg, "Not authorized to create a subscription for resource %s.", resource);
      text(r, 403, msg);
    } else {
      char consumer[64];
      consumer_of(r, consumer, sizeof consumer);
      emu_subscription_req req = {endpoint, resource, subject, type, consumer, subunits};
      long id = 0;
      cJSON *j = emu_events_subscribe(&req, &id);
      if (!j) {
        emu_reply_empty(r, 500);
      } else {
        emu_reply_json(r, 201, j);
        char loc[64];
        snprintf(loc, sizeof loc, "/events/api/v1/subscription/%ld", id); /* singular, as Events does */
        MHD_add_response_header(r->resp, MHD_HTTP_HEADER_LOCATION, loc);
      }
    }
  }
  cJSON_Delete(body);
}

const emu_endpoint emu_ep_subscription_create = {
    .name = "subscriptions", .method = "POST", .finish = create_finish,
};

static void list_finish(emu_request *r)
{
  if (!emu_events_auth(r))
    return;
  char consumer[64];
  consumer_of(r, consumer, sizeof consumer);
  emu_reply_json(r, 200, emu_events_subscriptions(consumer));
}

const emu_endpoint emu_ep_subscription_list = {
    .name = "subscriptions", .method = "GET", .finish = list_finish,
};

static bool sub_id(emu_request *r, long *id)
{
  char *end;
  *id = strtol(r->sub, &end, 10);
  if (*end || *id <= 0) {
    emu_reply_empty(r, 404);
    return false;
  }
  return true;
}

static void get_finish(emu_request *r)
{
  long id;
  if (!emu_events_auth(r) || !sub_id(r, &id))
    return;
  char consumer[64];
  consumer_of(r, consumer, sizeof consumer);
  bool found;
  cJSON *j = emu_events_subscription(id, consumer, &found);
  if (j)
    emu_reply_json(r, 200, j);
  else
    emu_reply_empty(r, found ? 403 : 404);
}

const emu_endpoint emu_ep_subscription_get = {
    .name = "subscriptions", .method = "GET", .finish = get_finish,
};

static void delete_finish(emu_request *r)
{
  long id;
  if (!emu_events_auth(r) || !sub_id(r, &id))
    return;
  char consumer[64];
  consumer_of(r, consumer, sizeof consumer);
  int rc = emu_events_unsubscribe(id, consumer);
  emu_reply_empty(r, rc == 0 ? 200 : rc == -2 ? 403 : 404);
}

const emu_endpoint emu_ep_subscription_delete = {
    .name = "subscriptions", .method = "DELETE", .finish = delete_finish,
};
