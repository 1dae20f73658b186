/* ab_jwt.h - compact JWS (RS256/RS384/RS512) signing and payload reading.
 *
 * Only what the Maskinporten grant and the token cache need: sign a header
 * and a payload with an RSA key (PKCS#1 v1.5 with SHA-256/384/512, i.e.
 * RS256/RS384/RS512, never PSS), read the claims of a token without verifying it (the token came from
 * the issuer over TLS; we only need its `exp`), and make a UUIDv4 `jti`.
 */
#ifndef AB_JWT_H
#define AB_JWT_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "ab_error.h"

#define AB_UUID_LEN 37 /* 36 characters + NUL */

/* Returns a malloc'ed "b64url(header).b64url(payload).b64url(sig)" signed
 * by key with alg ("RS256", "RS384" or "RS512"; the header must say the
 * same), or NULL with err set (the message never contains the key or the
 * signing input). */
char *ab_jwt_sign(EVP_PKEY *key, const char *alg, const char *header_json,
                  const char *payload_json, ab_error *err);

/* Decodes the payload (second segment) of a compact JWT into a cJSON object
 * (free with cJSON_Delete). Returns NULL when jwt is not three base64url
 * segments with a JSON object in the middle. */
cJSON *ab_jwt_decode_payload(const char *jwt);

/* Reads a numeric date claim (`exp`, `iat`, ...) of jwt. Returns 0 and sets
 * *out, or -1 when the claim is absent or not a plausible date. */
int ab_jwt_read_time(const char *jwt, const char *claim, time_t *out);

/* Writes a random (version 4, RFC 4122 variant) UUID in lower-case text
 * from RAND_bytes. Returns 0, or -1 with err set. */
int ab_jwt_uuid4(char out[AB_UUID_LEN], ab_error *err);

#endif
