/* test_send.c - ab_send and ab_tus against a scripted Broker: each request
 * gets the next scripted reply (or a dropped connection), and the test
 * checks the exact sequence of requests the client made. Pins the retry
 * rules: what is repeated, what never is, when the overview decides, when a
 * new transfer may be made, and how each failure reaches the caller. */
#include <errno.h>
#include <fcntl.h>
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

#include "ab_auth.h"
#include "ab_send.h"

#define ID1 "11111111-2222-4333-8444-555555555555"
#define ID2 "66666666-7777-4888-8999-aaaaaaaaaaaa"
#define SIZE 1000

/* One scripted reply. status 0 = drop the connection without an answer. */
typedef struct reply {
  unsigned status;
  const char *body;
  const char *header;     /* "Name: value" or NULL */
  const char *header2;
} reply;

static struct {
  reply script[32];
  size_t n, next;
  char seen[2048];        /* "POST init,POST upload,..." */
} g;

static void script(const reply *r, size_t n) {
  memset(&g, 0, sizeof(g));
  memcpy(g.script, r, n * sizeof(*r));
  g.n = n;
}

/* A short name for a request: method and the last path segment kind. */
static void name_request(const char *method, const char *url, char *out, size_t outsz) {
  const char *what = "other";
  if (strstr(url, "/upload/tus/") != NULL) {
    what = strstr(url, "/partial/") != NULL ? "tus-part" : "tus";
  } else if (strstr(url, "/upload") != NULL) {
    what = "upload";
  } else if (strcmp(method, "POST") == 0) {
    what = "init";
  } else if (strcmp(method, "GET") == 0) {
    what = "overview";
  }
  snprintf(out, outsz, "%s %s", method, what);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls) {
  (void) cls; (void) version; (void) data;
  if (*con_cls == NULL) {
    static int started;
    *con_cls = &started;
    return MHD_YES;
  }
  if (*data_size > 0) {
    *data_size = 0; /* bodies are drained, not checked */
    return MHD_YES;
  }
  char name[64];
  name_request(method, url, name, sizeof(name));
  size_t len = strlen(g.seen);
  snprintf(g.seen + len, sizeof(g.seen) - len, "%s%s", len ? "," : "", name);
  if (g.next >= g.n) {
    return MHD_NO;
  }
  const reply *r = &g.script[g.next++];
  if (r->status == 0) {
    return MHD_NO; /* connection dropped: the client never hears the answer */
  }
  const char *body = r->body ? r->body : "";
  struct MHD_Response *resp =
    MHD_create_response_from_buffer(strlen(body), (void *) body, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(resp, "Content-Type", r->status >= 400 ? "application/problem+json"
                                                                  : "application/json");
  const char *hdrs[2] = { r->header, r->header2 };
  for (int i = 0; i < 2; i++) {
    if (hdrs[i] != NULL) {
      char n[64];
      const char *colon = strchr(hdrs[i], ':');
      snprintf(n, sizeof(n), "%.*s", (int) (colon - hdrs[i]), hdrs[i]);
      MHD_add_response_header(resp, n, colon + 2);
    }
  }
  enum MHD_Result rc = MHD_queue_response(c, r->status, resp);
  MHD_destroy_response(resp);
  return rc;
}

static char *fixed_token(void *ctx, const char *rejected, long long *valid_ms, ab_error *err) {
  (void) ctx; (void) rejected; (void) err;
  *valid_ms = 600000;
  return strdup("test-token");
}

typedef struct fixture {
  struct MHD_Daemon *d;
  char base[64];
  ab_http *http;
  ab_auth *auth;
  ab_broker broker;
  ab_upload_cfg cfg;
  int fd;
  ab_transfer_init init;
} fixture;

static const char *const recipients[] = { "0192:312345678" };

static int setup(void **state) {
  fixture *f = calloc(1, sizeof(*f));
  f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, NULL,
                          MHD_OPTION_END);
  if (f->d == NULL) {
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", (unsigned) info->port);
  ab_http_options o = { .allow_plain_http = 1, .low_speed_timeout_s = 2 };
  f->http = ab_http_new(&o);
  ab_auth_config ac = { .source = fixed_token };
  ab_error err;
  f->auth = ab_auth_new(&ac, &err);
  f->broker.base_url = f->base;
  f->broker.http = f->http;
  f->broker.auth = f->auth;
  ab_upload_cfg_init(&f->cfg);
  f->cfg.retries = 3;
  f->cfg.retry_delay_ms = 10;
  f->cfg.tus_above = 1LL << 40;
  char path[] = "/tmp/ab-test-send.XXXXXX";
  f->fd = mkstemp(path);
  unlink(path);
  char buf[SIZE];
  memset(buf, 'x', sizeof(buf));
  if (f->fd < 0 || write(f->fd, buf, sizeof(buf)) != SIZE || f->http == NULL || f->auth == NULL) {
    return -1;
  }
  f->init = (ab_transfer_init) {
    .file_name = "a.bin", .resource_id = "res", .sender = "0192:999888777",
    .recipients = recipients, .n_recipients = 1, .senders_reference = "ref",
    .checksum_md5 = "0123456789abcdef0123456789abcdef",
  };
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  MHD_stop_daemon(f->d);
  ab_auth_free(f->auth);
  ab_http_free(f->http);
  close(f->fd);
  free(f);
  return 0;
}

static const reply INIT1 = { 200, "{\"fileTransferId\":\"" ID1 "\"}", NULL, NULL };
static const reply INIT2 = { 200, "{\"fileTransferId\":\"" ID2 "\"}", NULL, NULL };
static const reply UPLOAD_OK = { 200, "{\"fileTransferId\":\"" ID1 "\"}", NULL, NULL };
static const reply DROP = { 0, NULL, NULL, NULL };
#define OVERVIEW(id, status, size) { 200, "{\"fileTransferId\":\"" id "\",\"fileTransferStatus\":\"" \
  status "\",\"fileTransferSize\":" #size ",\"recipients\":[]}", NULL, NULL }
#define PROBLEM(status, code, detail) { status, "{\"status\":" #status ",\"code\":\"" code \
  "\",\"detail\":\"" detail "\"}", NULL, NULL }

static int run(fixture *f, ab_send_result *res, ab_error *err) {
  return ab_send(&f->broker, &f->cfg, &f->init, f->fd, SIZE, res, err);
}

static void ok_first_time(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, UPLOAD_OK };
  script(r, 2);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), 0);
  assert_string_equal(g.seen, "POST init,POST upload");
  assert_string_equal(res.id, ID1);
  assert_int_equal(res.transfers, 1);
  assert_int_equal(res.attempts, 0);
}

static void checksum_mismatch_is_final(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, PROBLEM(400, "BRO-00009", "Checksum mismatch") };
  script(r, 2);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), -1);
  assert_string_equal(g.seen, "POST init,POST upload");
  assert_int_equal(err.err_no, EBADMSG);
  assert_non_null(strstr(err.message, "checksum mismatch"));
}

static void server_error_then_same_transfer_again(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, PROBLEM(500, "BRO-00008", "Storage"), OVERVIEW(ID1, "UploadStarted", 0),
                UPLOAD_OK };
  script(r, 4);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), 0);
  assert_string_equal(g.seen, "POST init,POST upload,GET overview,POST upload");
  assert_int_equal(res.transfers, 1);
  assert_int_equal(res.attempts, 1);
}

static void lost_answer_but_accepted(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, DROP, OVERVIEW(ID1, "Published", 1000) };
  script(r, 3);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), 0);
  /* never uploaded twice: the overview showed the bytes arrived */
  assert_string_equal(g.seen, "POST init,POST upload,GET overview");
  assert_string_equal(res.status, "Published");
}

static void failed_transfer_allows_a_new_one(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, PROBLEM(500, "BRO-00008", "Storage"), OVERVIEW(ID1, "Failed", 0),
                INIT2, UPLOAD_OK };
  script(r, 5);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), 0);
  assert_string_equal(g.seen, "POST init,POST upload,GET overview,POST init,POST upload");
  assert_string_equal(res.id, ID2);
  assert_int_equal(res.transfers, 2);
}

static void conflict_resolved_by_overview(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, PROBLEM(409, "BRO-00004", "Already"), OVERVIEW(ID1, "UploadProcessing", 1000) };
  script(r, 3);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), 0);
  assert_string_equal(g.seen, "POST init,POST upload,GET overview");
}

static void conflict_with_other_size_is_an_error(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, PROBLEM(409, "BRO-00004", "Already"), OVERVIEW(ID1, "Published", 999) };
  script(r, 3);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), -1);
  assert_string_equal(g.seen, "POST init,POST upload,GET overview");
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "another size"));
}

static void validation_error_not_repeated(void **state) {
  fixture *f = *state;
  reply r[] = { { 400, "{\"title\":\"One or more validation errors occurred.\",\"status\":400,"
                  "\"errors\":{\"Sender\":[\"bad\"]}}", NULL, NULL } };
  script(r, 1);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), -1);
  assert_string_equal(g.seen, "POST init");
  assert_int_equal(err.err_no, EINVAL);
}

static void rate_limited_waits_retry_after(void **state) {
  fixture *f = *state;
  reply r[] = { { 429, "{}", "Retry-After: 1", NULL }, INIT1, UPLOAD_OK };
  script(r, 3);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), 0);
  assert_string_equal(g.seen, "POST init,POST init,POST upload");
  assert_int_equal(res.attempts, 1);
}

static void keeps_failing_gives_up(void **state) {
  fixture *f = *state;
  reply e = PROBLEM(503, "BRO-00021", "Not ready");
  reply r[] = { e, e, e, e, e };
  script(r, 5);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), -1);
  assert_string_equal(g.seen, "POST init,POST init,POST init,POST init");
  assert_int_equal(err.err_no, EIO);
  assert_non_null(strstr(err.message, "keeps failing (gave up after 4 attempts"));
}

static void size_and_access_named(void **state) {
  fixture *f = *state;
  reply r[] = { INIT1, PROBLEM(400, "BRO-00016", "File size exceeds maximum") };
  script(r, 2);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), -1);
  assert_int_equal(err.err_no, EFBIG);
  assert_non_null(strstr(err.message, "size limit of resource res"));
  reply r2[] = { PROBLEM(401, "BRO-00006", "No access") };
  script(r2, 1);
  assert_int_equal(run(f, &res, &err), -1);
  assert_string_equal(g.seen, "POST init");
  assert_int_equal(err.err_no, EACCES);
  assert_non_null(strstr(err.message, "no access: 0192:999888777 may not send with resource res"));
}

static void tus_resumes_from_the_brokers_offset(void **state) {
  fixture *f = *state;
  f->cfg.tus_above = 1;
  f->cfg.chunk = 65536;
  char location[128];
  snprintf(location, sizeof(location), "Location: /broker/api/v1/filetransfer/upload/tus/%s", ID1);
  reply r[] = {
    INIT1,
    { 201, "", location, NULL },                  /* create */
    DROP,                                         /* PATCH: connection lost */
    { 200, "", "Upload-Offset: 400", "Upload-Length: 1000" }, /* HEAD */
    { 204, "", "Upload-Offset: 1000", NULL },     /* PATCH from 400 */
    OVERVIEW(ID1, "UploadProcessing", 1000),
  };
  script(r, 6);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), 0);
  assert_string_equal(g.seen, "POST init,POST tus,PATCH tus,HEAD tus,PATCH tus,GET overview");
  assert_int_equal(res.via_tus, 1);
  assert_int_equal(res.tus.parts, 1);
  assert_int_equal(res.tus.resumes, 1);
  f->cfg.tus_above = 1LL << 40;
}

static void tus_refuses_a_foreign_location(void **state) {
  fixture *f = *state;
  f->cfg.tus_above = 1;
  reply r[] = { INIT1, { 201, "", "Location: https://elsewhere.example/tus/x", NULL },
                OVERVIEW(ID1, "UploadStarted", 0) };
  script(r, 3);
  ab_send_result res;
  ab_error err;
  assert_int_equal(run(f, &res, &err), -1);
  assert_non_null(strstr(err.message, "not on"));
  f->cfg.tus_above = 1LL << 40;
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ok_first_time),
    cmocka_unit_test(checksum_mismatch_is_final),
    cmocka_unit_test(server_error_then_same_transfer_again),
    cmocka_unit_test(lost_answer_but_accepted),
    cmocka_unit_test(failed_transfer_allows_a_new_one),
    cmocka_unit_test(conflict_resolved_by_overview),
    cmocka_unit_test(conflict_with_other_size_is_an_error),
    cmocka_unit_test(validation_error_not_repeated),
    cmocka_unit_test(rate_limited_waits_retry_after),
    cmocka_unit_test(keeps_failing_gives_up),
    cmocka_unit_test(size_and_access_named),
    cmocka_unit_test(tus_resumes_from_the_brokers_offset),
    cmocka_unit_test(tus_refuses_a_foreign_location),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
