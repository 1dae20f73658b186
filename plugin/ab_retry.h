/* ab_retry.h - whether, and after how long, a failed Broker request may be
 * repeated.
 *
 * Only failures that say nothing was accepted, or that the service asks us
 * to come back, are worth repeating: transport failures (refused, reset,
 * timed out), HTTP 408, 429 (after its Retry-After) and 5xx. Everything
 * else (401/403 access, 400 validation, 409 state, 413 size, a certificate
 * that fails TLS verification) fails at once.
 * Waits grow exponentially from the configured first delay, with jitter so
 * that many sessions failing together do not come back together.
 */
#ifndef AB_RETRY_H
#define AB_RETRY_H

#include "ab_config_outbox.h"
#include "ab_error.h"

typedef struct ab_retry {
  int max_retries;
  long long delay_ms;      /* first backoff */
  long long max_wait_ms;   /* longest single wait */
  int failures;            /* failures seen so far */
  long long waited_ms;     /* total time spent waiting */
  unsigned int seed;       /* jitter; per instance, no global state */
} ab_retry;

typedef enum ab_failure_kind {
  AB_FAILURE_PERMANENT = 0,
  AB_FAILURE_TRANSPORT,    /* refused, reset, TLS handshake, DNS: the Broker may be down */
  AB_FAILURE_TIMEOUT,      /* a request stalled past the timeout */
  AB_FAILURE_RATE_LIMITED, /* HTTP 429 */
  AB_FAILURE_SERVER        /* HTTP 5xx or 408 */
} ab_failure_kind;

/* Starts a retry budget from the upload settings. */
void ab_retry_init(ab_retry *r, const ab_upload_cfg *cfg);

/* What kind of failure err describes. */
ab_failure_kind ab_failure_kind_of(const ab_error *err);

/* After a failure: the milliseconds to wait before trying again, or -1 to
 * give up (a permanent failure, retries used up, or a Retry-After longer
 * than the longest wait). Counts the failure. */
long long ab_retry_next(ab_retry *r, const ab_error *err);

/* Counts a failure that is worth repeating whatever its kind (e.g. a TUS
 * offset conflict that a HEAD resolves): the backoff to wait, or -1 when
 * the retries are used up. */
long long ab_retry_backoff(ab_retry *r);

/* Sleeps ms milliseconds (restarting after signals) and adds them to
 * r->waited_ms. */
void ab_retry_wait(ab_retry *r, long long ms);

/* Turns the last error of an operation that was given up into what the
 * client should see: errno by kind (429 EAGAIN, timeout ETIMEDOUT,
 * transport EHOSTDOWN, 5xx EIO; permanent errors unchanged) and a message
 * that says how many attempts were made. */
void ab_retry_give_up(const ab_retry *r, ab_error *err);

#endif
