/* emu_events_http.h - what the Events HTTP endpoints share: the caller
 * check (Altinn token + altinn:events.subscribe) and the PDP "subscribe"
 * rule. Defined in emu_events_api.c; used by it and emu_events_pull.c.
 */
#ifndef EMU_EVENTS_HTTP_H
#define EMU_EVENTS_HTTP_H

#include <stdbool.h>

#include "emu_http.h"

#define EMU_EVENTS_SCOPE "altinn:events.subscribe"
#define EMU_SUBJECT_PREFIX "urn:altinn:organization:identifier-no:"
#define EMU_RESOURCE_PREFIX "urn:altinn:resource:"

/* Altinn token (401 empty otherwise) with the events scope (403 empty);
 * sets r->caller. False after replying. */
bool emu_events_auth(emu_request *r);

/* PDP "subscribe" on res for the subject party: the resource owner may see
 * any subject; anyone else only its own, and only with "subscribe". */
bool emu_events_may_subscribe(const emu_request *r, const emu_resource *res, const char *subject);

/* The configured resource "urn:altinn:resource:<id>" names, or NULL. */
const emu_resource *emu_events_resource(const emu_request *r, const char *urn);

#endif
