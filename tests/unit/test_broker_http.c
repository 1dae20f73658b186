/* test_broker_http.c - ab_auth, ab_broker and ab_download against the fake
 * Maskinporten/Altinn/Broker server: token caching and invalidation,
 * Maskinporten errors, the 401 retry and its absence for BRO-00006, 429
 * handling, request headers per endpoint, streamed upload, and streamed
 * download (multi-MB with pause/unpause, Range, short body, errors). */
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
#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "ab_auth.h"
#include "ab_broker.h"
#include "client_fixtures.h"
#include "client_httpd.h"

static EVP_PKEY *g_key;
static ab_key *g_ab_key;

typedef struct fixture {
  fake_server *srv;
  fake_state *st;
  ab_http *http;
  ab_auth *auth;
  ab_broker broker;
  char token_url[128];
  char exchange_url[128];
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
  snprintf(f->token_url, sizeof(f->token_url), "%s/token", fake_base(f->srv));
  snprintf(f->exchange_url, sizeof(f->exchange_url), "%s/exchange", fake_base(f->srv));
  ab_auth_config c = {
    .client_id = "test-client", .key = g_ab_key, .audience = "https://test.maskinporten.no/",
    .token_url = f->token_url, .exchange_url = f->exchange_url,
    .scope = "altinn:broker.read altinn:broker.write",
  };
  ab_error err;
  f->auth = ab_auth_new(&c, &err);
  f->broker.base_url = fake_base(f->srv);
  f->broker.http = f->http;
  f->broker.auth = f->auth;
  *state = f;
  return f->http == NULL || f->auth == NULL;
}

static int teardown(void **state) {
  fixture *f = *state;
  ab_auth_free(f->auth);
  ab_http_free(f->http);
  fake_stop(f->srv);
  free(f);
  return 0;
}

static void test_token_cached_and_invalidated(void **state) {
  fixture *f = *state;
  ab_error err;
  const char *t1 = ab_auth_token(f->auth, f->http, &err);
  assert_non_null(t1);
  assert_true(f->st->form_ok);
  assert_true(f->st->exchange_accept_ok);
  assert_string_equal(f->st->token_content_type, "application/x-www-form-urlencoded");
  assert_string_equal(f->st->token_accept, "application/json");
  char first[1024];
  snprintf(first, sizeof(first), "%s", t1);
  const char *t2 = ab_auth_token(f->auth, f->http, &err);
  assert_string_equal(t2, first);
  assert_int_equal(f->st->grants, 1);
  assert_int_equal(f->st->exchanges, 1);
  ab_auth_invalidate(f->auth);
  const char *t3 = ab_auth_token(f->auth, f->http, &err);
  assert_non_null(t3);
  assert_string_not_equal(t3, first);
  assert_int_equal(f->st->grants, 2);
}

static void test_token_near_expiry_refreshed(void **state) {
  fixture *f = *state;
  ab_error err;
  /* A 30-minute token that has 30 s left is inside the 60 s margin. */
  f->st->exchange_iat = 1;
  f->st->exchange_iat_at = -1770;
  f->st->exchange_exp_in = 30;
  assert_non_null(ab_auth_token(f->auth, f->http, &err));
  assert_non_null(ab_auth_token(f->auth, f->http, &err));
  assert_int_equal(f->st->grants, 2);
}

/* The token's life is counted in the issuer's terms (exp - iat) from its
 * arrival, so a local clock far off either way neither reuses an expired
 * token nor fetches a new one per call. */
static void test_token_lifetime_ignores_clock_skew(void **state) {
  fixture *f = *state;
  ab_error err;
  f->st->exchange_iat = 1;
  f->st->exchange_iat_at = -3600; /* issuer's clock 1 h behind ours */
  f->st->exchange_exp_in = -3600 + 1800;
  assert_non_null(ab_auth_token(f->auth, f->http, &err));
  assert_non_null(ab_auth_token(f->auth, f->http, &err));
  assert_int_equal(f->st->grants, 1);
  ab_auth_invalidate(f->auth);
  f->st->exchange_iat_at = 3600;  /* issuer's clock 1 h ahead */
  f->st->exchange_exp_in = 3600 + 1800;
  ab_auth_report rep;
  assert_non_null(ab_auth_refresh(f->auth, f->http, &rep, &err));
  assert_int_equal(rep.altinn_lifetime, 1800); /* not 5400 */
  assert_non_null(ab_auth_token(f->auth, f->http, &err));
  assert_int_equal(f->st->grants, 2);
}

/* Maskinporten refuses a grant dated > 10 s off its clock (MP-130); the
 * client learns the offset from the reply's Date and re-sends once, and
 * later grants are dated in Maskinporten's time from the start. */
static void test_grant_clock_skew_corrected(void **state) {
  fixture *f = *state;
  ab_error err;
  f->st->mp_clock_skew = -300; /* our clock is 5 min ahead */
  ab_auth_report rep;
  assert_non_null(ab_auth_refresh(f->auth, f->http, &rep, &err));
  assert_int_equal(f->st->grants, 2);
  assert_true(rep.clock_corrected);
  assert_true(rep.clock_offset <= -295 && rep.clock_offset >= -305);
  long now = (long)time(NULL);
  assert_true(f->st->last_grant_iat <= now - 295 && f->st->last_grant_iat >= now - 305);
  assert_non_null(ab_auth_refresh(f->auth, f->http, &rep, &err));
  assert_int_equal(f->st->grants, 3); /* right the first time now */
  assert_false(rep.clock_corrected);

  /* Within Maskinporten's tolerance nothing is corrected. */
  f->st->mp_clock_skew = 3;
  ab_auth_free(f->auth);
  ab_auth_config c = {
    .client_id = "test-client", .key = g_ab_key, .audience = "https://test.maskinporten.no/",
    .token_url = f->token_url, .exchange_url = f->exchange_url, .scope = "altinn:broker.read",
  };
  f->auth = ab_auth_new(&c, &err);
  f->broker.auth = f->auth;
  assert_non_null(ab_auth_refresh(f->auth, f->http, &rep, &err));
  assert_false(rep.clock_corrected);
  now = (long)time(NULL);
  assert_true(f->st->last_grant_iat >= now - 1 && f->st->last_grant_iat <= now);
}

/* ab_auth_refresh says what each step gave. */
static void test_refresh_report(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_auth_report rep;
  assert_non_null(ab_auth_refresh(f->auth, f->http, &rep, &err));
  assert_int_equal(rep.stage, AB_AUTH_STAGE_DONE);
  assert_string_equal(rep.granted_scope, "");
  assert_int_equal(rep.mp_expires_in, 120);
  assert_int_equal(strlen(rep.jti), 36);
}

static void test_exchange_quoted_and_html(void **state) {
  fixture *f = *state;
  ab_error err;
  f->st->exchange_quoted = 1;
  const char *t = ab_auth_token(f->auth, f->http, &err);
  assert_non_null(t);
  assert_int_not_equal(t[0], '"');
  assert_null(strchr(t, '\n'));
  assert_int_equal(strncmp(t, "ey", 2), 0);
  ab_auth_invalidate(f->auth);
  f->st->exchange_html = 1;
  assert_null(ab_auth_token(f->auth, f->http, &err));
  assert_non_null(strstr(err.message, "not a JWT"));
}

static void test_maskinporten_error(void **state) {
  fixture *f = *state;
  ab_error err;
  f->st->mp_error = 1;
  assert_null(ab_auth_token(f->auth, f->http, &err));
  assert_string_equal(err.code, "MP-100");
  assert_int_equal(err.err_no, EACCES);
  assert_int_equal(err.http_status, 400);
  assert_non_null(strstr(err.message, "Maskinporten refused the grant for client test-client"));
  assert_null(strstr(err.message, "eyJ")); /* no assertion or token */
  assert_int_equal(f->st->grants, 1);      /* 4xx is not retried */

  /* and it reaches Broker callers with the step named */
  char id[AB_ID_LEN];
  ab_transfer t;
  assert_int_equal(ab_broker_overview(&f->broker, FAKE_ID, &t, &err), -1);
  assert_non_null(strstr(err.message, "cannot get an Altinn token for overview"));
  assert_string_equal(err.code, "MP-100");
  (void)id;
}

static void test_maskinporten_503_retried_once(void **state) {
  fixture *f = *state;
  ab_error err;
  f->st->mp_503_once = 1;
  assert_non_null(ab_auth_token(f->auth, f->http, &err));
  assert_int_equal(f->st->grants, 2);
}

/* A grant Maskinporten takes for a replay (MP-012) is rebuilt with a new
 * jti and sent once more at once; other 4xx are not retried. */
static void test_maskinporten_replay_rebuilt_once(void **state) {
  fixture *f = *state;
  ab_error err;
  f->st->mp_replay_once = 1;
  assert_non_null(ab_auth_token(f->auth, f->http, &err));
  assert_int_equal(f->st->grants, 2);
}

static void test_initialize(void **state) {
  fixture *f = *state;
  ab_error err;
  char id[AB_ID_LEN];
  const char *recips[] = { "0192:986252932" };
  ab_property props[] = { { "caseNumber", "123" } };
  ab_transfer_init in = {
    .file_name = "report.zip", .resource_id = "my-res", .sender = "0192:991825827",
    .recipients = recips, .n_recipients = 1, .senders_reference = "ref",
    .properties = props, .n_properties = 1, .checksum_md5 = NULL,
  };
  assert_int_equal(ab_broker_initialize(&f->broker, &in, id, &err), 0);
  assert_string_equal(id, FAKE_ID);
  assert_string_equal(f->st->last_accept, "application/json");
  assert_string_equal(f->st->last_content_type, "application/json");
  cJSON *o = cJSON_Parse(f->st->init_body);
  assert_non_null(o);
  assert_string_equal(cJSON_GetObjectItemCaseSensitive(o, "fileName")->valuestring, "report.zip");
  assert_non_null(cJSON_GetObjectItemCaseSensitive(o, "propertyList"));
  cJSON_Delete(o);
}

static void test_401_token_rejected_retried(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_transfer t;
  /* the first Altinn token is "revoked": Broker answers 401 with no body */
  f->st->reject_tokens_below = 2;
  assert_int_equal(ab_broker_overview(&f->broker, FAKE_ID, &t, &err), 0);
  assert_string_equal(t.file_name, "a.txt");
  assert_int_equal(t.size, 42);
  assert_int_equal(t.n_recipients, 1);
  ab_transfer_clear(&t);
  assert_int_equal(f->st->broker_calls, 2);
  assert_int_equal(f->st->grants, 2);

  /* rejected again after the retry: give up with EACCES, no loop */
  f->st->reject_tokens_below = 1000;
  f->st->broker_calls = 0;
  assert_int_equal(ab_broker_confirm(&f->broker, FAKE_ID, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  assert_int_equal(err.http_status, 401);
  assert_int_equal(f->st->broker_calls, 2);
}

static void test_401_bro6_not_retried(void **state) {
  fixture *f = *state;
  ab_error err;
  f->st->deny_bro6 = 1;
  char (*ids)[AB_ID_LEN] = NULL;
  size_t n = 0;
  ab_search q = { .resource_id = "res" };
  assert_int_equal(ab_broker_search(&f->broker, &q, &ids, &n, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  assert_string_equal(err.code, "BRO-00006");
  assert_int_equal(err.http_status, 401);
  assert_non_null(strstr(err.message, "Broker refused search (HTTP 401 BRO-00006)"));
  assert_int_equal(f->st->broker_calls, 1);
  assert_int_equal(f->st->grants, 1);
}

static void test_429(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_transfer t;
  /* idempotent GET: one retry after Retry-After: 1 */
  f->st->rate_limit_once = 1;
  assert_int_equal(ab_broker_overview(&f->broker, FAKE_ID, &t, &err), 0);
  ab_transfer_clear(&t);
  assert_int_equal(f->st->broker_calls, 2);
  /* POST: no retry, EIO with the Retry-After in the message */
  f->st->rate_limit_once = 1;
  f->st->broker_calls = 0;
  assert_int_equal(ab_broker_confirm(&f->broker, FAKE_ID, &err), -1);
  assert_int_equal(err.err_no, EIO);
  assert_int_equal(err.http_status, 429);
  assert_non_null(strstr(err.message, "retry after 1 s"));
  assert_int_equal(f->st->broker_calls, 1);
}

static void test_search_confirm_notfound(void **state) {
  fixture *f = *state;
  ab_error err;
  char (*ids)[AB_ID_LEN] = NULL;
  size_t n = 0;
  ab_search q = { .resource_id = "my res&x=1", .status = "Published",
                  .from_iso = "2026-01-01T00:00:00+01:00" };
  assert_int_equal(ab_broker_search(&f->broker, &q, &ids, &n, &err), 0);
  assert_int_equal(n, 1);
  assert_string_equal(ids[0], FAKE_ID);
  free(ids);
  assert_string_equal(f->st->search_resource, "my res&x=1");
  assert_string_equal(f->st->search_from, "2026-01-01T00:00:00+01:00");
  assert_string_equal(f->st->last_accept, "application/json");

  assert_int_equal(ab_broker_confirm(&f->broker, FAKE_ID, &err), 0);
  assert_string_equal(f->st->last_accept, "(none)");
  assert_string_equal(f->st->last_content_type, "(none)");
  assert_int_equal(f->st->last_content_length, 0);

  ab_transfer t;
  assert_int_equal(ab_broker_overview(&f->broker, FAKE_MISSING_ID, &t, &err), -1);
  assert_int_equal(err.err_no, ENOENT);
  assert_string_equal(err.code, "BRO-00001");
  assert_string_equal(err.message, "Broker refused overview (HTTP 404 BRO-00001): "
                                   "The requested file transfer was not found");
  assert_int_equal(ab_broker_overview(&f->broker, "../x", &t, &err), -1);
  assert_int_equal(err.err_no, EINVAL);
}

static void test_upload(void **state) {
  fixture *f = *state;
  ab_error err;
  unsigned long long size = 3ULL * 1024 * 1024 + 5;
  int fd = fixture_pattern_file(size);
  f->st->upload_base = 0;
  f->st->reject_tokens_below = 2; /* the retry must resend the whole body */
  assert_int_equal(ab_broker_upload_fd(&f->broker, FAKE_ID, fd, (off_t)size, &err), 0);
  assert_int_equal(f->st->upload_bytes, size);
  assert_true(f->st->upload_pattern_ok);
  assert_int_equal(f->st->last_content_length, (long long)size);
  assert_string_equal(f->st->last_content_type, "application/octet-stream");
  assert_string_equal(f->st->last_expect, "(none)");
  close(fd);
}

/* Reads the whole stream with varying read sizes and checks every byte. */
static unsigned long long read_all(ab_download *d, unsigned long long start) {
  static unsigned char buf[3 * 1024 * 1024];
  const size_t sizes[] = { 1, 4096, 3 * 1024 * 1024, 777, 65536, 2 * 1024 * 1024 + 3 };
  unsigned long long pos = start;
  ab_error err;
  for (size_t k = 0;; k++) {
    size_t want = sizes[k % 6];
    ssize_t n = ab_download_read(d, buf, want, &err);
    if (n < 0) {
      fail_msg("read failed: %s", err.message);
    }
    if (n == 0) {
      break;
    }
    for (ssize_t i = 0; i < n; i++) {
      if (buf[i] != fixture_pattern(pos + (unsigned long long)i)) {
        fail_msg("byte %llu differs", pos + (unsigned long long)i);
      }
    }
    pos += (unsigned long long)n;
    assert_int_equal(ab_download_position(d), (off_t)pos);
  }
  return pos;
}

static void test_download_full_multi_mb(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_download *d = NULL;
  f->st->dl_size = 9ULL * 1024 * 1024 + 17;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 0, &d, &err), 0);
  assert_string_equal(f->st->last_range, "(none)");
  assert_string_equal(f->st->last_accept, "(none)");
  assert_int_equal(ab_download_total(d), (off_t)f->st->dl_size);
  /* a slow reader: the transfer pauses with a full buffer meanwhile */
  unsigned char small[10];
  assert_int_equal(ab_download_read(d, small, sizeof(small), &err), 10);
  usleep(200 * 1000);
  assert_int_equal(read_all(d, 10), f->st->dl_size);
  ab_download_close(d);
}

/* A client that stops reading mid-file: closing while the helper is
 * still receiving (or paused on a full buffer) ends it cleanly, and a new
 * download of the same file starts from scratch. */
static void test_download_closed_early(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_download *d = NULL;
  f->st->dl_size = 9ULL * 1024 * 1024 + 17;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 0, &d, &err), 0);
  unsigned char b[4096];
  assert_int_equal(ab_download_read(d, b, sizeof(b), &err), (ssize_t)sizeof(b));
  ab_download_close(d); /* still running: the buffer is not even full yet */
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 0, &d, &err), 0);
  assert_int_equal(ab_download_read(d, b, sizeof(b), &err), (ssize_t)sizeof(b));
  usleep(200 * 1000);
  ab_download_close(d); /* paused on a full buffer */
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 0, &d, &err), 0);
  assert_int_equal(read_all(d, 0), f->st->dl_size);
  ab_download_close(d);
}

static void test_download_range(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_download *d = NULL;
  f->st->dl_size = 2ULL * 1024 * 1024;
  off_t off = 1234567;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, off, &d, &err), 0);
  assert_string_equal(f->st->last_range, "bytes=1234567-");
  assert_int_equal(ab_download_position(d), off);
  assert_int_equal(ab_download_total(d), (off_t)f->st->dl_size);
  assert_int_equal(read_all(d, (unsigned long long)off), f->st->dl_size);
  ab_download_close(d);

  /* at or past the end of the file: 416 from the server (with or without
   * the total in Content-Range), an empty stream here */
  unsigned char b[8];
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, (off_t)f->st->dl_size, &d, &err), 0);
  assert_int_equal(ab_download_read(d, b, sizeof(b), &err), 0);
  assert_int_equal(ab_download_read(d, b, sizeof(b), &err), 0);
  assert_int_equal(ab_download_position(d), (off_t)f->st->dl_size);
  ab_download_close(d);
  f->st->range_416_with_total = 1;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, (off_t)f->st->dl_size + 5, &d, &err), 0);
  assert_int_equal(ab_download_total(d), (off_t)f->st->dl_size);
  assert_int_equal(ab_download_read(d, b, sizeof(b), &err), 0);
  ab_download_close(d);

  /* a server that ignores Range must not shift the bytes */
  f->st->dl_ignore_range = 1;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 100, &d, &err), -1);
  assert_null(d);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "ignored the Range"));
}

static void test_download_short_body(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_download *d = NULL;
  f->st->dl_size = 4ULL * 1024 * 1024;
  f->st->dl_short = 1;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 0, &d, &err), 0);
  static unsigned char buf[1 << 20];
  unsigned long long got = 0;
  ssize_t n;
  while ((n = ab_download_read(d, buf, sizeof(buf), &err)) > 0) {
    got += (unsigned long long)n;
  }
  assert_int_equal(n, -1); /* never a silent 0 */
  assert_true(got <= f->st->dl_size / 2);
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "download of " FAKE_ID));
  /* the failure is sticky */
  assert_int_equal(ab_download_read(d, buf, 10, &err), -1);
  ab_download_close(d);
}

static void test_download_errors(void **state) {
  fixture *f = *state;
  ab_error err;
  ab_download *d = NULL;
  /* 401 without code at open: new token, second attempt succeeds */
  f->st->reject_tokens_below = 2;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 0, &d, &err), 0);
  assert_int_equal(f->st->grants, 2);
  assert_int_equal(read_all(d, 0), f->st->dl_size);
  ab_download_close(d);

  assert_int_equal(ab_download_open(&f->broker, FAKE_MISSING_ID, 0, &d, &err), -1);
  assert_int_equal(err.err_no, ENOENT);
  assert_string_equal(err.code, "BRO-00001");
  assert_non_null(strstr(err.message, "Broker refused download (HTTP 404 BRO-00001)"));

  f->st->deny_bro6 = 1;
  f->st->broker_calls = 0;
  assert_int_equal(ab_download_open(&f->broker, FAKE_ID, 0, &d, &err), -1);
  assert_int_equal(err.err_no, EACCES);
  assert_int_equal(f->st->broker_calls, 1);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  g_key = fixture_rsa_key();
  g_ab_key = fixture_ab_key(g_key, "kid-1");
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_token_cached_and_invalidated, setup, teardown),
    cmocka_unit_test_setup_teardown(test_token_near_expiry_refreshed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_token_lifetime_ignores_clock_skew, setup, teardown),
    cmocka_unit_test_setup_teardown(test_grant_clock_skew_corrected, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refresh_report, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exchange_quoted_and_html, setup, teardown),
    cmocka_unit_test_setup_teardown(test_maskinporten_error, setup, teardown),
    cmocka_unit_test_setup_teardown(test_maskinporten_503_retried_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_maskinporten_replay_rebuilt_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_initialize, setup, teardown),
    cmocka_unit_test_setup_teardown(test_401_token_rejected_retried, setup, teardown),
    cmocka_unit_test_setup_teardown(test_401_bro6_not_retried, setup, teardown),
    cmocka_unit_test_setup_teardown(test_429, setup, teardown),
    cmocka_unit_test_setup_teardown(test_search_confirm_notfound, setup, teardown),
    cmocka_unit_test_setup_teardown(test_upload, setup, teardown),
    cmocka_unit_test_setup_teardown(test_download_full_multi_mb, setup, teardown),
    cmocka_unit_test_setup_teardown(test_download_closed_early, setup, teardown),
    cmocka_unit_test_setup_teardown(test_download_range, setup, teardown),
    cmocka_unit_test_setup_teardown(test_download_short_body, setup, teardown),
    cmocka_unit_test_setup_teardown(test_download_errors, setup, teardown),
  };
  if (getenv("TEST_FILTER") != NULL) {
    cmocka_set_test_filter(getenv("TEST_FILTER"));
  }
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  ab_key_free(g_ab_key);
  EVP_PKEY_free(g_key);
  curl_global_cleanup();
  return rc;
}
