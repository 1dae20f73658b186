/* ab_key.h - the credential a Maskinporten client signs its grants with.
 *
 * Maskinporten accepts two kinds (auth-and-events.md §1.2):
 *   - a key registered on the client, named in the JWT header by `kid`:
 *     a PEM private key (PKCS#1 or PKCS#8, optionally encrypted) or a JWK
 *     (JSON, a one-key JWKS, or either base64-encoded, as Samarbeidsportalen
 *     and Altinn's tools export them);
 *   - an enterprise certificate (virksomhetssertifikat), sent in the header
 *     as `x5c`: a PKCS#12 file (legacy RC2/3DES-encrypted ones included), or
 *     a PEM key plus a PEM certificate chain.
 * Only RSA keys are accepted (RS256/RS384/RS512; Maskinporten lists no EC
 * algorithm). Files are read with ab_secret_read_file's ownership and mode
 * rules; raw key bytes and passwords are wiped as soon as the key is parsed.
 * An ab_key is immutable after loading, so forked sessions can share it.
 */
#ifndef AB_KEY_H
#define AB_KEY_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "ab_error.h"

typedef struct ab_key ab_key;

/* Where a client's credential comes from: exactly one of key_path,
 * jwk_path or p12_path. */
typedef struct ab_key_source {
  const char *key_path;          /* key=: PEM private key */
  const char *key_password_path; /* key-password-file=: for an encrypted PEM key */
  const char *cert_path;         /* cert=: PEM certificate chain for key= (x5c mode) */
  const char *jwk_path;          /* jwk=: JWK / JWKS file */
  const char *p12_path;          /* p12=: PKCS#12 file (x5c mode) */
  const char *p12_password_path; /* p12-password-file=; none: try "" and no password */
  const char *kid;               /* kid=: required for key= without cert=; for jwk=
                                  * taken from the JWK when not given */
  const char *alg;               /* alg=: RS256 (default), RS384 or RS512 */
} ab_key_source;

/* What an enterprise certificate says about itself (for `check`). */
typedef struct ab_cert_info {
  char subject[256];    /* RFC 2253 one-line subject */
  char issuer[256];
  char org[16];         /* organisation number from serialNumber or
                         * organizationIdentifier (NTRNO-<org>), or "" */
  time_t not_before;
  time_t not_after;
} ab_cert_info;

/* Checks the combination of settings without reading any file (for the
 * configuration parser): exactly one of key=, jwk=, p12=; kid= with key=
 * unless cert= is given, never kid= with a certificate; password files only
 * with their file; a supported alg=. Returns 0, or -1 with err set. */
int ab_key_source_check(const ab_key_source *src, ab_error *err);

/* Reads and parses the credential (after ab_key_source_check). Messages name the file and say what to
 * do (wrong password, legacy PKCS#12 without the legacy provider, key and
 * certificate that do not belong together, non-RSA key, ...). */
ab_key *ab_key_load(const ab_key_source *src, ab_error *err);
void ab_key_free(ab_key *k);

/* The private key (owned by k). */
EVP_PKEY *ab_key_pkey(const ab_key *k);

/* "RS256", "RS384" or "RS512". */
const char *ab_key_alg(const ab_key *k);

/* Key id for the `kid` header, or NULL when the key is a certificate. */
const char *ab_key_kid(const ab_key *k);

/* The `x5c` header: standard-base64 DER certificates, leaf first, then its
 * issuers as found in the file (matched by issuer, not by file order).
 * Returns the count (0 when the key is not a certificate). */
size_t ab_key_x5c(const ab_key *k, const char *const **certs);

/* RSA modulus size in bits. */
int ab_key_bits(const ab_key *k);

/* Fills info for a certificate credential. Returns 0, or -1 when k is a
 * registered key (no certificate). */
int ab_key_cert_info(const ab_key *k, ab_cert_info *info);

/* Checks that a certificate credential is valid at `now` (a registered key
 * always is). An expired certificate fails with EKEYEXPIRED and a message
 * naming its subject and expiry date. */
int ab_key_check_valid(const ab_key *k, time_t now, ab_error *err);

#endif
