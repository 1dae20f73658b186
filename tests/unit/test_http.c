/* test_http.c - ab_http against a local server: header capture,
 * keep-alive, streamed upload of a file region with Content-Length and no
 * Expect, the 16 MiB body cap, transport errors naming the host, and TLS
 * with an in-memory CA (trusted and untrusted). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "ab_http.h"
#include "client_fixtures.h"
#include "client_httpd.h"

static EVP_PKEY *g_key;

typedef struct fixture {
  fake_server *srv;
  fake_state *st;
  ab_http *http;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  f->srv = fake_start(NULL, NULL);
  if (f->srv == NULL) {
    return -1;
  }
  f->st = fake_state_of(f->srv);
  ab_http_options plain = { .allow_plain_http = 1 };
  f->http = ab_http_new(&plain);
  *state = f;
  return f->http == NULL;
}

static int teardown(void **state) {
  fixture *f = *state;
  ab_http_free(f->http);
  fake_stop(f->srv);
  free(f);
  return 0;
}

static char *url(fixture *f, const char *path) {
  static char buf[256];
  snprintf(buf, sizeof(buf), "%s%s", fake_base(f->srv), path);
  return buf;
}

static void test_headers_and_keepalive(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_http_response r;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(ab_http_request(f->http, "GET", url(f, "/headers"), NULL, NULL, 0, &r, &err), 0);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "ok");
    assert_int_equal(r.body_len, 2);
    assert_string_equal(r.content_type, "application/offset+octet-stream");
    assert_string_equal(r.retry_after, "7");
    assert_string_equal(r.location, "/broker/api/v1/filetransfer/upload/tus/x");
    assert_string_equal(r.upload_offset, "1048576");
    assert_string_equal(r.content_range, "bytes 0-1/2");
    ab_http_response_clear(&r);
  }
  /* an error status is still a completed request */
  assert_int_equal(ab_http_request(f->http, "GET", url(f, "/nothing"), NULL, NULL, 0, &r, &err), 0);
  assert_int_equal(r.status, 404);
  assert_string_equal(r.retry_after, "");
  ab_http_response_clear(&r);
  /* four requests, one TCP connection */
  assert_int_equal(f->st->connections, 1);
}

static void check_region_upload(fixture *f, const char *method, int fd,
                                unsigned long long offset, unsigned long long len) {
  ab_error err;
  ab_http_response r;
  f->st->upload_base = offset;
  const char *hdrs[] = { "Content-Type: application/octet-stream", NULL };
  assert_int_equal(ab_http_request_fd(f->http, method, url(f, "/upload-check"), hdrs, fd,
                                      (off_t)offset, (off_t)len, &r, &err), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(f->st->last_method, method);
  assert_int_equal(f->st->upload_bytes, len);
  assert_true(f->st->upload_pattern_ok);
  assert_int_equal(f->st->last_content_length, (long long)len);
  assert_string_equal(f->st->last_expect, "(none)");
  assert_string_equal(f->st->last_transfer_encoding, "(none)");
  assert_string_equal(f->st->last_content_type, "application/octet-stream");
  ab_http_response_clear(&r);
}

static void test_upload_fd_region(void **state) {
  fixture *f = *state;
  unsigned long long size = 5ULL * 1024 * 1024 + 321;
  int fd = fixture_pattern_file(size);
  assert_true(fd >= 0);
  check_region_upload(f, "POST", fd, 0, size);
  check_region_upload(f, "POST", fd, 12345, 3ULL * 1024 * 1024 + 7);
  check_region_upload(f, "PUT", fd, 1, 100);
  check_region_upload(f, "PATCH", fd, 4096, 65536);
  check_region_upload(f, "POST", fd, 0, 0);

  /* a file shorter than the announced length is an error, not a hang */
  ab_error err;
  ab_http_response r;
  assert_int_equal(ab_http_request_fd(f->http, "POST", url(f, "/upload-check"), NULL, fd,
                                      (off_t)(size - 10), 20, &r, &err), -1);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "ended before"));
  /* and the handle still works afterwards */
  check_region_upload(f, "POST", fd, 7, 7);
  close(fd);

  /* a bad fd is reported with its errno */
  assert_int_equal(ab_http_request_fd(f->http, "POST", url(f, "/upload-check"), NULL, -1, 0, 5,
                                      &r, &err), -1);
  assert_int_equal(err.err_no, EBADF);
}

static void test_body_cap(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_http_response r;
  f->st->big_size = 16ULL * 1024 * 1024;
  assert_int_equal(ab_http_request(f->http, "GET", url(f, "/big"), NULL, NULL, 0, &r, &err), 0);
  assert_int_equal(r.body_len, 16 * 1024 * 1024);
  assert_int_equal((unsigned char)r.body[12345], fixture_pattern(12345));
  ab_http_response_clear(&r);
  f->st->big_size = 16ULL * 1024 * 1024 + 1;
  assert_int_equal(ab_http_request(f->http, "GET", url(f, "/big"), NULL, NULL, 0, &r, &err), -1);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "127.0.0.1"));
  assert_non_null(strstr(err.message, "larger than"));
  assert_null(r.body);
}

static void test_connect_error_names_host(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_http_response r;
  /* a port nobody listens on: take the server's and stop it */
  char u[128];
  fake_server *tmp = fake_start(NULL, NULL);
  snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", fake_port(tmp));
  fake_stop(tmp);
  assert_int_equal(ab_http_request(f->http, "GET", u, NULL, NULL, 0, &r, &err), -1);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "cannot connect to 127.0.0.1"));
  assert_int_equal(ab_http_request(f->http, "GET", "http://no-such-host.invalid/x", NULL, NULL, 0,
                                   &r, &err), -1);
  assert_non_null(strstr(err.message, "no-such-host.invalid"));
}

/* Without allow_plain_http, an http:// URL is refused before anything is sent. */
static void test_plain_http_refused_by_default(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_http_response r;
  ab_http *h = ab_http_new(NULL);
  int before = f->st->connections;
  assert_int_equal(ab_http_request(h, "GET", url(f, "/headers"), NULL, NULL, 0, &r, &err), -1);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "only https:// URLs are allowed"));
  assert_int_equal(f->st->connections, before);
  ab_http_free(h);
}

static void test_tls(void **state) {
  (void)state;
  if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    skip();
  }
  size_t key_len = 0;
  char *key_pem = fixture_key_pem(g_key, &key_len);
  char *cert = fixture_self_signed_cert(g_key);
  assert_non_null(cert);
  fake_server *srv = fake_start(cert, key_pem);
  assert_non_null(srv);
  char u[128];
  snprintf(u, sizeof(u), "%s/headers", fake_base(srv));

  ab_error err;
  ab_http_response r;
  ab_http_options trusted = { .ca_pem = cert, .ca_pem_len = strlen(cert) };
  ab_http *h = ab_http_new(&trusted);
  assert_int_equal(ab_http_request(h, "GET", u, NULL, NULL, 0, &r, &err), 0);
  assert_int_equal(r.status, 201);
  ab_http_response_clear(&r);
  ab_http_free(h);

  /* another CA: verification must fail, and say so */
  EVP_PKEY *other = fixture_rsa_key();
  char *other_cert = fixture_self_signed_cert(other);
  ab_http_options untrusted = { .ca_pem = other_cert, .ca_pem_len = strlen(other_cert) };
  h = ab_http_new(&untrusted);
  assert_int_equal(ab_http_request(h, "GET", u, NULL, NULL, 0, &r, &err), -1);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "TLS verification of 127.0.0.1 failed"));
  ab_http_free(h);

  /* the system bundle does not trust a self-signed test certificate either */
  h = ab_http_new(NULL);
  assert_int_equal(ab_http_request(h, "GET", u, NULL, NULL, 0, &r, &err), -1);
  assert_non_null(strstr(err.message, "TLS verification"));
  ab_http_free(h);

  EVP_PKEY_free(other);
  free(other_cert);
  fake_stop(srv);
  free(cert);
  free(key_pem);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  g_key = fixture_rsa_key();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_headers_and_keepalive, setup, teardown),
    cmocka_unit_test_setup_teardown(test_upload_fd_region, setup, teardown),
    cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_connect_error_names_host, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plain_http_refused_by_default, setup, teardown),
    cmocka_unit_test(test_tls),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  EVP_PKEY_free(g_key);
  curl_global_cleanup();
  return rc;
}
