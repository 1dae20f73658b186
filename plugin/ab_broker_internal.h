/* ab_broker_internal.h - helpers ab_broker.c shares with ab_download.c.
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

#endif
