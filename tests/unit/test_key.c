/* test_key.c - the credentials a Maskinporten grant is signed with
 * (ab_key.c, ab_grant.c): PEM keys (PKCS#1, PKCS#8, encrypted), JWK, JWKS
 * and base64 JWK, PKCS#12 enterprise certificates (modern, legacy RC2,
 * without password), PEM key + certificate chain, the x5c header built by
 * issuer, expired certificates, RS384/RS512, and the refusals (wrong
 * password, EC key, key and certificate that do not match, open file
 * modes). The credentials come from tests/integration/make-auth-pki.sh,
 * which uses the openssl CLI. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ab_base64.h"
#include "ab_grant.h"
#include "ab_key.h"
#include "ab_maskinporten.h"

static char dir[64];

static const char *path(const char *name) {
  static char buf[4][256];
  static int i;
  i = (i + 1) % 4;
  snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
  return buf[i];
}

static int group_setup(void **state) {
  (void)state;
  snprintf(dir, sizeof(dir), "/tmp/ab-test-key.XXXXXX");
  if (mkdtemp(dir) == NULL) {
    return -1;
  }
  const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "%s/tests/integration/make-auth-pki.sh %s 999888777", srcdir, dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
  return system(cmd);
}

static ab_key *load(ab_key_source src, ab_error *err) {
  return ab_key_load(&src, err);
}

static EVP_PKEY *read_pub(const char *file) {
  FILE *f = fopen(file, "r");
  assert_non_null(f);
  EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(k);
  return k;
}

static X509 *read_cert(const char *file) {
  FILE *f = fopen(file, "r");
  assert_non_null(f);
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  assert_non_null(x);
  return x;
}

static cJSON *segment(const char *jwt, int index) {
  const char *start = jwt;
  for (int i = 0; i < index; i++) {
    start = strchr(start, '.') + 1;
  }
  const char *end = strchr(start, '.');
  size_t n = 0;
  unsigned char *raw = ab_base64url_decode(start, (size_t)(end - start), &n);
  cJSON *j = cJSON_ParseWithLength((const char *)raw, n);
  free(raw);
  assert_non_null(j);
  return j;
}

/* Signs a grant with k and checks the signature with pub and digest. */
static cJSON *signed_header(const ab_key *k, EVP_PKEY *pub, const char *digest) {
  ab_grant_claims c = { .audience = "https://test.maskinporten.no/", .client_id = "cid",
                        .scope = "altinn:broker.read" };
  char jti[AB_UUID_LEN];
  ab_error err;
  char *jwt = ab_grant_sign(k, &c, time(NULL), jti, &err);
  assert_non_null(jwt);
  const char *last = strrchr(jwt, '.');
  size_t sig_len = 0;
  unsigned char *sig = ab_base64url_decode(last + 1, strlen(last + 1), &sig_len);
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, pub, NULL), 1);
  assert_int_equal(EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)jwt,
                                    (size_t)(last - jwt)), 1);
  EVP_MD_CTX_free(md);
  free(sig);
  cJSON *hdr = segment(jwt, 0);
  ab_secret_free(jwt);
  return hdr;
}

static void pem_keys(void **state) {
  (void)state;
  ab_error err;
  EVP_PKEY *pub = read_pub(path("registered.pub.pem"));
  const char *files[] = { "registered.key", "registered-pkcs1.key" };
  for (size_t i = 0; i < 2; i++) {
    ab_key *k = load((ab_key_source){ .key_path = path(files[i]), .kid = "kid-1" }, &err);
    assert_non_null(k);
    assert_string_equal(ab_key_kid(k), "kid-1");
    assert_string_equal(ab_key_alg(k), "RS256");
    assert_int_equal(ab_key_bits(k), 2048);
    const char *const *x5c;
    assert_int_equal(ab_key_x5c(k, &x5c), 0);
    ab_cert_info info;
    assert_int_equal(ab_key_cert_info(k, &info), -1);
    assert_int_equal(ab_key_check_valid(k, time(NULL), &err), 0);
    assert_int_equal(EVP_PKEY_eq(ab_key_pkey(k), pub), 1);
    cJSON *hdr = signed_header(k, pub, "SHA256");
    assert_string_equal(cJSON_GetObjectItem(hdr, "alg")->valuestring, "RS256");
    assert_string_equal(cJSON_GetObjectItem(hdr, "kid")->valuestring, "kid-1");
    assert_null(cJSON_GetObjectItem(hdr, "x5c"));
    assert_int_equal(cJSON_GetArraySize(hdr), 2);
    cJSON_Delete(hdr);
    ab_key_free(k);
  }
  /* RS512 when configured */
  ab_key *k = load((ab_key_source){ .key_path = path("registered.key"), .kid = "kid-1",
                                    .alg = "RS512" }, &err);
  assert_non_null(k);
  cJSON *hdr = signed_header(k, pub, "SHA512");
  assert_string_equal(cJSON_GetObjectItem(hdr, "alg")->valuestring, "RS512");
  cJSON_Delete(hdr);
  ab_key_free(k);
  EVP_PKEY_free(pub);
}

static void encrypted_pem(void **state) {
  (void)state;
  ab_error err;
  assert_null(load((ab_key_source){ .key_path = path("registered-enc.key"), .kid = "k" }, &err));
  assert_non_null(strstr(err.message, "is encrypted: give its password with key-password-file="));
  ab_key *k = load((ab_key_source){ .key_path = path("registered-enc.key"), .kid = "k",
                                    .key_password_path = path("registered.pass") }, &err);
  assert_non_null(k);
  EVP_PKEY *pub = read_pub(path("registered.pub.pem"));
  assert_int_equal(EVP_PKEY_eq(ab_key_pkey(k), pub), 1);
  EVP_PKEY_free(pub);
  ab_key_free(k);
  assert_null(load((ab_key_source){ .key_path = path("registered-enc.key"), .kid = "k",
                                    .key_password_path = path("p12.pass") }, &err));
  assert_non_null(strstr(err.message, "wrong password"));
}

static void jwk_forms(void **state) {
  (void)state;
  ab_error err;
  EVP_PKEY *pub = read_pub(path("registered.pub.pem"));
  const char *files[] = { "registered.jwk", "registered.jwk.b64" };
  for (size_t i = 0; i < 2; i++) {
    ab_key *k = load((ab_key_source){ .jwk_path = path(files[i]) }, &err);
    if (k == NULL) fail_msg("%s: %s", files[i], err.message);
    assert_string_equal(ab_key_kid(k), "registered-1"); /* from the JWK */
    assert_string_equal(ab_key_alg(k), "RS384");        /* from the JWK */
    assert_int_equal(EVP_PKEY_eq(ab_key_pkey(k), pub), 1);
    cJSON *hdr = signed_header(k, pub, "SHA384");
    assert_string_equal(cJSON_GetObjectItem(hdr, "kid")->valuestring, "registered-1");
    cJSON_Delete(hdr);
    ab_key_free(k);
  }
  /* A JWKS with two keys needs kid= to choose. */
  assert_null(load((ab_key_source){ .jwk_path = path("registered.jwks") }, &err));
  assert_non_null(strstr(err.message, "holds 2 private keys"));
  assert_non_null(strstr(err.message, "kid="));
  ab_key *k = load((ab_key_source){ .jwk_path = path("registered.jwks"), .kid = "registered-1" }, &err);
  assert_non_null(k);
  assert_int_equal(EVP_PKEY_eq(ab_key_pkey(k), pub), 1);
  ab_key_free(k);
  k = load((ab_key_source){ .jwk_path = path("registered.jwks"), .kid = "spare-1" }, &err);
  assert_non_null(k);
  assert_string_equal(ab_key_alg(k), "RS256");
  assert_int_equal(EVP_PKEY_eq(ab_key_pkey(k), pub), 0);
  ab_key_free(k);
  assert_null(load((ab_key_source){ .jwk_path = path("registered.jwks"), .kid = "nope" }, &err));
  assert_non_null(strstr(err.message, "none with kid \"nope\""));
  /* kid= and alg= must agree with the JWK's own. */
  assert_null(load((ab_key_source){ .jwk_path = path("registered.jwk"), .kid = "other" }, &err));
  assert_non_null(strstr(err.message, "differs from the JWK's own kid"));
  assert_null(load((ab_key_source){ .jwk_path = path("registered.jwk"), .alg = "RS512" }, &err));
  assert_non_null(strstr(err.message, "differs from the JWK's"));
  /* A public JWK is not enough. */
  FILE *f = fopen(path("public.jwk"), "w");
  fputs("{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"sXch\",\"e\":\"AQAB\"}", f);
  fclose(f);
  chmod(path("public.jwk"), 0600);
  assert_null(load((ab_key_source){ .jwk_path = path("public.jwk") }, &err));
  assert_non_null(strstr(err.message, "no private RSA member \"d\""));
  EVP_PKEY_free(pub);
}

/* x5c = leaf, intermediate, root; each decodes to the certificate. */
static void check_x5c(const ab_key *k, const char *leaf_file) {
  const char *const *x5c;
  assert_int_equal(ab_key_x5c(k, &x5c), 3);
  X509 *want[3] = { read_cert(leaf_file), read_cert(path("intermediate.pem")),
                    read_cert(path("enterprise-ca.pem")) };
  for (int i = 0; i < 3; i++) {
    unsigned char der[4096];
    int n = EVP_DecodeBlock(der, (const unsigned char *)x5c[i], (int)strlen(x5c[i]));
    assert_true(n > 0);
    assert_null(strchr(x5c[i], '-')); /* standard base64, not base64url */
    const unsigned char *p = der;
    X509 *got = d2i_X509(NULL, &p, n);
    assert_non_null(got);
    assert_int_equal(X509_cmp(got, want[i]), 0);
    X509_free(got);
    X509_free(want[i]);
  }
}

static void pkcs12_files(void **state) {
  (void)state;
  ab_error err;
  struct { const char *file; const char *pass; } cases[] = {
    { "enterprise.p12", "p12.pass" },
    { "enterprise-legacy.p12", "p12.pass" },   /* RC2-40: the legacy provider */
    { "enterprise-nopass.p12", NULL },
  };
  for (size_t i = 0; i < 3; i++) {
    ab_key *k = load((ab_key_source){ .p12_path = path(cases[i].file),
                                      .p12_password_path = cases[i].pass ? path(cases[i].pass) : NULL }, &err);
    if (k == NULL) fail_msg("%s: %s", cases[i].file, err.message);
    assert_null(ab_key_kid(k));
    check_x5c(k, path("enterprise.pem"));
    ab_cert_info info;
    assert_int_equal(ab_key_cert_info(k, &info), 0);
    assert_string_equal(info.org, "999888777");
    assert_non_null(strstr(info.subject, "GATEWAY DEMO AS"));
    assert_non_null(strstr(info.issuer, "Test Enterprise Issuing CA"));
    assert_true(info.not_after > time(NULL));
    assert_int_equal(ab_key_check_valid(k, time(NULL), &err), 0);
    X509 *leaf = read_cert(path("enterprise.pem"));
    EVP_PKEY *pub = X509_get_pubkey(leaf);
    cJSON *hdr = signed_header(k, pub, "SHA256");
    assert_null(cJSON_GetObjectItem(hdr, "kid"));
    const cJSON *x5c = cJSON_GetObjectItem(hdr, "x5c");
    assert_true(cJSON_IsArray(x5c));
    assert_int_equal(cJSON_GetArraySize(x5c), 3);
    assert_true(cJSON_IsString(cJSON_GetArrayItem(x5c, 0)));
    cJSON_Delete(hdr);
    EVP_PKEY_free(pub);
    X509_free(leaf);
    ab_key_free(k);
  }
  /* The legacy provider stays out of the rest of the process. */
  EVP_CIPHER *rc2 = EVP_CIPHER_fetch(NULL, "RC2-40-CBC", NULL);
  assert_null(rc2);

  assert_null(load((ab_key_source){ .p12_path = path("enterprise.p12"),
                                    .p12_password_path = path("registered.pass") }, &err));
  assert_non_null(strstr(err.message, "wrong password for PKCS#12 file"));
  assert_null(load((ab_key_source){ .p12_path = path("enterprise.p12") }, &err));
  assert_non_null(strstr(err.message, "needs a password: give it with p12-password-file="));
  assert_null(load((ab_key_source){ .p12_path = path("registered.key") }, &err));
  assert_non_null(strstr(err.message, "is not a PKCS#12"));
}

static void pem_key_with_chain(void **state) {
  (void)state;
  ab_error err;
  /* The chain file is out of order and holds an unrelated certificate. */
  ab_key *k = load((ab_key_source){ .key_path = path("enterprise.key"),
                                    .cert_path = path("enterprise-chain.pem") }, &err);
  if (k == NULL) fail_msg("%s", err.message);
  check_x5c(k, path("enterprise.pem"));
  ab_key_free(k);
  assert_null(load((ab_key_source){ .key_path = path("wrong.key"),
                                    .cert_path = path("enterprise-chain.pem") }, &err));
  assert_non_null(strstr(err.message, "belongs to the private key"));
}

static void expired_certificate(void **state) {
  (void)state;
  ab_error err;
  ab_key *k = load((ab_key_source){ .p12_path = path("expired.p12"),
                                    .p12_password_path = path("p12.pass") }, &err);
  assert_non_null(k); /* loads (check reports it); signing refuses it */
  assert_int_equal(ab_key_check_valid(k, time(NULL), &err), -1);
  assert_int_equal(err.err_no, EKEYEXPIRED);
  assert_non_null(strstr(err.message, "expired on 2021-01-01 00:00:00 UTC"));
  assert_non_null(strstr(err.message, "GATEWAY DEMO AS (2020)"));
  assert_int_equal(ab_key_check_valid(k, 1600000000, &err), 0); /* Sep 2020: valid */
  ab_key_free(k);
}

static void refusals(void **state) {
  (void)state;
  ab_error err;
  assert_null(load((ab_key_source){ .key_path = path("ec.key"), .kid = "k" }, &err));
  assert_non_null(strstr(err.message, "not an RSA key"));
  /* A key file others can read is refused, and so is one another user owns
   * (as root only: chown needs it). */
  char copy[300];
  snprintf(copy, sizeof(copy), "cp %s %s && chmod 644 %s", path("registered.key"),
           path("open.key"), path("open.key"));
  assert_int_equal(system(copy), 0);
  assert_null(load((ab_key_source){ .key_path = path("open.key"), .kid = "k" }, &err));
  assert_int_equal(err.err_no, EACCES);
  assert_non_null(strstr(err.message, "chmod 600"));
  chmod(path("open.key"), 0600);
  if (geteuid() == 0) {
    assert_int_equal(chown(path("open.key"), 65534, 65534), 0);
    assert_null(load((ab_key_source){ .key_path = path("open.key"), .kid = "k" }, &err));
    assert_non_null(strstr(err.message, "not root"));
    assert_non_null(strstr(err.message, "chown root:root"));
  }
  /* The password file follows the same rules. */
  chmod(path("p12.pass"), 0644);
  assert_null(load((ab_key_source){ .p12_path = path("enterprise.p12"),
                                    .p12_password_path = path("p12.pass") }, &err));
  assert_non_null(strstr(err.message, "p12.pass is readable by group or others"));
  chmod(path("p12.pass"), 0600);
  /* Garbage never comes back in the message. */
  FILE *f = fopen(path("garbage.key"), "w");
  fputs("-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n", f);
  fclose(f);
  chmod(path("garbage.key"), 0600);
  assert_null(load((ab_key_source){ .key_path = path("garbage.key"), .kid = "k" }, &err));
  assert_non_null(strstr(err.message, "cannot read private key"));
  assert_null(strstr(err.message, "U0VDUkVU"));
  assert_null(load((ab_key_source){ .key_path = path("missing.key"), .kid = "k" }, &err));
  assert_int_equal(err.err_no, ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(pem_keys),
    cmocka_unit_test(encrypted_pem),
    cmocka_unit_test(jwk_forms),
    cmocka_unit_test(pkcs12_files),
    cmocka_unit_test(pem_key_with_chain),
    cmocka_unit_test(expired_certificate),
    cmocka_unit_test(refusals),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
