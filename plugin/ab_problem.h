/* ab_problem.h - Broker error replies (RFC 9457 ProblemDetails) to ab_error.
 *
 * The Broker answers errors as Altinn ProblemDetails with a "BRO-000NN"
 * `code` and a `detail`, as ASP.NET ValidationProblemDetails with an
 * `errors` map (no code), as plain text (406) or with an empty body
 * (401/403 from the authentication layer). Proxies add HTML. Everything is
 * parsed leniently: whatever is missing or malformed is simply absent.
 */
#ifndef AB_PROBLEM_H
#define AB_PROBLEM_H

#include <stddef.h>

#include "ab_error.h"
#include "ab_http.h"

typedef struct ab_problem {
  char code[24];      /* "BRO-00016" or "" */
  char title[128];    /* `title` or "" */
  char detail[400];   /* `detail`, or the joined validation messages, or "" */
} ab_problem;

/* Parses a reply body. Returns 1 when it was a JSON object (fields that were
 * present are filled), 0 otherwise (out is all empty). */
int ab_problem_parse(const char *body, size_t len, ab_problem *out);

/* The errno for a Broker reply status and code, as documented in
 * ab_broker.h: 401 BRO-00006/403 -> EACCES, 404 -> ENOENT, 400 -> EINVAL
 * (EFBIG for BRO-00016), 409 -> EEXIST, 413 -> EFBIG, 416 -> EINVAL,
 * 429/5xx/other -> EIO. A 401 without code is EACCES as well (the token was
 * rejected even after a retry). */
int ab_problem_errno(long status, const char *code);

/* Sets err from a non-2xx Broker reply to operation `op` ("initialize",
 * "upload", ...): errno per ab_problem_errno, http_status, code and a
 * one-line message such as
 * "Broker refused initialize (HTTP 400 BRO-00016): File size exceeds maximum".
 * A 429 message carries the Retry-After value. Returns -1. */
int ab_problem_set_error(ab_error *err, const char *op, const ab_http_response *resp);

#endif
