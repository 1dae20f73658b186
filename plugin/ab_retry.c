/* ab_retry.c - retry decisions and backoff (see ab_retry.h). */
#include "ab_retry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void ab_retry_init(ab_retry *r, const ab_upload_cfg *cfg) {
  memset(r, 0, sizeof(*r));
  r->max_retries = cfg->retries;
  r->delay_ms = cfg->retry_delay_ms;
  r->max_wait_ms = cfg->retry_max_wait_ms;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  r->seed = (unsigned int) (ts.tv_nsec ^ (long) getpid());
}

ab_failure_kind ab_failure_kind_of(const ab_error *err) {
  if (err->http_status == 429) {
    return AB_FAILURE_RATE_LIMITED;
  }
  if (err->http_status >= 500 || err->http_status == 408) {
    return AB_FAILURE_SERVER;
  }
  if (err->http_status == 0 && strncmp(err->code, "curl-", 5) == 0) {
    int curl_code = atoi(err->code + 5);
    /* 60, 77, 83, 90: the certificate failed verification (untrusted CA,
     * wrong host name, unreadable CA bundle, pin). That does not heal in
     * seconds; repeating would only keep the client waiting for the error. */
    if (curl_code == 60 || curl_code == 77 || curl_code == 83 || curl_code == 90) {
      return AB_FAILURE_PERMANENT;
    }
    /* 28: operation timed out (connect timeout or the stall limit) */
    return curl_code == 28 ? AB_FAILURE_TIMEOUT : AB_FAILURE_TRANSPORT;
  }
  return AB_FAILURE_PERMANENT;
}

static long long backoff(ab_retry *r) {
  long long cap = r->delay_ms;
  for (int i = 1; i < r->failures && cap < r->max_wait_ms; i++) {
    cap *= 2;
  }
  if (cap > r->max_wait_ms) {
    cap = r->max_wait_ms;
  }
  /* "Equal jitter": at least half the backoff, at most all of it. */
  long long half = cap / 2;
  return half + (half > 0 ? rand_r(&r->seed) % (half + 1) : 0);
}

long long ab_retry_backoff(ab_retry *r) {
  r->failures++;
  return r->failures > r->max_retries ? -1 : backoff(r);
}

long long ab_retry_next(ab_retry *r, const ab_error *err) {
  ab_failure_kind kind = ab_failure_kind_of(err);
  r->failures++;
  if (kind == AB_FAILURE_PERMANENT || r->failures > r->max_retries) {
    return -1;
  }
  if (kind == AB_FAILURE_RATE_LIMITED && err->retry_after_s > 0) {
    long long ms = (long long) err->retry_after_s * 1000;
    if (ms > r->max_wait_ms) {
      return -1;
    }
    /* A little on top, so a crowd told "1 s" does not return in step. */
    return ms + rand_r(&r->seed) % 250;
  }
  return backoff(r);
}

void ab_retry_wait(ab_retry *r, long long ms) {
  if (ms <= 0) {
    return;
  }
  struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  r->waited_ms += ms;
}

void ab_retry_give_up(const ab_retry *r, ab_error *err) {
  ab_failure_kind kind = ab_failure_kind_of(err);
  if (kind == AB_FAILURE_PERMANENT) {
    return;
  }
  static const int errnos[] = {
    [AB_FAILURE_TRANSPORT] = EHOSTDOWN,
    [AB_FAILURE_TIMEOUT] = ETIMEDOUT,
    [AB_FAILURE_RATE_LIMITED] = EAGAIN,
    [AB_FAILURE_SERVER] = EIO,
  };
  static const char *const what[] = {
    [AB_FAILURE_TRANSPORT] = "the Broker cannot be reached",
    [AB_FAILURE_TIMEOUT] = "the Broker stopped responding",
    [AB_FAILURE_RATE_LIMITED] = "the Broker's rate limit is exhausted",
    [AB_FAILURE_SERVER] = "the Broker keeps failing",
  };
  err->err_no = errnos[kind];
  ab_error_prefix(err, "%s (gave up after %d attempt%s over %lld s)", what[kind],
                  r->failures, r->failures == 1 ? "" : "s", (r->waited_ms + 500) / 1000);
}
