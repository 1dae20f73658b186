/* test_multi_thread.c - ab_multi_thread drives a libcurl multi handle on
 * its own thread: uploads the owner adds (while the helper runs, idle or
 * busy) reach a local server whole, each end is reported once with its
 * result, and stopping mid-transfer hands the running uploads back to an
 * owner that finishes them itself. The server counts the bytes it got. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "ab_multi_thread.h"

#define N_UPLOADS 6
#define UPLOAD_SIZE (3 * 1024 * 1024)

static pthread_mutex_t server_mu = PTHREAD_MUTEX_INITIALIZER;
static long long server_bytes; /* body bytes received, all uploads */

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls) {
  (void) cls; (void) url; (void) method; (void) version; (void) data;
  if (*con_cls == NULL) {
    static int started;
    *con_cls = &started;
    return MHD_YES;
  }
  if (*data_size > 0) {
    pthread_mutex_lock(&server_mu);
    server_bytes += (long long) *data_size;
    pthread_mutex_unlock(&server_mu);
    *data_size = 0;
    return MHD_YES;
  }
  struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result rc = MHD_queue_response(c, 204, r);
  MHD_destroy_response(r);
  return rc;
}

typedef struct upload {
  CURL *easy;
  long long left;
  int ended;       /* times the done callback saw it */
  CURLcode result;
} upload;

typedef struct owner {
  struct MHD_Daemon *d;
  char url[64];
  CURLM *multi;
  upload up[N_UPLOADS];
  pthread_t helper_seen; /* the thread the done callback ran on */
} owner;

static size_t body(char *buf, size_t size, size_t n, void *userp) {
  upload *u = userp;
  size_t want = size * n;
  if ((long long) want > u->left) want = (size_t) u->left;
  memset(buf, 'z', want);
  u->left -= (long long) want;
  return want;
}

static void on_done(CURLMsg *msg, void *ctx) {
  owner *o = ctx;
  upload *u = NULL;
  curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &u);
  u->ended++;
  u->result = msg->data.result;
  o->helper_seen = pthread_self();
  curl_multi_remove_handle(o->multi, msg->easy_handle);
}

static void add_upload(owner *o, upload *u) {
  u->easy = curl_easy_init();
  u->left = UPLOAD_SIZE;
  curl_easy_setopt(u->easy, CURLOPT_URL, o->url);
  curl_easy_setopt(u->easy, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(u->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t) UPLOAD_SIZE);
  curl_easy_setopt(u->easy, CURLOPT_READFUNCTION, body);
  curl_easy_setopt(u->easy, CURLOPT_READDATA, u);
  curl_easy_setopt(u->easy, CURLOPT_PRIVATE, u);
  curl_easy_setopt(u->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(u->easy, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t) 4 * 1024 * 1024);
  curl_multi_add_handle(o->multi, u->easy);
}

static int ended(owner *o) {
  int n = 0;
  for (int i = 0; i < N_UPLOADS; i++) n += o->up[i].ended;
  return n;
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep(&ts, NULL);
}

static int setup(void **state) {
  owner *o = calloc(1, sizeof(*o));
  o->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                          NULL, NULL, handler, NULL, MHD_OPTION_END);
  if (o->d == NULL || (o->multi = curl_multi_init()) == NULL) {
    return -1;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(o->d, MHD_DAEMON_INFO_BIND_PORT);
  snprintf(o->url, sizeof(o->url), "http://127.0.0.1:%u/put", (unsigned) info->port);
  server_bytes = 0;
  *state = o;
  return 0;
}

static int teardown(void **state) {
  owner *o = *state;
  for (int i = 0; i < N_UPLOADS; i++) {
    if (o->up[i].easy != NULL) {
      curl_multi_remove_handle(o->multi, o->up[i].easy);
      curl_easy_cleanup(o->up[i].easy);
    }
  }
  curl_multi_cleanup(o->multi);
  MHD_stop_daemon(o->d);
  free(o);
  return 0;
}

/* Uploads added to an idle helper and to a busy one all arrive whole,
 * driven by the helper alone: the owner only looks, under the lock. */
static void helper_sends_what_the_owner_adds(void **state) {
  owner *o = *state;
  ab_multi_thread *t = ab_multi_thread_start(o->multi, on_done, NULL, o);
  assert_non_null(t);
  sleep_ms(50); /* the helper is idle: nothing to drive yet */
  for (int i = 0; i < N_UPLOADS; i++) {
    ab_multi_thread_lock(t);
    add_upload(o, &o->up[i]);
    ab_multi_thread_unlock(t);
    sleep_ms(20); /* later ones join while earlier ones run */
  }
  int done = 0;
  for (int waited = 0; waited < 20000 && done < N_UPLOADS; waited += 10) {
    ab_multi_thread_lock(t);
    done = ended(o);
    assert_int_equal(ab_multi_thread_failure(t), CURLM_OK);
    ab_multi_thread_unlock(t);
    sleep_ms(10);
  }
  ab_multi_thread_stop(t);
  assert_int_equal(done, N_UPLOADS);
  assert_false(pthread_equal(o->helper_seen, pthread_self()));
  for (int i = 0; i < N_UPLOADS; i++) {
    assert_int_equal(o->up[i].ended, 1);
    assert_int_equal(o->up[i].result, CURLE_OK);
    long status = 0;
    curl_easy_getinfo(o->up[i].easy, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 204);
  }
  pthread_mutex_lock(&server_mu);
  assert_int_equal(server_bytes, (long long) N_UPLOADS * UPLOAD_SIZE);
  pthread_mutex_unlock(&server_mu);
}

/* Stopped while uploads run: nothing is lost, and the owner's own
 * perform loop finishes them on the same multi handle. */
static void stop_hands_running_uploads_back(void **state) {
  owner *o = *state;
  ab_multi_thread *t = ab_multi_thread_start(o->multi, on_done, NULL, o);
  assert_non_null(t);
  ab_multi_thread_lock(t);
  for (int i = 0; i < N_UPLOADS; i++) {
    add_upload(o, &o->up[i]);
  }
  ab_multi_thread_unlock(t);
  sleep_ms(100); /* at 4 MB/s each, 3 MB take 750 ms: still running */
  ab_multi_thread_stop(t);
  int before = ended(o);
  assert_true(before < N_UPLOADS);
  int running = 1;
  for (int spins = 0; running > 0 && spins < 20000; spins++) {
    curl_multi_perform(o->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(o->multi, &left)) != NULL) {
      on_done(msg, o);
    }
    if (running > 0) curl_multi_poll(o->multi, NULL, 0, 100, NULL);
  }
  assert_int_equal(ended(o), N_UPLOADS);
  for (int i = 0; i < N_UPLOADS; i++) {
    assert_int_equal(o->up[i].ended, 1);
    assert_int_equal(o->up[i].result, CURLE_OK);
  }
  pthread_mutex_lock(&server_mu);
  assert_int_equal(server_bytes, (long long) N_UPLOADS * UPLOAD_SIZE);
  pthread_mutex_unlock(&server_mu);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(helper_sends_what_the_owner_adds, setup, teardown),
    cmocka_unit_test_setup_teardown(stop_hands_running_uploads_back, setup, teardown),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
