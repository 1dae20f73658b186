/* emu_events_pull.c - GET /events/api/v1/events, the Events pull API
 * (auth-and-events.md §3.6), as Events' EventsController answers it:
 *
 *   ?resource=urn:altinn:resource:<id> (required) &after=<event id|0>
 *   [&subject=<urn>] [&type=<t>]... [&size=1..1000, else 50 / clamped]
 *   [header Altinn-AlternativeSubject]
 *
 * 400 ProblemDetails for a resource that is not urn:altinn:resource:...,
 * a missing after, or both subject and the header. Events the caller may
 * not see are filtered out (200 with fewer events, not 403): a non-owner
 * only gets its own subject's events. Broker events carry no
 * alternativesubject since 2025-11, so the header matches nothing. The
 * "next" header exists only when events came back: base + path +
 * "?after=<last id>" + the other query parameters as sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_endpoints.h"
#include "emu_events.h"
#include "emu_events_http.h"
#include "emu_problem.h"

#define MAX_TYPES 16

typedef struct query {
  const char *types[MAX_TYPES];
  size_t ntypes;
  char next[2048];          /* "&key=value" of every parameter but after */
  size_t nlen;
} query;

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
  (void)kind;
  query *q = cls;
  if (strcmp(key, "type") == 0 && value && *value && q->ntypes < MAX_TYPES)
    q->types[q->ntypes++] = value;
  if (strcmp(key, "after") != 0 && q->nlen < sizeof q->next) {
    int n = snprintf(q->next + q->nlen, sizeof q->next - q->nlen, "&%s=%s", key, value ? value : "");
    if (n > 0)
      q->nlen += (size_t)n;
  }
  return MHD_YES;
}

/* Problem(detail, null, 400): ASP.NET's ProblemDetails without a code. */
static void bad_request(emu_request *r, const char *detail)
{
  emu_problem(r, 400, 0, detail);
}

static void pull_finish(emu_request *r)
{
  if (!emu_events_auth(r))
    return;
  const char *resource = emu_query(r, "resource");
  const char *after = emu_query(r, "after");
  const char *subject = emu_query(r, "subject");
  const char *size_s = emu_query(r, "size");
  const char *alt = emu_header(r, "Altinn-AlternativeSubject");
  char *end = NULL;
  long size = size_s && *size_s ? strtol(size_s, &end, 10) : 0;
  if (!resource || !*resource || (end && *end)) {
    cJSON *errors = cJSON_CreateObject();
    if (!resource || !*resource)
      emu_problem_add(errors, "resource", "The resource field is required.");
    if (end && *end) {
      char msg[160];
      snprintf(msg, sizeof msg, "The value '%.100s' is not valid.", size_s);
      emu_problem_add(errors, "size", msg);
    }
    emu_problem_validation(r, errors);
    return;
  }
  if (strncmp(resource, EMU_RESOURCE_PREFIX, sizeof EMU_RESOURCE_PREFIX - 1) != 0) {
    bad_request(r, "The 'resource' parameter must begin with `urn:altinn:resource:`");
    return;
  }
  if (!after || !*after) {
    bad_request(r, "The 'after' parameter must be defined.");
    return;
  }
  if (subject && *subject && alt && *alt) {
    bad_request(r, "Only one of 'subject' or 'alternativeSubject' can be defined.");
    return;
  }
  size = size < 1 ? 50 : size > 1000 ? 1000 : size;
  query q = {.ntypes = 0};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &q);

  const emu_resource *res = emu_events_resource(r, resource);
  char own[80];
  snprintf(own, sizeof own, EMU_SUBJECT_PREFIX "%s", r->caller.org);
  bool owner = res && strcmp(res->owner, r->caller.org) == 0;
  if (!owner && (!subject || !*subject))
    subject = own; /* what the PDP lets a non-owner see */
  cJSON *arr;
  if (!res || !emu_events_may_subscribe(r, res, subject) || (alt && *alt))
    arr = cJSON_CreateArray();
  else
    arr = emu_events_query(resource, subject && *subject ? subject : NULL, q.types, q.ntypes,
                           after, (int)size);
  int count = cJSON_GetArraySize(arr);
  const cJSON *last = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(arr, count - 1), "id");
  char next[2400] = "";
  if (cJSON_IsString(last))
    snprintf(next, sizeof next, "%s/events/api/v1/events?after=%s%s", r->cfg->base_url,
             last->valuestring, q.next);
  char *body = cJSON_PrintUnformatted(arr);
  cJSON_Delete(arr);
  emu_reply(r, 200, "application/cloudevents+json; charset=utf-8", body, strlen(body));
  cJSON_free(body);
  if (next[0])
    MHD_add_response_header(r->resp, "next", next);
}

const emu_endpoint emu_ep_events_pull = {
    .name = "events", .method = "GET", .finish = pull_finish,
};
