/* ab_grant.h - the Maskinporten JWT-bearer grant (RFC 7523), built exactly
 * as Maskinporten documents it (auth-and-events.md §1.2-1.4).
 *
 * Header: {"alg": RS256|RS384|RS512, "kid": ...} for a registered key, or
 * {"alg": ..., "x5c": [...]} for an enterprise certificate, never both.
 * Claims: aud (the issuer, a string), iss (client id), scope, iat,
 * exp = iat + 120, a fresh UUIDv4 jti, and only when configured `resource`
 * and the system-user `authorization_details`. Nothing else: Maskinporten
 * answers any undocumented claim with "Invalid assertion".
 */
#ifndef AB_GRANT_H
#define AB_GRANT_H

#include <time.h>

#include "ab_error.h"
#include "ab_jwt.h"
#include "ab_key.h"

/* exp - iat; Maskinporten refuses more than 120 s. */
#define AB_GRANT_LIFETIME_S 120

typedef struct ab_grant_claims {
  const char *audience;       /* "aud": Maskinporten issuer with trailing slash */
  const char *client_id;      /* "iss" */
  const char *scope;          /* "scope": space-separated */
  const char *resource;       /* optional "resource" (audience-restricted token) */
  const char *systemuser_org; /* optional: 9 digits or "0192:<9 digits>" of the
                               * customer the system user acts for */
  const char *external_ref;   /* optional "externalRef" of that system user */
} ab_grant_claims;

/* Signs a grant issued at `iat` with key. The jti is written to jti_out (it
 * may be logged; the grant may not). Returns the malloc'ed compact JWT (free
 * with ab_secret_free), or NULL with err set. */
char *ab_grant_sign(const ab_key *key, const ab_grant_claims *c, time_t iat,
                    char jti_out[AB_UUID_LEN], ab_error *err);

/* Writes "0192:<org>" for a 9-digit org given as "<org>" or "0192:<org>"
 * (ID in authorization_details must carry the prefix). Returns 0, or -1
 * with err set. */
int ab_grant_systemuser_id(const char *org, char out[16], ab_error *err);

#endif
