/* ab_grant.c - the Maskinporten grant (see ab_grant.h). */
#include "ab_grant.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

int ab_grant_systemuser_id(const char *org, char out[16], ab_error *err) {
  if (strncmp(org, "0192:", 5) == 0) {
    org += 5;
  }
  size_t n = strlen(org);
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char) org[i])) {
      n = 0;
      break;
    }
  }
  if (n != 9) {
    return ab_error_set(err, EINVAL, "system user organisation must be a 9-digit "
                        "organisation number, got \"%.40s\"", org);
  }
  snprintf(out, 16, "0192:%s", org);
  return 0;
}

/* The system-user RAR (RFC 9396), one customer per token. */
static int add_systemuser(cJSON *claims, const ab_grant_claims *c, ab_error *err) {
  char id[16];
  if (ab_grant_systemuser_id(c->systemuser_org, id, err) < 0) {
    return -1;
  }
  cJSON *details = cJSON_AddArrayToObject(claims, "authorization_details");
  cJSON *d = cJSON_CreateObject();
  if (details == NULL || d == NULL) {
    cJSON_Delete(d);
    return ab_error_set(err, ENOMEM, "out of memory building the Maskinporten grant");
  }
  cJSON_AddItemToArray(details, d);
  cJSON *org = NULL;
  if (!cJSON_AddStringToObject(d, "type", "urn:altinn:systemuser") ||
      (org = cJSON_AddObjectToObject(d, "systemuser_org")) == NULL ||
      !cJSON_AddStringToObject(org, "authority", "iso6523-actorid-upis") ||
      !cJSON_AddStringToObject(org, "ID", id) ||
      (c->external_ref != NULL && !cJSON_AddStringToObject(d, "externalRef", c->external_ref))) {
    return ab_error_set(err, ENOMEM, "out of memory building the Maskinporten grant");
  }
  return 0;
}

static cJSON *claims_json(const ab_grant_claims *c, time_t iat, const char *jti,
                          ab_error *err) {
  if (c->audience == NULL || c->client_id == NULL || c->scope == NULL ||
      c->scope[0] == '\0') {
    ab_error_set(err, EINVAL, "a Maskinporten grant needs an audience, a client id and a scope");
    return NULL;
  }
  cJSON *p = cJSON_CreateObject();
  if (p == NULL ||
      !cJSON_AddStringToObject(p, "aud", c->audience) ||
      !cJSON_AddStringToObject(p, "iss", c->client_id) ||
      !cJSON_AddStringToObject(p, "scope", c->scope) ||
      !cJSON_AddNumberToObject(p, "iat", (double) iat) ||
      !cJSON_AddNumberToObject(p, "exp", (double) (iat + AB_GRANT_LIFETIME_S)) ||
      !cJSON_AddStringToObject(p, "jti", jti) ||
      (c->resource != NULL && !cJSON_AddStringToObject(p, "resource", c->resource))) {
    cJSON_Delete(p);
    ab_error_set(err, ENOMEM, "out of memory building the Maskinporten grant");
    return NULL;
  }
  if (c->systemuser_org != NULL && add_systemuser(p, c, err) < 0) {
    cJSON_Delete(p);
    return NULL;
  }
  return p;
}

static cJSON *header_json(const ab_key *key) {
  cJSON *h = cJSON_CreateObject();
  if (h == NULL || !cJSON_AddStringToObject(h, "alg", ab_key_alg(key))) {
    cJSON_Delete(h);
    return NULL;
  }
  const char *const *certs = NULL;
  size_t n = ab_key_x5c(key, &certs);
  if (n == 0) {
    if (!cJSON_AddStringToObject(h, "kid", ab_key_kid(key))) {
      cJSON_Delete(h);
      return NULL;
    }
    return h;
  }
  /* x5c must be an array of strings (MP-123), leaf first. */
  cJSON *x5c = cJSON_AddArrayToObject(h, "x5c");
  for (size_t i = 0; x5c != NULL && i < n; i++) {
    cJSON *s = cJSON_CreateString(certs[i]);
    if (s == NULL) {
      x5c = NULL;
      break;
    }
    cJSON_AddItemToArray(x5c, s);
  }
  if (x5c == NULL) {
    cJSON_Delete(h);
    return NULL;
  }
  return h;
}

char *ab_grant_sign(const ab_key *key, const ab_grant_claims *c, time_t iat,
                    char jti_out[AB_UUID_LEN], ab_error *err) {
  if (ab_jwt_uuid4(jti_out, err) != 0) {
    return NULL;
  }
  cJSON *claims = claims_json(c, iat, jti_out, err);
  if (claims == NULL) {
    return NULL;
  }
  cJSON *hdr = header_json(key);
  char *hdr_text = hdr != NULL ? cJSON_PrintUnformatted(hdr) : NULL;
  char *claims_text = cJSON_PrintUnformatted(claims);
  char *jwt = NULL;
  if (hdr_text == NULL || claims_text == NULL) {
    ab_error_set(err, ENOMEM, "out of memory building the Maskinporten grant");
  } else {
    jwt = ab_jwt_sign(ab_key_pkey(key), ab_key_alg(key), hdr_text, claims_text, err);
  }
  cJSON_Delete(hdr);
  cJSON_Delete(claims);
  cJSON_free(hdr_text);
  cJSON_free(claims_text);
  return jwt;
}
