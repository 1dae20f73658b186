/* ab_events.h - Altinn Events for Broker resources (auth-and-events.md §3,
 * broker-api.md §8): reading CloudEvents, pulling them, and managing
 * webhook subscriptions.
 *
 * The Events API lives on the same platform host as the Broker and takes
 * the same Altinn token, which then needs the scope altinn:events.subscribe;
 * the calls go through an ab_broker (base URL, HTTP context, auth).
 *
 * Events are at-least-once and unordered, and webhook deliveries carry no
 * signature, so the inbox treats every event as a hint ("look at transfer
 * X again", ab_event_hint), never as the truth about a transfer. */
#ifndef AB_EVENTS_H
#define AB_EVENTS_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "ab_broker.h"
#include "ab_error.h"

typedef struct ab_event {
  char id[64];                  /* CloudEvent id (cursor for the pull API) */
  char type[96];                /* lower-cased: "no.altinn.broker.published" */
  char resource[300];           /* "urn:altinn:resource:<id>" */
  char transfer_id[AB_ID_LEN];  /* resourceinstance when it is a GUID, else "" */
  char subject[128];            /* "urn:altinn:organization:identifier-no:<org>" (or older forms) */
  char role[16];                /* data.Role: "Sender", "Recipient" or "" */
} ab_event;

/* What a webhook body is. */
typedef enum ab_event_kind {
  AB_EVENT_INVALID = 0,         /* not a CloudEvent */
  AB_EVENT_VALIDATION = 1,      /* platform.events.validatesubscription handshake */
  AB_EVENT_CLOUDEVENT = 2       /* an event */
} ab_event_kind;

/* Reads one CloudEvent object leniently (missing fields are ""; the type is
 * lower-cased because older Broker events used PascalCase). Returns 0, or
 * -1 when obj is not an object with an id and a type. */
int ab_event_parse(const cJSON *obj, ab_event *out);

/* Classifies a webhook request body (JSON, structured CloudEvent) and
 * parses it into out. */
ab_event_kind ab_event_parse_body(const char *body, size_t len, ab_event *out);

/* What an event means for the inbox of organisation `org` (9 digits) on
 * resource `resource_id`: 0 = nothing (other resource or subject, sender
 * role, a sender-only type); 1 = the transfer may have become available
 * (published); 2 = the transfer may have left (confirmed, purged, never
 * confirmed). Subjects are accepted in the URN form and the older
 * "/organisation/<org>" form. */
int ab_event_hint(const ab_event *ev, const char *resource_id, const char *org);

/* GET {platform}/events/api/v1/events?resource=urn:altinn:resource:<id>
 * &subject=urn:altinn:organization:identifier-no:<org>&after=<after>&size=<size>.
 * after "0" (or NULL) starts at the beginning. *out is malloc'ed (free());
 * events that do not parse are skipped. */
int ab_events_pull(ab_broker *b, const char *resource_id, const char *org, const char *after,
                   int size, ab_event **out, size_t *n, ab_error *err);

typedef struct ab_subscription {
  long id;
  char endpoint[1024];
  char resource_filter[300];
  char subject_filter[128];
  char type_filter[96];
  char consumer[128];
  char created[48];
  int validated;
} ab_subscription;

/* POST /events/api/v1/subscriptions for resource_id and our org, with an
 * optional type filter (NULL = every type). Idempotent on the service side
 * (the same subscription comes back). endpoint must be an https:// URL. */
int ab_events_subscribe(ab_broker *b, const char *endpoint, const char *resource_id,
                        const char *org, const char *type, ab_subscription *out,
                        ab_error *err);

/* GET /events/api/v1/subscriptions: our subscriptions (*out malloc'ed). */
int ab_events_subscriptions(ab_broker *b, ab_subscription **out, size_t *n, ab_error *err);

/* GET /events/api/v1/subscriptions/{id}. */
int ab_events_subscription(ab_broker *b, long id, ab_subscription *out, ab_error *err);

/* DELETE /events/api/v1/subscriptions/{id}. */
int ab_events_unsubscribe(ab_broker *b, long id, ab_error *err);

/* Reads a subscription object (exposed for tests). Returns 0, or -1 when
 * obj has no numeric id. */
int ab_subscription_parse(const cJSON *obj, ab_subscription *out);

#endif
