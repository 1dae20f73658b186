/* ab_auth.c - Maskinporten grant, Altinn token and its cache (see ab_auth.h).
 *
 * The key is parsed once in ab_auth_new (before the session chroots and drops
 * privileges) and only the EVP_PKEY is kept; the PEM copy is cleansed at
 * once. The cached Altinn token is cleansed when replaced or dropped.
 */
#include "ab_auth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "ab_jwt.h"
#include "ab_maskinporten.h"

/* Refresh the Altinn token this long before its exp: Broker validates with
 * zero clock skew, so the margin absorbs latency and local clock drift. */
#define AB_AUTH_MARGIN_S 60

/* Grant lifetime; Maskinporten rejects exp - iat > 120 s. */
#define AB_GRANT_LIFETIME_S 120

struct ab_auth {
  char *client_id;
  char *kid;
  char *audience;
  char *token_url;
  char *exchange_url;
  char *scope;
  char *systemuser_id;  /* "0192:<org>" or NULL */
  EVP_PKEY *key;
  char *token;          /* cached Altinn token, or NULL */
  time_t token_exp;
};

/* Refuses to prompt on the terminal for an encrypted key's passphrase. */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return -1;
}

static EVP_PKEY *parse_key(const char *pem, size_t len, ab_error *err) {
  if (pem == NULL || len == 0 || len > 1024 * 1024) {
    ab_error_set(err, EINVAL, "no Maskinporten private key given");
    return NULL;
  }
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (bio == NULL) {
    ab_error_set(err, ENOMEM, "out of memory reading the private key");
    return NULL;
  }
  EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
  BIO_free(bio);
  if (key == NULL) {
    unsigned long e = ERR_peek_last_error();
    const char *why = e != 0 ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    ab_error_set(err, EINVAL, "cannot read the Maskinporten private key (PEM, PKCS#1 or "
                 "PKCS#8, unencrypted): %s", why != NULL ? why : "not a PEM private key");
    return NULL;
  }
  if (!EVP_PKEY_is_a(key, "RSA")) {
    EVP_PKEY_free(key);
    ab_error_set(err, EINVAL, "the Maskinporten private key is not an RSA key (RS256 needs RSA)");
    return NULL;
  }
  return key;
}

/* strdup for required, non-empty config strings. */
static int copy_required(char **dst, const char *src, const char *what, ab_error *err) {
  if (src == NULL || src[0] == '\0') {
    return ab_error_set(err, EINVAL, "Maskinporten configuration lacks %s", what);
  }
  *dst = strdup(src);
  if (*dst == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  return 0;
}

/* "0192:<9 digits>" from "<9 digits>" or "0192:<9 digits>". */
static int systemuser_id(const char *org, char **out, ab_error *err) {
  if (strncmp(org, "0192:", 5) == 0) {
    org += 5;
  }
  size_t n = strlen(org);
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)org[i])) {
      n = 0;
      break;
    }
  }
  if (n != 9) {
    return ab_error_set(err, EINVAL, "system user organisation must be a 9-digit "
                        "organisation number, got \"%.40s\"", org);
  }
  if (asprintf(out, "0192:%s", org) < 0) {
    *out = NULL;
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  return 0;
}

ab_auth *ab_auth_new(const ab_auth_config *cfg, ab_error *err) {
  ab_auth *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  if (copy_required(&a->client_id, cfg->client_id, "a client id", err) ||
      copy_required(&a->kid, cfg->kid, "a key id (kid)", err) ||
      copy_required(&a->audience, cfg->audience, "an audience", err) ||
      copy_required(&a->token_url, cfg->token_url, "a token URL", err) ||
      copy_required(&a->exchange_url, cfg->exchange_url, "an exchange URL", err) ||
      copy_required(&a->scope, cfg->scope, "a scope", err) ||
      (cfg->systemuser_org != NULL && cfg->systemuser_org[0] != '\0' &&
       systemuser_id(cfg->systemuser_org, &a->systemuser_id, err))) {
    ab_auth_free(a);
    return NULL;
  }
  a->key = parse_key(cfg->key_pem, cfg->key_pem_len, err);
  if (a->key == NULL) {
    ab_auth_free(a);
    return NULL;
  }
  return a;
}

void ab_auth_free(ab_auth *a) {
  if (a == NULL) {
    return;
  }
  ab_auth_invalidate(a);
  EVP_PKEY_free(a->key); /* frees private components with BN_clear_free */
  free(a->client_id);
  free(a->kid);
  free(a->audience);
  free(a->token_url);
  free(a->exchange_url);
  free(a->scope);
  free(a->systemuser_id);
  free(a);
}

void ab_auth_invalidate(ab_auth *a) {
  if (a != NULL) {
    ab_secret_free(a->token);
    a->token = NULL;
    a->token_exp = 0;
  }
}

/* The claims of a grant, exactly those Maskinporten documents: extra claims
 * are rejected with "Invalid assertion". */
static cJSON *grant_claims(const ab_auth *a, time_t now, const char *jti) {
  cJSON *p = cJSON_CreateObject();
  if (p == NULL ||
      !cJSON_AddStringToObject(p, "aud", a->audience) ||
      !cJSON_AddStringToObject(p, "iss", a->client_id) ||
      !cJSON_AddStringToObject(p, "scope", a->scope) ||
      !cJSON_AddNumberToObject(p, "iat", (double)now) ||
      !cJSON_AddNumberToObject(p, "exp", (double)(now + AB_GRANT_LIFETIME_S)) ||
      !cJSON_AddStringToObject(p, "jti", jti)) {
    cJSON_Delete(p);
    return NULL;
  }
  if (a->systemuser_id != NULL) {
    cJSON *details = cJSON_AddArrayToObject(p, "authorization_details");
    cJSON *d = cJSON_CreateObject();
    if (details == NULL || d == NULL) {
      cJSON_Delete(d);
      cJSON_Delete(p);
      return NULL;
    }
    cJSON_AddItemToArray(details, d);
    cJSON *org = NULL;
    if (!cJSON_AddStringToObject(d, "type", "urn:altinn:systemuser") ||
        (org = cJSON_AddObjectToObject(d, "systemuser_org")) == NULL ||
        !cJSON_AddStringToObject(org, "authority", "iso6523-actorid-upis") ||
        !cJSON_AddStringToObject(org, "ID", a->systemuser_id)) {
      cJSON_Delete(p);
      return NULL;
    }
  }
  return p;
}

char *ab_auth_build_grant(const ab_auth *a, time_t now, ab_error *err) {
  char jti[AB_UUID_LEN];
  if (ab_jwt_uuid4(jti, err) != 0) {
    return NULL;
  }
  cJSON *hdr = cJSON_CreateObject();
  cJSON *claims = grant_claims(a, now, jti);
  char *hdr_json = NULL;
  char *claims_json = NULL;
  char *jwt = NULL;
  if (hdr == NULL || claims == NULL ||
      !cJSON_AddStringToObject(hdr, "alg", "RS256") ||
      !cJSON_AddStringToObject(hdr, "kid", a->kid) ||
      (hdr_json = cJSON_PrintUnformatted(hdr)) == NULL ||
      (claims_json = cJSON_PrintUnformatted(claims)) == NULL) {
    ab_error_set(err, ENOMEM, "out of memory building the Maskinporten grant");
  } else {
    jwt = ab_jwt_sign_rs256(a->key, hdr_json, claims_json, err);
  }
  cJSON_Delete(hdr);
  cJSON_Delete(claims);
  cJSON_free(hdr_json);
  cJSON_free(claims_json);
  return jwt;
}

/* One grant + token request; NULL with err on failure. */
static char *maskinporten_token(ab_auth *a, ab_http *h, ab_error *err) {
  char *grant = ab_auth_build_grant(a, time(NULL), err);
  if (grant == NULL) {
    ab_error_prefix(err, "cannot build the Maskinporten grant");
    return NULL;
  }
  char *token = ab_maskinporten_request(h, a->token_url, a->client_id, grant, err);
  ab_secret_free(grant);
  return token;
}

const char *ab_auth_token(ab_auth *a, ab_http *h, ab_error *err) {
  time_t now = time(NULL);
  if (a->token != NULL && now < a->token_exp - AB_AUTH_MARGIN_S) {
    return a->token;
  }
  ab_auth_invalidate(a);
  char *mp = maskinporten_token(a, h, err);
  if (mp == NULL && err != NULL && (err->http_status >= 500 || err->http_status == 0) &&
      err->err_no == EIO) {
    /* Maskinporten has short outages (503) and network blips; one retry
     * with a fresh grant (new jti) after a second, as Altinn's tools do. */
    sleep(1);
    mp = maskinporten_token(a, h, err);
  }
  if (mp == NULL) {
    return NULL;
  }
  time_t exp = 0;
  char *altinn = ab_maskinporten_exchange(h, a->exchange_url, mp, &exp, err);
  ab_secret_free(mp);
  if (altinn == NULL) {
    return NULL;
  }
  a->token = altinn;
  a->token_exp = exp;
  return a->token;
}
