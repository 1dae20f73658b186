/* Unit tests: untrusted names in both directions (plugin/ab_names.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ab_names.h"

static void upload_names_accepted(void **state) {
  (void) state;
  ab_error err;
  assert_int_equal(ab_name_check_upload("report.xml", &err), 0);
  assert_int_equal(ab_name_check_upload("Årsrapport 2026 – endelig.pdf", &err), 0);
  assert_int_equal(ab_name_check_upload(".hidden", &err), 0);
  char max[256];
  memset(max, 'a', 255);
  max[255] = '\0';
  assert_int_equal(ab_name_check_upload(max, &err), 0);
}

static void upload_names_refused(void **state) {
  (void) state;
  ab_error err;
  assert_int_equal(ab_name_check_upload("", &err), -1);
  assert_int_equal(ab_name_check_upload(".", &err), -1);
  assert_int_equal(ab_name_check_upload("..", &err), -1);
  assert_int_equal(ab_name_check_upload("a/b", &err), -1);
  assert_int_equal(ab_name_check_upload("a\\b", &err), -1);
  assert_int_equal(ab_name_check_upload("tab\there", &err), -1);
  assert_non_null(strstr(err.message, "control character"));
  assert_int_equal(ab_name_check_upload("del\x7f", &err), -1);
  assert_int_equal(ab_name_check_upload("c1\xc2\x85", &err), -1);       /* U+0085 NEL */
  assert_int_equal(ab_name_check_upload("bad\xff", &err), -1);
  assert_non_null(strstr(err.message, "UTF-8"));
  assert_int_equal(ab_name_check_upload("overlong\xc0\xaf", &err), -1); /* "/" overlong */
  assert_int_equal(ab_name_check_upload("surrogate\xed\xa0\x80", &err), -1);
  char big[300];
  memset(big, 'a', 256);
  big[256] = '\0';
  assert_int_equal(ab_name_check_upload(big, &err), -1);
  assert_int_equal(err.err_no, ENAMETOOLONG);
}

static void broker_names_sanitized(void **state) {
  (void) state;
  char out[256];
  ab_name_sanitize("../../etc/passwd", out, sizeof(out));
  assert_string_equal(out, "_._.._etc_passwd");
  ab_name_sanitize("..", out, sizeof(out));
  assert_string_equal(out, "_.");
  ab_name_sanitize("", out, sizeof(out));
  assert_string_equal(out, "unnamed");
  ab_name_sanitize(NULL, out, sizeof(out));
  assert_string_equal(out, "unnamed");
  ab_name_sanitize("a\nb\x01" "c", out, sizeof(out));
  assert_string_equal(out, "a_b_c");
  ab_name_sanitize("bad\xff" "utf", out, sizeof(out));
  assert_string_equal(out, "bad_utf");
  ab_name_sanitize("ærlig.txt", out, sizeof(out));
  assert_string_equal(out, "ærlig.txt");
  /* Long names are cut at 200 bytes, never inside a character. */
  char big[600] = "";
  for (int i = 0; i < 150; i++) strcat(big, "ø");
  ab_name_sanitize(big, out, sizeof(out));
  assert_int_equal(strlen(out), 200);
  ab_name_sanitize("x", out, 4);
  assert_string_equal(out, "x");
}

static void unique_names(void **state) {
  (void) state;
  char out[256];
  ab_name_with_id("report.xml", "0b6b4c5e-1111-2222-3333-444455556666", out, sizeof(out));
  assert_string_equal(out, "report~0b6b4c5e.xml");
  ab_name_with_id("README", "abcdef01-0000", out, sizeof(out));
  assert_string_equal(out, "README~abcdef01");
  ab_name_with_id("_hidden", "abcdef01-0000", out, sizeof(out));
  assert_string_equal(out, "_hidden~abcdef01");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(upload_names_accepted),
    cmocka_unit_test(upload_names_refused),
    cmocka_unit_test(broker_names_sanitized),
    cmocka_unit_test(unique_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
