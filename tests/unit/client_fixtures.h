/* client_fixtures.h - shared helpers for the client unit tests. */
#ifndef CLIENT_FIXTURES_H
#define CLIENT_FIXTURES_H

#include <stddef.h>

#include <openssl/evp.h>

/* A fresh 2048-bit RSA key (test-local, never persisted). */
EVP_PKEY *fixture_rsa_key(void);

/* The private key as unencrypted PKCS#8 PEM, malloc'ed, length in *len. */
char *fixture_key_pem(EVP_PKEY *key, size_t *len);

/* A P-256 EC key as PEM (to check that non-RSA keys are refused). */
char *fixture_ec_key_pem(size_t *len);

#endif
