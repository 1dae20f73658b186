/* ab_auth.h - Maskinporten JWT grant, Altinn token exchange, token cache.
 *
 * A mount acts as one Maskinporten client for one organisation. ab_auth
 * signs a JWT grant with the client's key or enterprise certificate
 * (ab_grant.h), posts it to Maskinporten's token endpoint, exchanges the
 * Maskinporten token for an Altinn token and keeps the Altinn token until
 * shortly before it expires.
 *
 * Clocks: Maskinporten accepts a grant's iat only within 10 s of its own
 * clock, and the Broker checks token expiry with zero skew. So ab_auth
 * (1) learns how far the local clock is off from the Date header of
 * Maskinporten's replies and dates its grants in Maskinporten's time when
 * the difference exceeds AB_AUTH_CLOCK_TOLERANCE_S, re-sending a grant
 * refused as expired or "issued in the future" (MP-130) once at once with
 * the corrected time; and (2) counts a token's remaining life from its own
 * lifetime (exp - iat, both the issuer's clock) from the moment it arrived,
 * never by comparing the issuer's exp with the local clock.
 */
#ifndef AB_AUTH_H
#define AB_AUTH_H

#include <stddef.h>
#include <time.h>

#include "ab_error.h"
#include "ab_http.h"
#include "ab_jwt.h"
#include "ab_key.h"
#include "ab_log.h"

/* Local clock differences up to this are left alone (Maskinporten allows
 * 10 s on iat; the Date header has 1 s resolution plus network delay). */
#define AB_AUTH_CLOCK_TOLERANCE_S 5

/* Default limit for one token request or exchange. */
#define AB_AUTH_TIMEOUT_MS 30000

/* A source of Altinn tokens outside this process (the gateway's agent,
 * which holds the keys and shares one token among all sessions). Returns a
 * malloc'ed token and in *valid_ms how long it may be used, or NULL with
 * err. `rejected` is the fingerprint (ab_token_fingerprint) of a token the
 * Broker refused, so the source refreshes instead of handing it out again,
 * or NULL. */
typedef char *(*ab_token_source_fn)(void *ctx, const char *rejected, long long *valid_ms,
                                    ab_error *err);

typedef struct ab_auth_config {
  const char *client_id;        /* Maskinporten client id ("iss") */
  const ab_key *key;            /* signing key or certificate; borrowed, must outlive
                                 * the ab_auth (ab_config keeps it for the process) */
  const char *audience;         /* Maskinporten issuer with trailing slash ("aud") */
  const char *token_url;        /* Maskinporten token endpoint */
  const char *exchange_url;     /* {platform}/authentication/api/v1/exchange/maskinporten */
  const char *scope;            /* space separated scopes */
  const char *resource;         /* optional: the grant's `resource` claim */
  const char *systemuser_org;   /* optional: 9-digit org of the system user, NULL if none */
  const char *external_ref;     /* optional: the system user's externalRef */
  long timeout_ms;              /* per token request / exchange; 0 = AB_AUTH_TIMEOUT_MS */
  /* Optional: get tokens from here instead of signing grants. Then no key
   * and no Maskinporten settings are needed (the session side of the agent). */
  ab_token_source_fn source;
  void *source_ctx;
  ab_log_fn log;                /* optional: each token fetched (jti, lifetimes, timings)
                                 * at INFO, a corrected clock at NOTICE; never a secret */
  void *log_ctx;
} ab_auth_config;

typedef struct ab_auth ab_auth;

/* Where a token fetch stopped (ab_auth_report.stage). */
typedef enum ab_auth_stage {
  AB_AUTH_STAGE_KEY = 1,      /* the key or certificate cannot sign (expired certificate) */
  AB_AUTH_STAGE_GRANT = 2,    /* Maskinporten refused or could not be reached */
  AB_AUTH_STAGE_EXCHANGE = 3, /* the Altinn token exchange failed */
  AB_AUTH_STAGE_DONE = 4      /* an Altinn token was obtained */
} ab_auth_stage;

/* What one token fetch saw, for `altinn-broker check`. */
typedef struct ab_auth_report {
  ab_auth_stage stage;
  char jti[AB_UUID_LEN];      /* of the last grant sent */
  char granted_scope[512];    /* the scopes Maskinporten granted */
  long mp_expires_in;         /* Maskinporten token lifetime (s) */
  long altinn_lifetime;       /* Altinn token lifetime (s) */
  long clock_offset;          /* Maskinporten's clock minus ours (s), as measured */
  int clock_corrected;        /* a grant was refused for its time and re-sent */
  long grant_ms;              /* time the token request(s) took */
  long exchange_ms;           /* time the exchange took */
} ab_auth_report;

/* Copies cfg (the key is borrowed). Returns NULL with err set when a
 * required setting is missing. */
ab_auth *ab_auth_new(const ab_auth_config *cfg, ab_error *err);
void ab_auth_free(ab_auth *a);

/* Returns a valid Altinn token (owned by a, valid until the next call),
 * fetching a new one when none is cached or it expires within the margin.
 * NULL with err set on failure (err names the step: grant or exchange).
 * Details: the margin is min(60 s, a quarter of the token's lifetime); a
 * Maskinporten 5xx/429 or network failure is retried once with a fresh grant
 * after sleeping 1 s (blocking); a grant refused for its time (MP-130) or as
 * replayed (MP-012) is rebuilt and sent once more at once; other
 * Maskinporten 4xx errors are not retried and carry the MP-nnn code (or the
 * OAuth `error`) in err->code, errno EACCES. */
const char *ab_auth_token(ab_auth *a, ab_http *h, ab_error *err);

/* Fetches a new token whatever is cached (and caches it), describing each
 * step in *rep (may be NULL). */
const char *ab_auth_refresh(ab_auth *a, ab_http *h, ab_auth_report *rep, ab_error *err);

/* Drops the cached token, e.g. after the Broker answered 401. With a token
 * source, the next ab_auth_token tells the source which token was refused. */
void ab_auth_invalidate(ab_auth *a);

/* Seconds the cached token may still be used (until its refresh point:
 * the margin already taken off), 0 when none is cached. */
long ab_auth_usable_seconds(const ab_auth *a);

/* A short, non-reversible name for a token (16 hex chars of its SHA-256):
 * lets two processes agree on "that token" without passing it around. */
void ab_token_fingerprint(const char *token, char out[17]);

/* Signs a Maskinporten grant for cfg at local time `now` (corrected by the
 * measured clock offset) into a freshly malloc'ed string (exposed for tests). */
char *ab_auth_build_grant(const ab_auth *a, time_t now, ab_error *err);

#endif
