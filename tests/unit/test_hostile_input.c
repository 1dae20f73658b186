/* Unit tests: what the fuzz targets (tests/fuzz) found, pinned so it stays
 * fixed. Hostile text in error messages, non-canonical mount paths, config
 * files that never end, and OAuth error codes taken from free text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ab_config.h"
#include "ab_error.h"
#include "ab_http.h"
#include "ab_maskinporten.h"
#include "ab_names.h"
#include "ab_retry.h"

static void assert_one_printable_line(const char *s) {
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      fail_msg("control character 0x%02x in \"%s\"", *p, s);
    }
  }
}

/* A client's file name or a Broker `detail` quoted in a message must not
 * forge log lines or carry terminal escape sequences. */
static void error_messages_are_one_printable_line(void **state) {
  (void) state;
  ab_error err;
  ab_error_set(&err, EINVAL, "file name \"%s\" refused", "a\nFAKE: sent ok\x1b[2J\r\x7f");
  assert_one_printable_line(err.message);
  assert_string_equal(err.message, "file name \"a FAKE: sent ok?[2J ?\" refused");
  ab_error_set_http(&err, EIO, 400, "BRO-00001", "Broker refused upload: %s", "x\x01y");
  assert_string_equal(err.message, "Broker refused upload: x?y");
  /* The prefix is untrusted too: it usually names the path. */
  ab_error_set(&err, EINVAL, "not valid UTF-8");
  ab_error_prefix(&err, "/outbox/%s", "evil\nname\x1b]0;title\x07");
  assert_one_printable_line(err.message);
  assert_string_equal(err.message, "/outbox/evil name?]0;title?: not valid UTF-8");
  assert_int_equal(err.err_no, EINVAL);
}

static int directive(ab_config *cfg, const char *path, ab_error *err) {
  const char *argv[] = { path, "client=c", "resource=r", "direction=inbox" };
  return ab_config_directive(cfg, "AltinnBrokerMount", 4, argv, "test:1", err);
}

/* Mount paths are matched against normalised client paths, so only a path
 * in normal form is reachable; anything else is refused at startup. */
static void mount_paths_must_be_canonical(void **state) {
  (void) state;
  static const char *const bad[] = {
    "inbox", "/", "//", "/in/..", "/in/../x", "/../in", "/./in", "/in/.", "//in",
    "/in//x", "/in\x01", "/in\x7f", "/in\nx", "",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ab_config *cfg = ab_config_new();
    ab_error err;
    if (directive(cfg, bad[i], &err) == 0) {
      fail_msg("mount path \"%s\" was accepted", bad[i]);
    }
    assert_int_equal(err.err_no, EINVAL);
    assert_non_null(strstr(err.message, "test:1: AltinnBrokerMount: path must be absolute"));
    assert_one_printable_line(err.message);
    ab_config_free(cfg);
  }
  static const char *const good[][2] = {
    { "/inbox", "/inbox" }, { "/inbox/", "/inbox" }, { "/org/in box", "/org/in box" },
    { "/a/b/", "/a/b" }, { "/..x", "/..x" }, { "/innboks-æøå", "/innboks-æøå" },
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    ab_config *cfg = ab_config_new();
    ab_error err;
    if (directive(cfg, good[i][0], &err) != 0) {
      fail_msg("mount path \"%s\" was refused: %s", good[i][0], err.message);
    }
    assert_string_equal(cfg->mounts[0].path, good[i][1]);
    ab_config_free(cfg);
  }
}

static int load_text(const char *text, ab_error *err) {
  int fd = memfd_create("conf", MFD_CLOEXEC);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ab_config *cfg = ab_config_new();
  int rc = ab_config_load_file(cfg, path, err);
  ab_config_free(cfg);
  close(fd);
  return rc;
}

/* "Include /dev/zero" used to read NUL lines forever, a FIFO to block. */
static void include_of_a_device_is_refused(void **state) {
  (void) state;
  ab_error err;
  assert_int_equal(load_text("Include /dev/zero\n", &err), -1);
  assert_string_equal(err.message, "/dev/zero is not a regular file");
  assert_int_equal(load_text("Include /dev/null\n", &err), -1);
  assert_string_equal(err.message, "/dev/null is not a regular file");
  /* A named pipe used to block in open() before any check. */
  char dir[] = "/tmp/ab-test-fifo.XXXXXX";
  assert_non_null(mkdtemp(dir));
  char fifo[64], text[128];
  snprintf(fifo, sizeof(fifo), "%s/pipe", dir);
  assert_int_equal(mkfifo(fifo, 0600), 0);
  snprintf(text, sizeof(text), "Include %s\n", fifo);
  assert_int_equal(load_text(text, &err), -1);
  assert_non_null(strstr(err.message, "/pipe is not a regular file"));
  unlink(fifo);
  rmdir(dir);
}

/* The tail of an over-long line used to be read as a line of its own, so a
 * directive hidden at its end took effect. */
static void over_long_line_is_refused(void **state) {
  (void) state;
  size_t n = 9000;
  char *text = malloc(n + 200);
  assert_non_null(text);
  strcpy(text, "# ");
  memset(text + 2, 'x', n);
  strcpy(text + 2 + n, " AltinnBrokerEnvironment production\n");
  ab_error err;
  assert_int_equal(load_text(text, &err), -1);
  assert_non_null(strstr(err.message, ":1: line longer than 8190 bytes or with a NUL byte"));
  free(text);
}

/* The OAuth `error` value becomes err->code only when it is a code. */
static void oauth_error_code_only_from_a_code(void **state) {
  (void) state;
  char body[] = "{\"error\":\"not a code\\u001b[31m\"}";
  ab_http_response resp = { .status = 400, .body = body, .body_len = sizeof(body) - 1 };
  ab_error err;
  ab_maskinporten_set_error(&err, "client-1", &resp);
  assert_string_equal(err.code, "");
  assert_one_printable_line(err.message);
  char good[] = "{\"error\":\"invalid_grant\",\"error_description\":\"Bad\\nthing\"}";
  resp.body = good;
  resp.body_len = sizeof(good) - 1;
  ab_maskinporten_set_error(&err, "client-1", &resp);
  assert_string_equal(err.code, "invalid_grant");
  assert_string_equal(err.message, "Maskinporten refused the grant for client client-1: Bad thing");
}

/* A name that displays as something else is refused at upload. */
static void upload_names_with_bidi_controls_refused(void **state) {
  (void) state;
  static const char *const bad[] = {
    "invoice\xe2\x80\xae" "fdp.exe",      /* U+202E RIGHT-TO-LEFT OVERRIDE */
    "a\xe2\x81\xa6" "b.txt",              /* U+2066 LEFT-TO-RIGHT ISOLATE */
    "\xe2\x80\x8freport.xml",          /* U+200F RIGHT-TO-LEFT MARK */
    "two\xe2\x80\xa8lines.txt",        /* U+2028 LINE SEPARATOR */
    "x\xd8\x9c.txt",                    /* U+061C ARABIC LETTER MARK */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ab_error err;
    if (ab_name_check_upload(bad[i], &err) == 0) {
      fail_msg("\"%s\" was accepted", bad[i]);
    }
    assert_int_equal(err.err_no, EINVAL);
    assert_non_null(strstr(err.message, "file name contains the invisible"));
    assert_one_printable_line(err.message);
  }
  ab_error err;
  assert_int_equal(ab_name_check_upload("invoice\xe2\x80\xae" "fdp.exe", &err), -1);
  assert_string_equal(err.message,
                      "file name contains the invisible bidirectional control U+202E at offset 7");
  /* Look-alikes are real characters, not separators: accepted as they are. */
  assert_int_equal(ab_name_check_upload("look\xef\xbc\x8fslash.txt", &err), 0);
  assert_int_equal(ab_name_check_upload("\xe2\x80\xa5", &err), 0);
  assert_int_equal(ab_name_check_upload("caf\xc3\xa9.txt", &err), 0);
}

/* A certificate that fails verification is not a passing outage: the
 * error reaches the client at once instead of after every retry. */
static void tls_verification_failures_not_retried(void **state) {
  (void) state;
  static const char *const permanent[] = { "curl-60", "curl-77", "curl-83", "curl-90" };
  for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++) {
    ab_error err;
    ab_error_set(&err, EIO, "TLS verification of broker failed");
    snprintf(err.code, sizeof(err.code), "%s", permanent[i]);
    assert_int_equal(ab_failure_kind_of(&err), AB_FAILURE_PERMANENT);
  }
  ab_error err;
  ab_error_set(&err, EIO, "cannot connect to broker");
  snprintf(err.code, sizeof(err.code), "curl-7");
  assert_int_equal(ab_failure_kind_of(&err), AB_FAILURE_TRANSPORT);
  snprintf(err.code, sizeof(err.code), "curl-35"); /* handshake broke off */
  assert_int_equal(ab_failure_kind_of(&err), AB_FAILURE_TRANSPORT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(error_messages_are_one_printable_line),
    cmocka_unit_test(mount_paths_must_be_canonical),
    cmocka_unit_test(include_of_a_device_is_refused),
    cmocka_unit_test(over_long_line_is_refused),
    cmocka_unit_test(oauth_error_code_only_from_a_code),
    cmocka_unit_test(upload_names_with_bidi_controls_refused),
    cmocka_unit_test(tls_verification_failures_not_retried),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
