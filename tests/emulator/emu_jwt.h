/* emu_jwt.h - compact JWS (JWT) parsing, RSA verification and signing.
 *
 * Used both to check client grants (RS256/RS384/RS512 with the client's
 * registered key) and to mint and check the emulator's own Maskinporten and
 * Altinn tokens (RS256 with the emulator's signing key).
 */
#ifndef EMU_JWT_H
#define EMU_JWT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

/* base64url without padding; malloc'ed, NUL-terminated. */
char *emu_b64url_encode(const unsigned char *in, size_t len);
/* Decodes base64url (url=true) or standard base64 (x5c); padding optional.
 * malloc'ed (with a trailing NUL for convenience); NULL on bad input. */
unsigned char *emu_b64_decode(const char *in, size_t len, bool url, size_t *outlen);

typedef struct emu_jwt {
  cJSON *header;
  cJSON *payload;
  char *signing_input;      /* "header.payload" exactly as received */
  unsigned char *sig;
  size_t siglen;
} emu_jwt;

/* Splits and decodes a compact JWS. Returns 0, or -1 when the token is not
 * three base64url parts with JSON objects in the first two. */
int emu_jwt_parse(const char *token, emu_jwt *out);
void emu_jwt_free(emu_jwt *jwt);

/* Digest for "RS256"/"RS384"/"RS512", NULL for anything else. */
const EVP_MD *emu_jwt_alg_md(const char *alg);

/* PKCS#1 v1.5 signature check of jwt->signing_input with key and md. */
bool emu_jwt_verify(const emu_jwt *jwt, EVP_PKEY *key, const EVP_MD *md);

/* Signs payload as RS256 with header {"alg":"RS256","typ":"JWT","kid":kid}.
 * Returns the compact token (malloc'ed) or NULL. */
char *emu_jwt_sign(const cJSON *payload, EVP_PKEY *key, const char *kid);

#endif
