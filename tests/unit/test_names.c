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
  assert_string_equal(out, "unnamed");
  ab_name_sanitize(".bashrc", out, sizeof(out));
  assert_string_equal(out, "_bashrc");
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

static void hostile_names(void **state) {
  (void) state;
  char out[256];
  /* Right-to-left override: "invoice\u202Efdp.exe" displays as "invoiceexe.pdf". */
  ab_name_sanitize("invoice\xe2\x80\xae" "fdp.exe", out, sizeof(out));
  assert_string_equal(out, "invoicefdp.exe");
  /* Isolates, LRM/RLM, zero-width space/joiner, BOM, soft hyphen vanish. */
  ab_name_sanitize("a\xe2\x81\xa6" "b\xe2\x80\x8f" "c\xe2\x80\x8b" "d\xef\xbb\xbf" "e\xc2\xad" "f", out, sizeof(out));
  assert_string_equal(out, "abcdef");
  /* Slash look-alikes: fraction slash, division slash, fullwidth solidus,
   * fullwidth reverse solidus, and the characters Windows forbids. */
  ab_name_sanitize("a\xe2\x81\x84" "b\xe2\x88\x95" "c\xef\xbc\x8f" "d\xef\xbc\xbc" "e", out, sizeof(out));
  assert_string_equal(out, "a_b_c_d_e");
  ab_name_sanitize("re:port*?\"<>|.txt", out, sizeof(out));
  assert_string_equal(out, "re_port______.txt");
  /* Line separator, private use, non-character. */
  ab_name_sanitize("a\xe2\x80\xa8" "b\xee\x80\x80" "c\xef\xbf\xbe", out, sizeof(out));
  assert_string_equal(out, "a_b_c_");
  /* Other spaces become a plain space; leading/trailing spaces and dots go. */
  ab_name_sanitize("  a\xc2\xa0" "b\xe3\x80\x80" "c.txt . . ", out, sizeof(out));
  assert_string_equal(out, "a b c.txt");
  /* Leading '-' (command-line option) and dot look-alikes ("‥" reads as ".."). */
  ab_name_sanitize("-rf", out, sizeof(out));
  assert_string_equal(out, "_rf");
  ab_name_sanitize("\xe2\x80\xa5", out, sizeof(out));
  assert_string_equal(out, "_");
  ab_name_sanitize("\xe2\x80\xa5/etc", out, sizeof(out));
  assert_string_equal(out, "__etc");
  /* Windows device names, with or without an extension, any case. */
  ab_name_sanitize("CON", out, sizeof(out));
  assert_string_equal(out, "_CON");
  ab_name_sanitize("nul.txt", out, sizeof(out));
  assert_string_equal(out, "_nul.txt");
  ab_name_sanitize("com7.tar.gz", out, sizeof(out));
  assert_string_equal(out, "_com7.tar.gz");
  ab_name_sanitize("console.txt", out, sizeof(out));
  assert_string_equal(out, "console.txt");
  /* A long name keeps its extension when cut. */
  char big[400];
  memset(big, 'a', 300);
  strcpy(big + 300, ".pdf");
  ab_name_sanitize(big, out, sizeof(out));
  assert_int_equal(strlen(out), 200);
  assert_string_equal(out + 196, ".pdf");
  /* Only invisible characters: nothing is left. */
  ab_name_sanitize("\xe2\x80\x8b\xe2\x80\x8b", out, sizeof(out));
  assert_string_equal(out, "unnamed");
}

static void folded_names(void **state) {
  (void) state;
  char a[256], b[256];
  ab_name_fold("Report.XML", a, sizeof(a));
  ab_name_fold("report.xml", b, sizeof(b));
  assert_string_equal(a, b);
  /* Cyrillic і and о look like Latin i and o. */
  ab_name_fold("\xd1\x96nv\xd0\xbe" "ice.pdf", a, sizeof(a));
  assert_string_equal(a, "invoice.pdf");
  /* Fullwidth letters, accents (precomposed and combining). */
  ab_name_fold("\xef\xbd\x92\xef\xbd\x85port", a, sizeof(a));
  assert_string_equal(a, "report");
  ab_name_fold("\xc3\x85rs", a, sizeof(a));          /* Års, NFC */
  ab_name_fold("A\xcc\x8ars", b, sizeof(b));          /* Års, NFD */
  assert_string_equal(a, b);
  ab_name_fold("\xc3\x86\xc3\x98", a, sizeof(a));    /* ÆØ -> æø */
  assert_string_equal(a, "\xc3\xa6\xc3\xb8");
  /* Different names stay different. */
  ab_name_fold("report1.xml", a, sizeof(a));
  ab_name_fold("report2.xml", b, sizeof(b));
  assert_string_not_equal(a, b);
}

static void unique_names(void **state) {
  (void) state;
  char out[256];
  ab_name_with_id("report.xml", "0b6b4c5e-1111-2222-3333-444455556666", 8, out, sizeof(out));
  assert_string_equal(out, "report~0b6b4c5e.xml");
  ab_name_with_id("report.xml", "0b6b4c5e-1111-2222-3333-444455556666", 12, out, sizeof(out));
  assert_string_equal(out, "report~0b6b4c5e-111.xml");
  ab_name_with_id("README", "abcdef01-0000", 8, out, sizeof(out));
  assert_string_equal(out, "README~abcdef01");
  ab_name_with_id("_hidden", "abcdef01-0000", 99, out, sizeof(out));
  assert_string_equal(out, "_hidden~abcdef01-0000");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(upload_names_accepted),
    cmocka_unit_test(upload_names_refused),
    cmocka_unit_test(broker_names_sanitized),
    cmocka_unit_test(hostile_names),
    cmocka_unit_test(folded_names),
    cmocka_unit_test(unique_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
