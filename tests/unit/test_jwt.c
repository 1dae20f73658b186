/* test_jwt.c - the Maskinporten grant: header, exact claims, RS256
 * signature, system-user authorization_details, incomplete settings, and
 * the JWT payload reader used for the token cache. (Key sources, x5c and
 * RS384/RS512 are in test_key.c.) */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "ab_auth.h"
#include "ab_base64.h"
#include "ab_jwt.h"
#include "client_fixtures.h"

typedef struct fixture {
  EVP_PKEY *key;
  ab_key *ab;
} fixture;

static EVP_PKEY *g_key; /* one key for the whole file: generation is slow */

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  f->key = g_key;
  f->ab = fixture_ab_key(f->key, "acme-broker-2025-01");
  *state = f;
  return f->ab == NULL;
}

static int teardown(void **state) {
  fixture *f = *state;
  ab_key_free(f->ab);
  free(f);
  return 0;
}

static ab_auth_config config(const fixture *f, const char *systemuser_org) {
  ab_auth_config c = {
    .client_id = "0b7c1f4e-2d7a-4a51-9a51-5f3c6b1d2e90",
    .key = f->ab,
    .audience = "https://test.maskinporten.no/",
    .token_url = "https://test.maskinporten.no/token",
    .exchange_url = "https://platform.tt02.altinn.no/authentication/api/v1/exchange/maskinporten",
    .scope = "altinn:broker.read altinn:broker.write",
    .systemuser_org = systemuser_org,
  };
  return c;
}

/* Decodes one segment of a compact JWT into JSON. */
static cJSON *segment_json(const char *jwt, int index) {
  const char *start = jwt;
  for (int i = 0; i < index; i++) {
    start = strchr(start, '.') + 1;
  }
  const char *end = strchr(start, '.');
  size_t len = end != NULL ? (size_t)(end - start) : strlen(start);
  size_t out_len = 0;
  unsigned char *raw = ab_base64url_decode(start, len, &out_len);
  assert_non_null(raw);
  cJSON *j = cJSON_ParseWithLength((const char *)raw, out_len);
  free(raw);
  assert_non_null(j);
  return j;
}

static void verify_rs256(EVP_PKEY *key, const char *jwt) {
  const char *last = strrchr(jwt, '.');
  assert_non_null(last);
  size_t sig_len = 0;
  unsigned char *sig = ab_base64url_decode(last + 1, strlen(last + 1), &sig_len);
  assert_non_null(sig);
  assert_int_equal(sig_len, 256); /* 2048-bit key */
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  assert_int_equal(EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL), 1);
  assert_int_equal(EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)jwt,
                                    (size_t)(last - jwt)), 1);
  EVP_MD_CTX_free(md);
  free(sig);
}

static void test_grant_header_and_claims(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_auth_config c = config(f, NULL);
  ab_auth *a = ab_auth_new(&c, &err);
  assert_non_null(a);
  char *jwt = ab_auth_build_grant(a, 1767261600, &err);
  assert_non_null(jwt);

  cJSON *hdr = segment_json(jwt, 0);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(hdr, "alg")->valuestring, "RS256");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(hdr, "kid")->valuestring,
                      "acme-broker-2025-01");
  assert_int_equal(cJSON_GetArraySize(hdr), 2);

  cJSON *p = segment_json(jwt, 1);
  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(p, "aud");
  assert_true(cJSON_IsString(aud)); /* a string, never an array */
  assert_string_equal(aud->valuestring, "https://test.maskinporten.no/");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "iss")->valuestring, c.client_id);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(p, "scope")->valuestring, c.scope);
  double iat = cJSON_GetObjectItemCaseSensitive(p, "iat")->valuedouble;
  double exp = cJSON_GetObjectItemCaseSensitive(p, "exp")->valuedouble;
  assert_true(iat == 1767261600.0);
  assert_true(exp - iat == 120.0);
  const char *jti = cJSON_GetObjectItemCaseSensitive(p, "jti")->valuestring;
  assert_int_equal(strlen(jti), 36);
  assert_int_equal(jti[14], '4'); /* UUID version 4 */
  assert_non_null(strchr("89ab", jti[19]));
  /* exactly these claims: Maskinporten rejects unknown ones */
  assert_int_equal(cJSON_GetArraySize(p), 6);
  assert_null(cJSON_GetObjectItemCaseSensitive(p, "authorization_details"));
  /* iat/exp go out as JSON integers, not 1.7e9 or 1767261600.0 */
  {
    const char *s1 = strchr(jwt, '.') + 1;
    size_t raw_len = 0;
    unsigned char *raw = ab_base64url_decode(s1, (size_t)(strchr(s1, '.') - s1), &raw_len);
    assert_non_null(strstr((char *)raw, "\"iat\":1767261600,"));
    assert_non_null(strstr((char *)raw, "\"exp\":1767261720,"));
    free(raw);
  }

  verify_rs256(f->key, jwt);

  time_t e = 0;
  assert_int_equal(ab_jwt_read_time(jwt, "exp", &e), 0);
  assert_int_equal(e, 1767261720);

  cJSON_Delete(hdr);
  cJSON_Delete(p);
  free(jwt);
  ab_auth_free(a);
}

static void test_jti_unique(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_auth_config c = config(f, NULL);
  ab_auth *a = ab_auth_new(&c, &err);
  char *j1 = ab_auth_build_grant(a, 1000, &err);
  char *j2 = ab_auth_build_grant(a, 1000, &err);
  cJSON *p1 = segment_json(j1, 1);
  cJSON *p2 = segment_json(j2, 1);
  assert_string_not_equal(cJSON_GetObjectItemCaseSensitive(p1, "jti")->valuestring,
                          cJSON_GetObjectItemCaseSensitive(p2, "jti")->valuestring);
  cJSON_Delete(p1);
  cJSON_Delete(p2);
  free(j1);
  free(j2);
  ab_auth_free(a);
}

static void test_systemuser_details(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_auth_config c = config(f, "312345678");
  ab_auth *a = ab_auth_new(&c, &err);
  assert_non_null(a);
  char *jwt = ab_auth_build_grant(a, 2000, &err);
  cJSON *p = segment_json(jwt, 1);
  assert_int_equal(cJSON_GetArraySize(p), 7);
  const cJSON *ad = cJSON_GetObjectItemCaseSensitive(p, "authorization_details");
  assert_true(cJSON_IsArray(ad));
  assert_int_equal(cJSON_GetArraySize(ad), 1);
  const cJSON *d = cJSON_GetArrayItem(ad, 0);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(d, "type")->valuestring,
                      "urn:altinn:systemuser");
  const cJSON *org = cJSON_GetObjectItemCaseSensitive(d, "systemuser_org");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(org, "authority")->valuestring,
                      "iso6523-actorid-upis");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(org, "ID")->valuestring,
                      "0192:312345678");
  verify_rs256(f->key, jwt);
  cJSON_Delete(p);
  free(jwt);
  ab_auth_free(a);

  /* An already prefixed org number is not prefixed twice. */
  c.systemuser_org = "0192:312345678";
  a = ab_auth_new(&c, &err);
  jwt = ab_auth_build_grant(a, 2000, &err);
  assert_non_null(strstr(jwt, ".")); /* sanity */
  p = segment_json(jwt, 1);
  d = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "authorization_details"), 0);
  org = cJSON_GetObjectItemCaseSensitive(d, "systemuser_org");
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(org, "ID")->valuestring,
                      "0192:312345678");
  cJSON_Delete(p);
  free(jwt);
  ab_auth_free(a);

  c.systemuser_org = "31234567x";
  assert_null(ab_auth_new(&c, &err));
  assert_int_equal(err.err_no, EINVAL);
}

/* A missing key, client id or scope is refused before anything is signed. */
static void test_incomplete_config(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_auth_config c = config(f, NULL);
  c.key = NULL;
  assert_null(ab_auth_new(&c, &err));
  assert_non_null(strstr(err.message, "key"));
  c = config(f, NULL);
  c.scope = "";
  assert_null(ab_auth_new(&c, &err));
  assert_non_null(strstr(err.message, "scope"));
}

static void test_read_exp(void **state) {
  (void)state;
  time_t e = 0;
  /* {"alg":"none"} . {"exp":1767263405,"sub":"x"} . sig */
  char *h = ab_base64url_encode("{\"alg\":\"none\"}", 14);
  const char *claims = "{\"exp\":1767263405,\"sub\":\"x\"}";
  char *p = ab_base64url_encode(claims, strlen(claims));
  char jwt[256];
  snprintf(jwt, sizeof(jwt), "%s.%s.c2ln", h, p);
  assert_int_equal(ab_jwt_read_time(jwt, "exp", &e), 0);
  assert_int_equal(e, 1767263405);
  free(p);

  /* exp as a string, missing, or a non-object payload: no exp */
  const char *bad[] = { "{\"exp\":\"1767263405\"}", "{\"iat\":1}", "[1,2]", "nope" };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    p = ab_base64url_encode(bad[i], strlen(bad[i]));
    snprintf(jwt, sizeof(jwt), "%s.%s.c2ln", h, p);
    assert_int_equal(ab_jwt_read_time(jwt, "exp", &e), -1);
    free(p);
  }
  assert_int_equal(ab_jwt_read_time("only.two", "exp", &e), -1);
  assert_int_equal(ab_jwt_read_time("a.b.c.d", "exp", &e), -1);
  assert_int_equal(ab_jwt_read_time("", "exp", &e), -1);
  free(h);
}

static void test_uuid4_format(void **state) {
  (void)state;
  char u[AB_UUID_LEN];
  ab_error err;
  for (int i = 0; i < 100; i++) {
    assert_int_equal(ab_jwt_uuid4(u, &err), 0);
    assert_int_equal(strlen(u), 36);
    assert_int_equal(u[8], '-');
    assert_int_equal(u[14], '4');
    assert_non_null(strchr("89ab", u[19]));
  }
}

int main(void) {
  g_key = fixture_rsa_key();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_grant_header_and_claims, setup, teardown),
    cmocka_unit_test_setup_teardown(test_jti_unique, setup, teardown),
    cmocka_unit_test_setup_teardown(test_systemuser_details, setup, teardown),
    cmocka_unit_test_setup_teardown(test_incomplete_config, setup, teardown),
    cmocka_unit_test(test_read_exp),
    cmocka_unit_test(test_uuid4_format),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  EVP_PKEY_free(g_key);
  return rc;
}
