/* ab_multi_thread.c - a helper thread that drives a libcurl multi handle
 * (see ab_multi_thread.h).
 *
 * libcurl's multi handle is not thread-safe, except curl_multi_wakeup. The
 * helper holds the mutex while it performs and polls; the owner announces
 * itself (`waiting`), wakes the poll and then takes the mutex, which the
 * helper yields at the top of its loop until the owner is done. A helper
 * with nothing to run sleeps on the condition until the owner adds work.
 */
#include "ab_multi_thread.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Between transfers' events: long enough not to spin, short enough that a
 * lost wakeup costs little. */
#define POLL_MS 1000

struct ab_multi_thread {
  CURLM *multi;
  ab_multi_done_fn done;
  ab_multi_tick_fn tick;
  void *ctx;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_int waiting;  /* owners wanting the handle */
  int stop;
  CURLMcode failure;
};

static void *helper_main(void *arg) {
  ab_multi_thread *t = arg;
  pthread_mutex_lock(&t->mu);
  while (!t->stop) {
    if (atomic_load(&t->waiting) > 0 || t->failure != CURLM_OK) {
      pthread_cond_wait(&t->cv, &t->mu);
      continue;
    }
    if (t->tick != NULL) {
      t->tick(t->ctx);
    }
    int running = 0;
    CURLMcode mc = curl_multi_perform(t->multi, &running);
    CURLMsg *msg;
    int left;
    while (mc == CURLM_OK && (msg = curl_multi_info_read(t->multi, &left)) != NULL) {
      t->done(msg, t->ctx);
    }
    if (mc == CURLM_OK && running == 0) {
      /* Nothing to drive until the owner adds a transfer. */
      pthread_cond_wait(&t->cv, &t->mu);
      continue;
    }
    if (mc == CURLM_OK) {
      mc = curl_multi_poll(t->multi, NULL, 0, POLL_MS, NULL);
    }
    t->failure = mc;
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

ab_multi_thread *ab_multi_thread_start(CURLM *multi, ab_multi_done_fn done,
                                       ab_multi_tick_fn tick, void *ctx) {
  ab_multi_thread *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    return NULL;
  }
  t->multi = multi;
  t->done = done;
  t->tick = tick;
  t->ctx = ctx;
  atomic_init(&t->waiting, 0);
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, NULL);
  /* The gateway's signals (timers, SIGTERM, SIGCHLD) belong to the
   * session's thread: the helper is created with all of them blocked. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int rc = pthread_create(&t->thread, NULL, helper_main, t);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
    return NULL;
  }
  return t;
}

void ab_multi_thread_lock(ab_multi_thread *t) {
  atomic_fetch_add(&t->waiting, 1);
  curl_multi_wakeup(t->multi);
  pthread_mutex_lock(&t->mu);
  atomic_fetch_sub(&t->waiting, 1);
}

void ab_multi_thread_unlock(ab_multi_thread *t) {
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

CURLMcode ab_multi_thread_failure(const ab_multi_thread *t) {
  return t->failure;
}

void ab_multi_thread_stop(ab_multi_thread *t) {
  if (t == NULL) {
    return;
  }
  ab_multi_thread_lock(t);
  t->stop = 1;
  ab_multi_thread_unlock(t);
  pthread_join(t->thread, NULL);
  pthread_mutex_destroy(&t->mu);
  pthread_cond_destroy(&t->cv);
  free(t);
}
