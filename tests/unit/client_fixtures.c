/* client_fixtures.c - shared helpers for the client unit tests. */
#include "client_fixtures.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <unistd.h>

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

ab_key *fixture_ab_key(EVP_PKEY *key, const char *kid) {
  size_t len = 0;
  char *pem = pem_of(key, &len);
  char path[] = "/tmp/ab-key-test-XXXXXX";
  int fd = pem != NULL ? mkstemp(path) : -1; /* mkstemp creates it 0600 */
  ab_key *k = NULL;
  if (fd >= 0 && write(fd, pem, len) == (ssize_t)len) {
    ab_key_source src = { .key_path = path, .kid = kid };
    ab_error err;
    k = ab_key_load(&src, &err);
  }
  if (fd >= 0) {
    close(fd);
    unlink(path);
  }
  free(pem);
  return k;
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

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <unistd.h>

static int add_ext(X509 *cert, int nid, const char *value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
  if (ext == NULL) {
    return 0;
  }
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok;
}

char *fixture_self_signed_cert(EVP_PKEY *key) {
  X509 *cert = X509_new();
  char *out = NULL;
  if (cert == NULL) {
    return NULL;
  }
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), (long)(getpid() & 0x7fffffff));
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME *name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1, 0);
  X509_set_issuer_name(cert, name);
  if (add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") &&
      add_ext(cert, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") &&
      X509_sign(cert, key, EVP_sha256()) > 0) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio != NULL && PEM_write_bio_X509(bio, cert) == 1) {
      char *data = NULL;
      long n = BIO_get_mem_data(bio, &data);
      out = malloc((size_t)n + 1);
      if (out != NULL) {
        memcpy(out, data, (size_t)n);
        out[n] = '\0';
      }
    }
    BIO_free(bio);
  }
  X509_free(cert);
  return out;
}

unsigned char fixture_pattern(unsigned long long i) {
  return (unsigned char)((i * 2654435761ULL) >> 13);
}

int fixture_pattern_file(unsigned long long size) {
  char path[] = "/tmp/ab-client-test-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    return -1;
  }
  unlink(path);
  unsigned char buf[65536];
  for (unsigned long long done = 0; done < size;) {
    size_t n = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
    for (size_t k = 0; k < n; k++) {
      buf[k] = fixture_pattern(done + k);
    }
    if (write(fd, buf, n) != (ssize_t)n) {
      close(fd);
      return -1;
    }
    done += n;
  }
  return fd;
}
