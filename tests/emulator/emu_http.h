/* emu_http.h - request context, endpoint table and reply helpers.
 *
 * libmicrohttpd calls one access handler several times per request (headers,
 * each body chunk, end of body). emu_http.c turns that into a fixed pipeline
 * per endpoint:
 *
 *   fault injection -> rate limit -> Accept check -> bearer token -> scope
 *   -> ep->begin (headers known) -> ep->data per body chunk -> ep->finish
 *
 * Any stage may set the reply; later stages then do not run. Endpoints that
 * do not supply ep->data get the body collected into r->body (capped), which
 * is what the small JSON endpoints want; the upload endpoints stream instead.
 */
#ifndef EMU_HTTP_H
#define EMU_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "emu_auth.h"
#include "emu_config.h"
#include "emu_faults.h"

/* Endpoint flags */
#define EMU_F_BROKER 0x01   /* Broker API: bearer auth, nosniff/no-store, ProblemDetails */
#define EMU_F_JSON 0x02     /* [Produces("application/json")]: Accept check, JSON problems */
#define EMU_F_RATE 0x04     /* counted against the per-org APIM rate limit */
#define EMU_F_NOFAULT 0x08  /* never faulted (inspection endpoints) */
#define EMU_F_NOCOUNT 0x10  /* not counted in "requests" */

typedef struct emu_request emu_request;

typedef struct emu_endpoint {
  const char *name;         /* counters, faults and rate-limit buckets */
  const char *method;
  unsigned flags;
  const char *produces;     /* [Produces] other than JSON ("text/csv"): Accept check */
  const char *scope_a;      /* any of these scopes is required (Broker) */
  const char *scope_b;
  void (*begin)(emu_request *r);
  void (*data)(emu_request *r, const char *buf, size_t len);
  void (*finish)(emu_request *r);
  /* Always called once at the end; completed=false when the client went
   * away or the request failed before the response was sent. */
  void (*cleanup)(emu_request *r, bool completed);
} emu_endpoint;

struct emu_request {
  struct MHD_Connection *conn;
  const emu_config *cfg;
  const emu_endpoint *ep;
  const char *url;
  char id[37];              /* {fileTransferId} from the path, lower-case */
  char sub[256];            /* extra path segment (TUS partial id, subscription id, resource id) */
  emu_caller caller;        /* set for EMU_F_BROKER endpoints once authenticated */
  char *body;               /* collected body (endpoints without ep->data) */
  size_t body_len;
  size_t body_cap;
  bool body_overflow;
  bool answered;            /* response queued; ignore further calls */
  unsigned status;
  struct MHD_Response *resp;
  void *state;              /* endpoint-private */
  char trace_id[64];
};

/* The endpoint table lookup: fills r->ep, r->id, r->sub. Returns false and
 * sets a reply (404/405) when nothing matches. */
bool emu_route(emu_request *r, const char *method, const char *url);

/* Reply setters: the first reply wins, later calls are ignored (and free
 * their argument), so "fail at the first problem" needs no extra checks. */
void emu_reply(emu_request *r, unsigned status, const char *ctype, const char *body, size_t len);
void emu_reply_empty(emu_request *r, unsigned status);
void emu_reply_json(emu_request *r, unsigned status, cJSON *j);   /* takes j */
void emu_reply_response(emu_request *r, unsigned status, struct MHD_Response *resp);
bool emu_replied(const emu_request *r);

/* Request header / query argument (case-insensitive names), NULL if absent. */
const char *emu_header(emu_request *r, const char *name);
const char *emu_query(emu_request *r, const char *name);

/* [Consumes(type)] as ASP.NET checks it: a Content-Type other than type
 * (parameters ignored) gets 415 ProblemDetails and false; none passes. */
bool emu_http_consumes(emu_request *r, const char *type);

/* The fault taken for this request (stream kinds act during the body), or NULL. */
const emu_fault *emu_http_fault(const emu_request *r);

/* Binds (setting cfg's port and derived URLs) and starts the daemon;
 * NULL on failure. */
struct MHD_Daemon *emu_http_start(emu_config *cfg);

#endif
