/* ab_maskinporten.h - the token endpoint of Maskinporten (JWT-bearer grant,
 * RFC 7523) and the Altinn token exchange. Used by ab_auth; separate so the
 * wire handling can be tested without keys.
 */
#ifndef AB_MASKINPORTEN_H
#define AB_MASKINPORTEN_H

#include <stddef.h>
#include <time.h>

#include "ab_error.h"
#include "ab_http.h"

/* POSTs the signed grant to token_url as
 * grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=...
 * and returns the malloc'ed `access_token` (caller cleanses and frees), or
 * NULL with err set (see ab_maskinporten_set_error). */
char *ab_maskinporten_request(ab_http *h, const char *token_url,
                              const char *client_id, const char *grant,
                              ab_error *err);

/* Sets err from a failed token reply: code = the MP-nnn code found in
 * `error_description`, else the `error` value; message
 * "Maskinporten refused the grant for client <id>: <error_description>".
 * errno EACCES for 4xx, EIO for 429/5xx. Returns -1. */
int ab_maskinporten_set_error(ab_error *err, const char *client_id,
                              const ab_http_response *resp);

/* GETs exchange_url with "Authorization: Bearer <mp_token>" and
 * "Accept: text/plain"; the body is the Altinn JWT (one pair of surrounding
 * quotes and whitespace stripped). Returns it malloc'ed with its `exp` in
 * *exp, or NULL with err set. A body that is not a JWT with `exp` is an error. */
char *ab_maskinporten_exchange(ab_http *h, const char *exchange_url,
                               const char *mp_token, time_t *exp, ab_error *err);

/* Overwrites and frees a malloc'ed secret string (NULL is fine). */
void ab_secret_free(char *s);

#endif
