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

/* What the token endpoint answered. */
typedef struct ab_mp_reply {
  char *access_token;  /* malloc'ed (free with ab_secret_free), NULL on failure */
  long expires_in;     /* seconds, 0 if absent */
  char scope[512];     /* the scopes Maskinporten granted */
  time_t server_time;  /* the reply's Date header (Maskinporten's clock), 0 if
                        * absent; set on failures too, for clock-skew repair */
} ab_mp_reply;

/* POSTs the signed grant to token_url as
 * grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=...
 * within timeout_ms (0 = no overall limit) and fills out. Returns 0, or -1
 * with err set (see ab_maskinporten_set_error); out->server_time is set
 * either way. */
int ab_maskinporten_request(ab_http *h, long timeout_ms, const char *token_url,
                            const char *client_id, const char *grant,
                            ab_mp_reply *out, ab_error *err);

/* Sets err from a failed token reply: code = the MP-nnn code found in
 * `error_description`, else the `error` value when it is one word of
 * [A-Za-z0-9_.-] (an OAuth code, not free text); message
 * "Maskinporten refused the grant for client <id>: <error_description>"
 * (for 429/5xx "Maskinporten failed the token request ... (HTTP nnn): ...").
 * errno EACCES for 4xx, EIO for 429/5xx. Returns -1. */
int ab_maskinporten_set_error(ab_error *err, const char *client_id,
                              const ab_http_response *resp);

/* GETs exchange_url with "Authorization: Bearer <mp_token>" and
 * "Accept: text/plain" within timeout_ms; the body is the Altinn JWT (one
 * pair of surrounding quotes and whitespace stripped). Returns it malloc'ed
 * with its `exp` in *exp and its `iat` in *iat (0 when absent), or NULL with
 * err set. A body that is not a JWT with `exp` is an error. */
char *ab_maskinporten_exchange(ab_http *h, long timeout_ms, const char *exchange_url,
                               const char *mp_token, time_t *exp, time_t *iat,
                               ab_error *err);

/* Overwrites and frees a malloc'ed secret string (NULL is fine). */
void ab_secret_free(char *s);

#endif
