/* ab_jwt.c - RS256/RS384/RS512 compact JWS and claim reading (see ab_jwt.h). */
#include "ab_jwt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "ab_base64.h"

/* The first OpenSSL error as text. Library error strings name the failing
 * routine, never key material. */
static const char *openssl_reason(void) {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) {
    return "unknown OpenSSL error";
  }
  const char *r = ERR_reason_error_string(e);
  return r != NULL ? r : "unknown OpenSSL error";
}

/* The digest of an RSASSA-PKCS1-v1_5 JWS algorithm, or NULL. */
static const char *rs_digest(const char *alg) {
  if (alg == NULL) {
    return NULL;
  }
  return strcmp(alg, "RS256") == 0 ? "SHA256"
       : strcmp(alg, "RS384") == 0 ? "SHA384"
       : strcmp(alg, "RS512") == 0 ? "SHA512" : NULL;
}

char *ab_jwt_sign(EVP_PKEY *key, const char *alg, const char *header_json,
                  const char *payload_json, ab_error *err) {
  const char *digest = rs_digest(alg);
  if (digest == NULL) {
    ab_error_set(err, EINVAL, "unsupported JWT algorithm %s (RS256, RS384 or RS512)",
                 alg != NULL ? alg : "(none)");
    return NULL;
  }
  char *h64 = ab_base64url_encode(header_json, strlen(header_json));
  char *p64 = ab_base64url_encode(payload_json, strlen(payload_json));
  char *input = NULL;
  unsigned char *sig = NULL;
  char *s64 = NULL;
  char *jwt = NULL;
  size_t sig_len = 0;
  EVP_MD_CTX *md = NULL;

  if (h64 == NULL || p64 == NULL) {
    ab_error_set(err, ENOMEM, "out of memory encoding JWT");
    goto done;
  }
  size_t input_len = strlen(h64) + 1 + strlen(p64);
  input = malloc(input_len + 1);
  if (input == NULL) {
    ab_error_set(err, ENOMEM, "out of memory encoding JWT");
    goto done;
  }
  snprintf(input, input_len + 1, "%s.%s", h64, p64);

  md = EVP_MD_CTX_new();
  if (md == NULL ||
      EVP_DigestSignInit_ex(md, NULL, digest, NULL, NULL, key, NULL) != 1 ||
      EVP_DigestSign(md, NULL, &sig_len, (const unsigned char *)input, input_len) != 1) {
    ab_error_set(err, EINVAL, "cannot sign JWT with %s: %s", alg, openssl_reason());
    goto done;
  }
  sig = malloc(sig_len);
  if (sig == NULL) {
    ab_error_set(err, ENOMEM, "out of memory signing JWT");
    goto done;
  }
  if (EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)input, input_len) != 1) {
    ab_error_set(err, EINVAL, "cannot sign JWT with %s: %s", alg, openssl_reason());
    goto done;
  }
  s64 = ab_base64url_encode(sig, sig_len);
  if (s64 == NULL) {
    ab_error_set(err, ENOMEM, "out of memory encoding JWT signature");
    goto done;
  }
  size_t jwt_len = input_len + 1 + strlen(s64);
  jwt = malloc(jwt_len + 1);
  if (jwt == NULL) {
    ab_error_set(err, ENOMEM, "out of memory encoding JWT");
    goto done;
  }
  snprintf(jwt, jwt_len + 1, "%s.%s", input, s64);

done:
  EVP_MD_CTX_free(md);
  free(h64);
  free(p64);
  free(input);
  free(sig);
  free(s64);
  return jwt;
}

cJSON *ab_jwt_decode_payload(const char *jwt) {
  if (jwt == NULL) {
    return NULL;
  }
  const char *dot1 = strchr(jwt, '.');
  if (dot1 == NULL) {
    return NULL;
  }
  const char *dot2 = strchr(dot1 + 1, '.');
  if (dot2 == NULL || strchr(dot2 + 1, '.') != NULL) {
    return NULL;
  }
  size_t len = 0;
  unsigned char *json = ab_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &len);
  if (json == NULL) {
    return NULL;
  }
  cJSON *obj = cJSON_ParseWithLength((const char *)json, len);
  /* The payload of an access token is not secret in itself, but it is part
   * of a bearer credential; do not leave copies lying around. */
  OPENSSL_cleanse(json, len);
  free(json);
  if (!cJSON_IsObject(obj)) {
    cJSON_Delete(obj);
    return NULL;
  }
  return obj;
}

int ab_jwt_read_time(const char *jwt, const char *claim, time_t *out) {
  cJSON *claims = ab_jwt_decode_payload(jwt);
  if (claims == NULL) {
    return -1;
  }
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(claims, claim);
  int rc = -1;
  if (cJSON_IsNumber(e) && isfinite(e->valuedouble) && e->valuedouble > 0 &&
      e->valuedouble < 253402300800.0 /* year 10000 */) {
    *out = (time_t)e->valuedouble;
    rc = 0;
  }
  cJSON_Delete(claims);
  return rc;
}

int ab_jwt_uuid4(char out[AB_UUID_LEN], ab_error *err) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof(b)) != 1) {
    return ab_error_set(err, EIO, "cannot get random bytes for jti: %s", openssl_reason());
  }
  b[6] = (unsigned char)((b[6] & 0x0F) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
  snprintf(out, AB_UUID_LEN,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
           b[11], b[12], b[13], b[14], b[15]);
  return 0;
}
