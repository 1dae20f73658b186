/* ab_broker_internal.h - helpers ab_broker.c shares with ab_download.c
 * and ab_events.c.
 * Not part of the public API.
 */
#ifndef AB_BROKER_INTERNAL_H
#define AB_BROKER_INTERNAL_H

#include "ab_broker.h"
#include "ab_error.h"
#include "ab_http.h"

/* Takes the rate budget for op (b->pace), then builds
 * "Authorization: Bearer <token>" with a token from b->auth, malloc'ed;
 * free with ab_secret_free. NULL with err set (prefixed with op). */
char *ab_broker_auth_header(ab_broker *b, const char *op, ab_error *err);

/* The same header without taking the rate budget, for requests to
 * endpoints the Broker does not rate-limit (TUS). */
char *ab_broker_bearer(ab_broker *b, const char *op, ab_error *err);

/* 1 when resp is a 401 without a Broker code, i.e. the token itself was
 * rejected (expired, revoked) rather than an authorization denial
 * (BRO-00006): the caller should invalidate the token and retry once. */
int ab_broker_token_rejected(const ab_http_response *resp);

/* One authenticated call to the platform (Broker or Events API) with the
 * rules of every Broker call: rate budget (b->pace, with op as the
 * endpoint name), bearer token, one retry with a fresh token on a rejected
 * token, and for idempotent calls one retry after a short Retry-After on
 * 429. content_type is a full header ("Content-Type: ...") or NULL;
 * accept_json sends "Accept: application/json". Returns 0 with a 2xx
 * reply in resp (the caller clears it), or -1 with err set from the reply
 * (ProblemDetails, text or status) and resp cleared. */
int ab_broker_request(ab_broker *b, const char *op, const char *method, const char *url,
                      const char *content_type, int accept_json, const void *body,
                      size_t body_len, int idempotent, ab_http_response *resp,
                      ab_error *err);

#define AB_BROKER_EXTRA_HEADERS 4

/* One Broker API request in full, for ab_broker_call (what
 * ab_broker_request cannot say: extra headers, a body from a file region,
 * every status back). */
typedef struct ab_broker_req {
  const char *op;           /* for messages: "initialize", "overview", ... */
  const char *method;
  const char *url;
  const char *content_type; /* "Content-Type: ..." header or NULL */
  int accept_json;          /* send "Accept: application/json" */
  const char *extra_headers[AB_BROKER_EXTRA_HEADERS]; /* "Name: value", NULL-terminated if fewer */
  const void *body;         /* in-memory body, or NULL */
  size_t body_len;
  int fd;                   /* >= 0: stream fd[fd_offset, fd_offset + fd_len) as the body */
  off_t fd_offset;
  off_t fd_len;
  int idempotent;           /* may retry once on a short 429 */
  int any_status;           /* hand every HTTP status back (after the token retry) */
  int unpaced;              /* not one of the rate-limited endpoints (TUS): no budget taken */
} ab_broker_req;

/* Zeroes r and sets op, method and url (fd = -1). */
void ab_broker_req_init(ab_broker_req *r, const char *op, const char *method,
                            const char *url);

/* Performs req with the rate budget (b->pace, unless unpaced) and a bearer
 * token: on a 401 without Broker code the token is dropped and the request
 * sent once more; an idempotent request waits
 * out one short 429. Returns 0 with a 2xx reply (any reply when
 * any_status) in resp, which the caller clears, or -1 with err set from the
 * ProblemDetails (or the transport failure) and resp cleared. */
int ab_broker_call(ab_broker *b, const ab_broker_req *req,
                   ab_http_response *resp, ab_error *err);

#endif
