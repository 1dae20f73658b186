/* test_problem.c - Broker ProblemDetails parsing, errno mapping and error
 * messages; Maskinporten error replies. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ab_maskinporten.h"
#include "ab_problem.h"

/* A response whose body points at a string literal (never freed here). */
static ab_http_response reply(long status, const char *ctype, const char *body) {
  ab_http_response r;
  memset(&r, 0, sizeof(r));
  r.status = status;
  snprintf(r.content_type, sizeof(r.content_type), "%s", ctype);
  r.body = (char *)body;
  r.body_len = strlen(body);
  return r;
}

static void test_parse_code_and_detail(void **state) {
  (void)state;
  const char *b =
    "{\"type\":\"https://tools.ietf.org/html/rfc9110#section-15.5.1\",\"title\":\"Bad Request\","
    "\"status\":400,\"detail\":\"File size exceeds maximum\",\"code\":\"BRO-00016\","
    "\"traceId\":\"00-abc-def-00\"}";
  ab_problem p;
  assert_int_equal(ab_problem_parse(b, strlen(b), &p), 1);
  assert_string_equal(p.code, "BRO-00016");
  assert_string_equal(p.title, "Bad Request");
  assert_string_equal(p.detail, "File size exceeds maximum");
}

static void test_parse_validation_errors(void **state) {
  (void)state;
  const char *b =
    "{\"title\":\"One or more validation errors occurred.\",\"status\":400,"
    "\"errors\":{\"Sender\":[\"Organization numbers should be on the form x\"],"
    "\"Recipients\":[\"One or more recipients are required\",\"second\"],"
    "\"$.fileName\":\"single string\",\"Bad\":[1,null]}}";
  ab_problem p;
  assert_int_equal(ab_problem_parse(b, strlen(b), &p), 1);
  assert_string_equal(p.code, "");
  assert_string_equal(p.detail,
                      "Sender: Organization numbers should be on the form x; "
                      "Recipients: One or more recipients are required; Recipients: second; "
                      "$.fileName: single string");
}

static void test_parse_empty_and_garbage(void **state) {
  (void)state;
  ab_problem p;
  assert_int_equal(ab_problem_parse(NULL, 0, &p), 0);
  assert_int_equal(ab_problem_parse("", 0, &p), 0);
  assert_int_equal(ab_problem_parse("<html>502 Bad Gateway</html>", 28, &p), 0);
  assert_string_equal(p.detail, "");
  assert_int_equal(ab_problem_parse("[\"x\"]", 5, &p), 0);
  assert_int_equal(ab_problem_parse("{\"detail\":", 10, &p), 0); /* truncated */
  /* wrong types are absent, not crashes */
  const char *b = "{\"code\":5,\"detail\":{\"x\":1},\"title\":[],\"errors\":\"no\"}";
  assert_int_equal(ab_problem_parse(b, strlen(b), &p), 1);
  assert_string_equal(p.code, "");
  assert_string_equal(p.detail, "");
  /* a code with control characters is dropped */
  b = "{\"code\":\"BRO\\n0001\"}";
  assert_int_equal(ab_problem_parse(b, strlen(b), &p), 1);
  assert_string_equal(p.code, "");
}

static void test_parse_huge_detail_truncated(void **state) {
  (void)state;
  size_t n = 100000;
  char *b = malloc(n + 128);
  strcpy(b, "{\"detail\":\"");
  size_t o = strlen(b);
  for (size_t i = 0; i < n; i++) {
    b[o++] = (i % 2) ? 'a' : 'b';
  }
  strcpy(b + o, "\",\"code\":\"BRO-00001-way-too-long-for-the-field\"}");
  ab_problem p;
  assert_int_equal(ab_problem_parse(b, strlen(b), &p), 1);
  assert_int_equal(strlen(p.detail), sizeof(p.detail) - 1);
  assert_int_equal(strlen(p.code), sizeof(p.code) - 1);
  free(b);
}

static void test_errno_mapping(void **state) {
  (void)state;
  assert_int_equal(ab_problem_errno(401, "BRO-00006"), EACCES);
  assert_int_equal(ab_problem_errno(401, ""), EACCES);
  assert_int_equal(ab_problem_errno(403, "BRO-00007"), EACCES);
  assert_int_equal(ab_problem_errno(404, "BRO-00001"), ENOENT);
  assert_int_equal(ab_problem_errno(400, "BRO-00009"), EINVAL);
  assert_int_equal(ab_problem_errno(400, "BRO-00016"), EFBIG);
  assert_int_equal(ab_problem_errno(400, NULL), EINVAL);
  assert_int_equal(ab_problem_errno(409, "BRO-00004"), EEXIST);
  assert_int_equal(ab_problem_errno(429, ""), EIO);
  assert_int_equal(ab_problem_errno(500, "BRO-00008"), EIO);
  assert_int_equal(ab_problem_errno(503, "BRO-00021"), EIO);
  assert_int_equal(ab_problem_errno(406, ""), EIO);
}

static void test_error_messages(void **state) {
  (void)state;
  ab_error err;
  ab_http_response r = reply(400, "application/problem+json",
                             "{\"title\":\"Bad Request\",\"detail\":\"File size exceeds maximum\","
                             "\"code\":\"BRO-00016\"}");
  assert_int_equal(ab_problem_set_error(&err, "initialize", &r), -1);
  assert_string_equal(err.message,
                      "Broker refused initialize (HTTP 400 BRO-00016): File size exceeds maximum");
  assert_string_equal(err.code, "BRO-00016");
  assert_int_equal(err.http_status, 400);
  assert_int_equal(err.err_no, EFBIG);

  r = reply(404, "application/json", "{\"title\":\"Not Found\"}");
  ab_problem_set_error(&err, "overview", &r);
  assert_string_equal(err.message, "Broker refused overview (HTTP 404): Not Found");
  assert_int_equal(err.err_no, ENOENT);

  r = reply(403, "", "");
  ab_problem_set_error(&err, "download", &r);
  assert_non_null(strstr(err.message, "HTTP 403"));
  assert_non_null(strstr(err.message, "scope"));
  assert_int_equal(err.err_no, EACCES);

  r = reply(429, "", "");
  strcpy(r.retry_after, "30");
  ab_problem_set_error(&err, "search", &r);
  assert_string_equal(err.message,
                      "Broker refused search (HTTP 429): rate limit exceeded; retry after 30 s");
  assert_int_equal(err.err_no, EIO);

  /* 406 plain text is shown (one line); HTML from a proxy is not */
  r = reply(406, "text/plain; charset=utf-8", "This endpoint does not support\nthe Accept");
  ab_problem_set_error(&err, "overview", &r);
  assert_non_null(strstr(err.message, "does not support the Accept"));
  r = reply(502, "text/html", "<html><body>Bad gateway</body></html>");
  ab_problem_set_error(&err, "overview", &r);
  assert_string_equal(err.message, "Broker refused overview (HTTP 502): no error details");
}

static void test_maskinporten_errors(void **state) {
  (void)state;
  ab_error err;
  ab_http_response r = reply(400, "application/json",
                             "{\"error\":\"invalid_grant\",\"error_description\":"
                             "\"Invalid assertion. Client authentication failed. (MP-100) "
                             "Correlation id: 42\"}");
  assert_int_equal(ab_maskinporten_set_error(&err, "my-client", &r), -1);
  assert_string_equal(err.code, "MP-100");
  assert_int_equal(err.err_no, EACCES);
  assert_int_equal(err.http_status, 400);
  assert_string_equal(err.message,
                      "Maskinporten refused the grant for client my-client: Invalid assertion. "
                      "Client authentication failed. (MP-100) Correlation id: 42");

  r = reply(400, "application/json",
            "{\"error\":\"invalid_scope\",\"error_description\":\"Invalid scope\"}");
  ab_maskinporten_set_error(&err, "c", &r);
  assert_string_equal(err.code, "invalid_scope");

  r = reply(400, "application/json", "{\"error\":\"invalid_request\"}");
  ab_maskinporten_set_error(&err, "c", &r);
  assert_string_equal(err.message, "Maskinporten refused the grant for client c: invalid_request");

  r = reply(503, "text/html", "<html>down</html>");
  ab_maskinporten_set_error(&err, "c", &r);
  assert_int_equal(err.err_no, EIO);
  assert_string_equal(err.message, "Maskinporten token request for client c failed (HTTP 503)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_code_and_detail),
    cmocka_unit_test(test_parse_validation_errors),
    cmocka_unit_test(test_parse_empty_and_garbage),
    cmocka_unit_test(test_parse_huge_detail_truncated),
    cmocka_unit_test(test_errno_mapping),
    cmocka_unit_test(test_error_messages),
    cmocka_unit_test(test_maskinporten_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
