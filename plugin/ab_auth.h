/* ab_auth.h - Maskinporten JWT grant, Altinn token exchange, token cache.
 *
 * A mount acts as one Maskinporten client for one organisation. ab_auth
 * signs a JWT grant (RS256 with a registered key id), posts it to
 * Maskinporten's token endpoint, exchanges the Maskinporten token for an
 * Altinn token and keeps the Altinn token until shortly before it expires.
 */
#ifndef AB_AUTH_H
#define AB_AUTH_H

#include <stddef.h>
#include <time.h>

#include "ab_error.h"
#include "ab_http.h"

typedef struct ab_auth_config {
  const char *client_id;        /* Maskinporten client id ("iss") */
  const char *kid;              /* key id registered on the client */
  const char *key_pem;          /* private key (PEM) bytes, loaded before privileges drop */
  size_t key_pem_len;
  const char *audience;         /* Maskinporten issuer with trailing slash ("aud") */
  const char *token_url;        /* Maskinporten token endpoint */
  const char *exchange_url;     /* {platform}/authentication/api/v1/exchange/maskinporten */
  const char *scope;            /* space separated scopes */
  const char *systemuser_org;   /* optional: 9-digit org of the system user, NULL if none */
} ab_auth_config;

typedef struct ab_auth ab_auth;

/* Copies cfg (including the key bytes). Returns NULL with err set when the
 * key cannot be parsed. */
ab_auth *ab_auth_new(const ab_auth_config *cfg, ab_error *err);
void ab_auth_free(ab_auth *a);

/* Returns a valid Altinn token (owned by a, valid until the next call),
 * fetching a new one when none is cached or it expires within the margin.
 * NULL with err set on failure (err names the step: grant or exchange).
 * Details: the margin is 60 s before the token's own `exp`; a Maskinporten
 * 5xx or network failure is retried once with a fresh grant after sleeping
 * 1 s (blocking); Maskinporten 4xx errors are not retried and carry the
 * MP-nnn code (or the OAuth `error`) in err->code, errno EACCES. */
const char *ab_auth_token(ab_auth *a, ab_http *h, ab_error *err);

/* Drops the cached token, e.g. after the Broker answered 401. */
void ab_auth_invalidate(ab_auth *a);

/* Signs a Maskinporten grant for cfg at time `now` into a freshly malloc'ed
 * string (exposed for tests and `altinn-broker check`). */
char *ab_auth_build_grant(const ab_auth *a, time_t now, ab_error *err);

#endif
