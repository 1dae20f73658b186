/* test_base64.c - base64url encoding and decoding (ab_base64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ab_base64.h"

static void check_encode(const char *in, const char *want) {
  char *got = ab_base64url_encode(in, strlen(in));
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

/* RFC 4648 §10 vectors, without padding. */
static void test_rfc4648_vectors(void **state) {
  (void)state;
  check_encode("", "");
  check_encode("f", "Zg");
  check_encode("fo", "Zm8");
  check_encode("foo", "Zm9v");
  check_encode("foob", "Zm9vYg");
  check_encode("fooba", "Zm9vYmE");
  check_encode("foobar", "Zm9vYmFy");
}

/* The URL-safe alphabet is used for 62 and 63. */
static void test_url_alphabet(void **state) {
  (void)state;
  const unsigned char in[] = { 0xfb, 0xff, 0xbf };
  char *got = ab_base64url_encode(in, sizeof(in));
  assert_string_equal(got, "-_-_");
  free(got);
}

static void test_round_trip_all_lengths(void **state) {
  (void)state;
  unsigned char in[300];
  for (size_t i = 0; i < sizeof(in); i++) {
    in[i] = (unsigned char)(i * 37 + 11);
  }
  for (size_t len = 0; len <= sizeof(in); len++) {
    char *enc = ab_base64url_encode(in, len);
    assert_non_null(enc);
    assert_null(strchr(enc, '='));
    size_t out_len = 0;
    unsigned char *dec = ab_base64url_decode(enc, strlen(enc), &out_len);
    assert_non_null(dec);
    assert_int_equal(out_len, len);
    assert_memory_equal(dec, in, len);
    free(enc);
    free(dec);
  }
}

/* Padding and the standard alphabet are accepted when decoding. */
static void test_decode_lenient(void **state) {
  (void)state;
  size_t n = 0;
  unsigned char *d = ab_base64url_decode("Zm9vYg==", 8, &n);
  assert_non_null(d);
  assert_int_equal(n, 4);
  assert_memory_equal(d, "foob", 4);
  free(d);
  d = ab_base64url_decode("+/+/", 4, &n);
  assert_non_null(d);
  assert_int_equal(n, 3);
  assert_int_equal(d[0], 0xfb);
  free(d);
}

static void test_decode_rejects_garbage(void **state) {
  (void)state;
  size_t n = 0;
  assert_null(ab_base64url_decode("Zm9v!", 5, &n));  /* bad character */
  assert_null(ab_base64url_decode("Z", 1, &n));      /* impossible length */
  assert_null(ab_base64url_decode("Zm9v Yg", 7, &n)); /* whitespace */
  assert_null(ab_base64url_decode("Zg=", 3, &n));    /* wrong padding */
  assert_null(ab_base64url_decode("Z=g=", 4, &n));   /* padding inside */
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rfc4648_vectors),
    cmocka_unit_test(test_url_alphabet),
    cmocka_unit_test(test_round_trip_all_lengths),
    cmocka_unit_test(test_decode_lenient),
    cmocka_unit_test(test_decode_rejects_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
