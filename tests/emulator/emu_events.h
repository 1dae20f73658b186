/* emu_events.h - Altinn Events as the Broker feeds it (broker-api.md §8).
 *
 * The store reports status changes here; this module turns them into the
 * Broker's CloudEvents (one per subject org and role) and appends them to an
 * in-memory log. The log is served by the pull API
 * (GET /events/api/v1/events) and pushed to validated webhook subscriptions.
 */
#ifndef EMU_EVENTS_H
#define EMU_EVENTS_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "emu_config.h"

struct emu_transfer;
struct emu_request;

int emu_events_init(const emu_config *cfg);
void emu_events_shutdown(void);

/* Called by the store (lock held) after a transfer status change. */
void emu_events_on_status(const struct emu_transfer *t, int status);
/* A recipient confirmed: downloadconfirmed to that recipient and the sender. */
void emu_events_download_confirmed(const struct emu_transfer *t, const char *recipient_org);

/* Forget events, pending deliveries and subscriptions (POST /_emulator/reset). */
void emu_events_reset(void);
/* Adds "events" and "subscriptions" (with delivery counters) to the state document. */
void emu_events_add_json(cJSON *obj);

/* ---- for the HTTP API (emu_events_api.c); all take the events lock inside ---- */

/* Events matching resource (URN), subject (URN or NULL = any), one of
 * types[0..ntypes) (none = any) after the event with id `after` ("0" or
 * unknown id = from the start), at most size; a JSON array. */
cJSON *emu_events_query(const char *resource, const char *subject, const char *const *types,
                        size_t ntypes, const char *after, int size);

typedef struct emu_subscription_req {
  const char *endpoint;
  const char *resource_filter;
  const char *subject_filter;
  const char *type_filter;
  const char *consumer;     /* "/organisation/<orgnr>" */
  bool include_subunits;    /* subjectFilter's main unit also catches its subunits */
} emu_subscription_req;

/* Creates (or, when identical, returns again) a subscription and queues the
 * validation handshake. Returns its JSON. */
cJSON *emu_events_subscribe(const emu_subscription_req *req, long *id_out);
/* Subscription JSON when it exists and belongs to consumer. *found tells
 * 404 from 403. */
cJSON *emu_events_subscription(long id, const char *consumer, bool *found);
/* 0 deleted, -1 not found, -2 not the owner. */
int emu_events_unsubscribe(long id, const char *consumer);
/* {"count":n,"subscriptions":[...]} of consumer. */
cJSON *emu_events_subscriptions(const char *consumer);

#endif
