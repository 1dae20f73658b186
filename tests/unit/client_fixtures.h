/* client_fixtures.h - shared helpers for the client unit tests. */
#ifndef CLIENT_FIXTURES_H
#define CLIENT_FIXTURES_H

#include <stddef.h>

#include <openssl/evp.h>

#include "ab_key.h"

/* A fresh 2048-bit RSA key (test-local, never persisted). */
EVP_PKEY *fixture_rsa_key(void);

/* The private key as unencrypted PKCS#8 PEM, malloc'ed, length in *len. */
char *fixture_key_pem(EVP_PKEY *key, size_t *len);

/* key as a registered Maskinporten key with this kid, loaded through
 * ab_key_load from a temporary 0600 PEM file (removed again). NULL on error. */
ab_key *fixture_ab_key(EVP_PKEY *key, const char *kid);

/* A P-256 EC key as PEM (to check that non-RSA keys are refused). */
char *fixture_ec_key_pem(size_t *len);

/* A self-signed certificate for key, valid for localhost and 127.0.0.1
 * (CA:TRUE, so it can be its own trust anchor), as malloc'ed PEM. */
char *fixture_self_signed_cert(EVP_PKEY *key);

/* The byte at offset i of every test payload: position-dependent, so an
 * off-by-N in Range or pread handling shows up as a mismatch. */
unsigned char fixture_pattern(unsigned long long i);

/* Writes size pattern bytes to a new unlinked temporary file; returns the
 * open fd, or -1. */
int fixture_pattern_file(unsigned long long size);

#endif
