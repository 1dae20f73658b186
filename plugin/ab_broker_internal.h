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

#endif
