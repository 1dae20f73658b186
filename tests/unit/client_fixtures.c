/* client_fixtures.c - shared helpers for the client unit tests. */
#include "client_fixtures.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

EVP_PKEY *fixture_rsa_key(void) {
  return EVP_RSA_gen(2048);
}

static char *pem_of(EVP_PKEY *key, size_t *len) {
  BIO *bio = BIO_new(BIO_s_mem());
  if (bio == NULL || PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
    BIO_free(bio);
    return NULL;
  }
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  char *out = malloc((size_t)n + 1);
  if (out != NULL) {
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
  }
  BIO_free(bio);
  return out;
}

char *fixture_key_pem(EVP_PKEY *key, size_t *len) {
  return pem_of(key, len);
}

char *fixture_ec_key_pem(size_t *len) {
  EVP_PKEY *ec = EVP_EC_gen("P-256");
  if (ec == NULL) {
    return NULL;
  }
  char *pem = pem_of(ec, len);
  EVP_PKEY_free(ec);
  return pem;
}
