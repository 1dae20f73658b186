/* ab_auth.c - Maskinporten grant, Altinn token and its cache (see ab_auth.h).
 *
 * The key is loaded once by the configuration (before the session chroots
 * and drops privileges) and only borrowed here. The cached Altinn token is
 * cleansed when replaced or dropped.
 */
#include "ab_auth.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ab_grant.h"
#include "ab_maskinporten.h"

/* Refresh the Altinn token this long before it expires: Broker validates
 * with zero clock skew, so the margin absorbs latency. */
#define AB_AUTH_MARGIN_S 60

struct ab_auth {
  char *client_id;
  const ab_key *key;
  char *audience;
  char *token_url;
  char *exchange_url;
  char *scope;
  char *resource;
  char *systemuser_org;
  char *external_ref;
  long timeout_ms;
  ab_log_fn log;
  void *log_ctx;
  long clock_offset;    /* Maskinporten's clock minus ours, when beyond tolerance */
  char *token;          /* cached Altinn token, or NULL */
  time_t refresh_at;    /* local time from which the token is refreshed */
  ab_token_source_fn source;
  void *source_ctx;
  struct timespec source_until; /* CLOCK_MONOTONIC: a sourced token is used until then */
  char rejected[17];    /* fingerprint of the last invalidated sourced token, or "" */
};

/* strdup for optional strings: NULL or "" stays NULL. */
static int copy_optional(char **dst, const char *src, ab_error *err) {
  *dst = NULL;
  if (src == NULL || src[0] == '\0') {
    return 0;
  }
  *dst = strdup(src);
  return *dst == NULL ? ab_error_set(err, ENOMEM, "out of memory") : 0;
}

static int copy_required(char **dst, const char *src, const char *what, ab_error *err) {
  if (src == NULL || src[0] == '\0') {
    return ab_error_set(err, EINVAL, "Maskinporten configuration lacks %s", what);
  }
  return copy_optional(dst, src, err);
}

ab_auth *ab_auth_new(const ab_auth_config *cfg, ab_error *err) {
  ab_auth *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  if (cfg->source != NULL) {
    a->source = cfg->source;
    a->source_ctx = cfg->source_ctx;
    return a;
  }
  char su[16];
  if (copy_required(&a->client_id, cfg->client_id, "a client id", err) ||
      copy_required(&a->audience, cfg->audience, "an audience", err) ||
      copy_required(&a->token_url, cfg->token_url, "a token URL", err) ||
      copy_required(&a->exchange_url, cfg->exchange_url, "an exchange URL", err) ||
      copy_required(&a->scope, cfg->scope, "a scope", err) ||
      copy_optional(&a->resource, cfg->resource, err) ||
      copy_optional(&a->external_ref, cfg->external_ref, err) ||
      (cfg->systemuser_org != NULL && cfg->systemuser_org[0] != '\0' &&
       (ab_grant_systemuser_id(cfg->systemuser_org, su, err) ||
        copy_optional(&a->systemuser_org, su, err)))) {
    ab_auth_free(a);
    return NULL;
  }
  if (cfg->key == NULL) {
    ab_error_set(err, EINVAL, "no Maskinporten key or certificate loaded");
    ab_auth_free(a);
    return NULL;
  }
  a->key = cfg->key;
  a->log = cfg->log;
  a->log_ctx = cfg->log_ctx;
  a->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : AB_AUTH_TIMEOUT_MS;
  return a;
}

void ab_auth_free(ab_auth *a) {
  if (a == NULL) {
    return;
  }
  ab_auth_invalidate(a);
  free(a->client_id);
  free(a->audience);
  free(a->token_url);
  free(a->exchange_url);
  free(a->scope);
  free(a->resource);
  free(a->systemuser_org);
  free(a->external_ref);
  free(a);
}

void ab_token_fingerprint(const char *token, char out[17]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  out[0] = '\0';
  if (EVP_Digest(token, strlen(token), md, &len, EVP_sha256(), NULL) == 1 && len >= 8) {
    for (int i = 0; i < 8; i++) {
      snprintf(out + 2 * i, 3, "%02x", md[i]);
    }
  }
}

long ab_auth_usable_seconds(const ab_auth *a) {
  long left = a->token != NULL ? (long) (a->refresh_at - time(NULL)) : 0;
  return left > 0 ? left : 0;
}

void ab_auth_invalidate(ab_auth *a) {
  if (a != NULL) {
    if (a->source != NULL && a->token != NULL) {
      ab_token_fingerprint(a->token, a->rejected);
    }
    ab_secret_free(a->token);
    a->token = NULL;
    a->refresh_at = 0;
  }
}

static char *sign_grant(const ab_auth *a, time_t now, char jti[AB_UUID_LEN], ab_error *err) {
  ab_grant_claims c = {
    .audience = a->audience, .client_id = a->client_id, .scope = a->scope,
    .resource = a->resource, .systemuser_org = a->systemuser_org,
    .external_ref = a->systemuser_org != NULL ? a->external_ref : NULL,
  };
  return ab_grant_sign(a->key, &c, now + a->clock_offset, jti, err);
}

char *ab_auth_build_grant(const ab_auth *a, time_t now, ab_error *err) {
  char jti[AB_UUID_LEN];
  if (a->key == NULL) {
    ab_error_set(err, EINVAL, "no Maskinporten key in this process (tokens come from the agent)");
    return NULL;
  }
  return sign_grant(a, now, jti, err);
}

static void auth_log(const ab_auth *a, int level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void auth_log(const ab_auth *a, int level, const char *fmt, ...) {
  if (a->log == NULL) {
    return;
  }
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  a->log(a->log_ctx, level, line);
}

static long elapsed_ms(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (long) ((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Learns the clock offset from a Maskinporten reply. Returns 1 when it
 * changed by more than the tolerance (a grant refused for its time is then
 * worth re-sending). */
static int learn_clock(ab_auth *a, time_t server_time, time_t sent_at) {
  if (server_time <= 0) {
    return 0;
  }
  long offset = (long) (server_time - sent_at);
  long diff = offset - a->clock_offset;
  if (diff >= -AB_AUTH_CLOCK_TOLERANCE_S && diff <= AB_AUTH_CLOCK_TOLERANCE_S) {
    return 0;
  }
  a->clock_offset = offset > AB_AUTH_CLOCK_TOLERANCE_S || offset < -AB_AUTH_CLOCK_TOLERANCE_S
                        ? offset : 0;
  return 1;
}

/* One grant + token request. */
static int maskinporten_once(ab_auth *a, ab_http *h, ab_mp_reply *mp, ab_auth_report *rep,
                             ab_error *err) {
  time_t now = time(NULL);
  char *grant = sign_grant(a, now, rep->jti, err);
  if (grant == NULL) {
    return ab_error_prefix(err, "cannot build the Maskinporten grant");
  }
  int rc = ab_maskinporten_request(h, a->timeout_ms, a->token_url, a->client_id, grant, mp, err);
  ab_secret_free(grant);
  if (mp->server_time > 0) {
    rep->clock_offset = (long) (mp->server_time - now);
  }
  return rc;
}

/* The grant step with its retries (see ab_auth_token). */
static int maskinporten_token(ab_auth *a, ab_http *h, ab_mp_reply *mp, ab_auth_report *rep,
                              ab_error *err) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  time_t sent_at = time(NULL);
  int rc = maskinporten_once(a, h, mp, rep, err);
  int clock_moved = learn_clock(a, mp->server_time, sent_at);
  if (rc != 0 && err != NULL && err->err_no == EACCES &&
      (clock_moved || strcmp(err->code, "MP-012") == 0)) {
    /* Refused while our clock was off by more than the tolerance (MP-130
     * "JWT is expired" or "Issue time is after now"; the time is now
     * corrected from Maskinporten's Date header), or refused as replayed:
     * a new grant with a new jti, once, at once. */
    rep->clock_corrected = clock_moved;
    if (clock_moved) {
      auth_log(a, AB_LOG_NOTICE, "Maskinporten refused a grant of client %s while this "
               "machine's clock is %ld s off Maskinporten's; grants are now dated in "
               "Maskinporten's time (fix NTP)", a->client_id, a->clock_offset);
    }
    rc = maskinporten_once(a, h, mp, rep, err);
  } else if (rc != 0 && err != NULL && err->err_no == EIO) {
    /* Maskinporten has short outages (503) and network blips; one retry
     * with a fresh grant (new jti) after a second, as Altinn's tools do. */
    sleep(1);
    rc = maskinporten_once(a, h, mp, rep, err);
  }
  rep->grant_ms = elapsed_ms(&t0);
  return rc;
}

/* A token from the configured source, cached until the source says. */
static const char *sourced_token(ab_auth *a, ab_error *err) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  if (a->token != NULL && (now.tv_sec < a->source_until.tv_sec ||
                           (now.tv_sec == a->source_until.tv_sec &&
                            now.tv_nsec < a->source_until.tv_nsec))) {
    return a->token;
  }
  /* Expired here is not "rejected": drop it without a fingerprint. */
  ab_secret_free(a->token);
  a->token = NULL;
  long long valid_ms = 0;
  char *t = a->source(a->source_ctx, a->rejected[0] ? a->rejected : NULL, &valid_ms, err);
  if (t == NULL) {
    return NULL;
  }
  a->rejected[0] = '\0';
  a->token = t;
  a->source_until.tv_sec = now.tv_sec + valid_ms / 1000;
  a->source_until.tv_nsec = now.tv_nsec + (valid_ms % 1000) * 1000000L;
  if (a->source_until.tv_nsec >= 1000000000L) {
    a->source_until.tv_sec++;
    a->source_until.tv_nsec -= 1000000000L;
  }
  return a->token;
}

const char *ab_auth_refresh(ab_auth *a, ab_http *h, ab_auth_report *rep, ab_error *err) {
  if (a->source != NULL) {
    if (rep != NULL) {
      memset(rep, 0, sizeof(*rep));
    }
    ab_auth_invalidate(a);
    return sourced_token(a, err);
  }
  ab_auth_report local;
  if (rep == NULL) {
    rep = &local;
  }
  memset(rep, 0, sizeof(*rep));
  ab_auth_invalidate(a);
  rep->stage = AB_AUTH_STAGE_KEY;
  if (ab_key_check_valid(a->key, time(NULL) + a->clock_offset, err) < 0) {
    return NULL;
  }
  rep->stage = AB_AUTH_STAGE_GRANT;
  ab_mp_reply mp;
  if (maskinporten_token(a, h, &mp, rep, err) != 0) {
    return NULL;
  }
  rep->mp_expires_in = mp.expires_in;
  snprintf(rep->granted_scope, sizeof(rep->granted_scope), "%s", mp.scope);

  rep->stage = AB_AUTH_STAGE_EXCHANGE;
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  time_t exp = 0, iat = 0;
  time_t received = time(NULL);
  char *altinn = ab_maskinporten_exchange(h, a->timeout_ms, a->exchange_url, mp.access_token,
                                          &exp, &iat, err);
  rep->exchange_ms = elapsed_ms(&t0);
  ab_secret_free(mp.access_token);
  if (altinn == NULL) {
    return NULL;
  }
  /* Life in the issuer's own terms (exp - iat), counted from arrival on the
   * local clock, so a wrong local clock changes nothing. What exp says
   * against our (Maskinporten-corrected) clock can only shorten it: a
   * token handed out already old is not kept for its full life. */
  long by_clock = (long) (exp - (received + a->clock_offset));
  long lifetime = iat > 0 && exp > iat ? (long) (exp - iat) : by_clock;
  long remaining = by_clock > 0 && by_clock < lifetime ? by_clock : lifetime;
  if (remaining < 0) {
    remaining = 0;
  }
  long margin = lifetime / 4 < AB_AUTH_MARGIN_S ? lifetime / 4 : AB_AUTH_MARGIN_S;
  rep->altinn_lifetime = lifetime > 0 ? lifetime : 0;
  rep->stage = AB_AUTH_STAGE_DONE;
  a->token = altinn;
  a->refresh_at = received + remaining - margin;
  auth_log(a, AB_LOG_INFO, "token for client %s: Maskinporten grant jti %s (%ld ms, token %ld s), "
           "Altinn token valid %ld s (%ld ms), refreshed in %ld s", a->client_id, rep->jti,
           rep->grant_ms, rep->mp_expires_in, lifetime, rep->exchange_ms,
           (long) (a->refresh_at - received));
  return a->token;
}

const char *ab_auth_token(ab_auth *a, ab_http *h, ab_error *err) {
  if (a->source != NULL) {
    return sourced_token(a, err);
  }
  if (a->token != NULL && time(NULL) < a->refresh_at) {
    return a->token;
  }
  return ab_auth_refresh(a, h, NULL, err);
}
