/* ab_download.c - pull-style streamed download over libcurl's multi
 * interface (see ab_download_open in ab_broker.h).
 *
 * Why multi: the gateway asks for bytes (SFTP READ) at its own pace, while
 * libcurl pushes bytes through a callback. The write callback fills a
 * bounded buffer and pauses the transfer when it is full; ab_download_read
 * drains it and unpauses. Memory stays at the buffer size for any file
 * size, and TCP flow control slows the server down meanwhile.
 *
 * Who drives the transfer: the session's thread, until the reply's headers
 * are in and checked; then a helper thread (ab_multi_thread), so that the
 * receiving and TLS decryption of the next bytes run beside the session's
 * SSH work instead of between its READs. The buffer is shared under d->mu;
 * the reader waits on d->cv when it is empty. The reader never takes the
 * multi handle from the helper while the body flows: it asks for a resume
 * with curl_multi_wakeup and the helper resumes in its tick (a hand-over
 * would wait for the helper to be scheduled, at every resume). If no
 * thread can be started the reader pumps the transfer itself, as in the
 * header phase.
 */
#include "ab_broker.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ab_broker_internal.h"
#include "ab_broker_wire.h"
#include "ab_http_internal.h"
#include "ab_maskinporten.h"
#include "ab_multi_thread.h"
#include "ab_problem.h"

#define AB_DL_BUFFER ((size_t)1024 * 1024)  /* body bytes held at most */
#define AB_DL_ERRBODY_MAX ((size_t)64 * 1024) /* error reply bytes kept */
/* A paused transfer is resumed once this much room is free: not per READ,
 * so that the helper receives in bursts. */
#define AB_DL_RESUME_ROOM (AB_DL_BUFFER / 2)
#define AB_DL_WAIT_MS 1000 /* how often a waiting reader checks the helper */

struct ab_download {
  CURL *easy;
  CURLM *multi;
  struct curl_slist *headers;
  char *url;
  char id[AB_ID_LEN];
  char errbuf[CURL_ERROR_SIZE];
  ab_http_response resp;   /* status, captured headers, error body */
  size_t errbody_cap;
  ab_multi_thread *helper; /* drives the body once the headers are checked */
  pthread_mutex_t mu;      /* guards buf, head, len, paused, done, result, received */
  pthread_cond_t cv;       /* bytes arrived or the transfer ended */
  int resume_asked;        /* the helper was woken to resume (under mu) */
  /* Fields below up to pos: shared with the helper, under mu. */
  unsigned char *buf;      /* body bytes not yet read: buf[head, head+len) */
  size_t head;
  size_t len;
  int paused;              /* the write callback returned PAUSE */
  int headers_done;        /* final (non-1xx) header block complete */
  int done;                /* transfer finished (result valid) */
  CURLcode result;
  off_t received;          /* body bytes received so far */
  off_t pos;               /* offset of the next byte returned */
  off_t expected;          /* Content-Length of this body, -1 if unknown */
  off_t total;             /* size of the whole file, -1 if unknown */
  int failed;              /* err holds a sticky failure */
  ab_error err;
};

static int is_2xx(long status) {
  return status >= 200 && status < 300;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp) {
  ab_download *d = userp;
  size_t n = size * nmemb;
  if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    const char *sp = memchr(data, ' ', n);
    d->resp.status = sp != NULL ? strtol(sp + 1, NULL, 10) : 0;
    d->headers_done = 0;
  } else if ((n == 2 && data[0] == '\r') || (n == 1 && data[0] == '\n')) {
    if (d->resp.status >= 200) {
      d->headers_done = 1;
    }
  }
  ab_http_capture_header(&d->resp, data, n);
  return n;
}

/* Keeps the start of an error reply for ProblemDetails parsing. */
static void keep_error_body(ab_download *d, const char *data, size_t n) {
  ab_http_response *r = &d->resp;
  size_t room = AB_DL_ERRBODY_MAX - r->body_len;
  if (n > room) {
    n = room;
  }
  if (n == 0) {
    return;
  }
  if (r->body_len + n + 1 > d->errbody_cap) {
    char *b = realloc(r->body, AB_DL_ERRBODY_MAX + 1);
    if (b == NULL) {
      return;
    }
    r->body = b;
    d->errbody_cap = AB_DL_ERRBODY_MAX + 1;
  }
  memcpy(r->body + r->body_len, data, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *userp) {
  ab_download *d = userp;
  size_t n = size * nmemb;
  if (!is_2xx(d->resp.status)) {
    keep_error_body(d, data, n); /* only before the helper starts */
    return n;
  }
  pthread_mutex_lock(&d->mu);
  if (n > AB_DL_BUFFER - d->len) {
    /* Full: libcurl keeps this chunk and delivers it again after unpause. */
    d->paused = 1;
    pthread_mutex_unlock(&d->mu);
    return CURL_WRITEFUNC_PAUSE;
  }
  if (d->head + d->len + n > AB_DL_BUFFER) {
    memmove(d->buf, d->buf + d->head, d->len);
    d->head = 0;
  }
  memcpy(d->buf + d->head + d->len, data, n);
  d->len += n;
  d->received += (off_t)n;
  pthread_cond_signal(&d->cv);
  pthread_mutex_unlock(&d->mu);
  return n;
}

/* Records the end of the transfer (once); call with mu held. */
static void set_done(ab_download *d, CURLcode result) {
  if (!d->done) {
    d->done = 1;
    d->result = result;
    pthread_cond_signal(&d->cv);
  }
}

/* A finished transfer, as curl_multi_info_read reports it (on the helper,
 * or in pump). */
static void on_transfer_done(CURLMsg *m, void *ctx) {
  ab_download *d = ctx;
  if (m->msg == CURLMSG_DONE && m->easy_handle == d->easy) {
    pthread_mutex_lock(&d->mu);
    set_done(d, m->data.result);
    pthread_mutex_unlock(&d->mu);
  }
}

/* Records that driving the transfer failed (mc); call with mu held. */
static void set_multi_failed(ab_download *d, CURLMcode mc) {
  if (!d->done) {
    snprintf(d->errbuf, sizeof(d->errbuf), "%s", curl_multi_strerror(mc));
    set_done(d, CURLE_RECV_ERROR);
  }
}

/* One round of transfer work on the caller's thread (no helper). Waits (up
 * to a second) for the socket only when the round produced nothing for
 * the reader: with bytes buffered, the transfer paused or the headers just
 * completed there is nothing to wait for, and polling would sleep the full
 * timeout. */
static void pump(ab_download *d) {
  int running = 0;
  int had_headers = d->headers_done;
  CURLMcode mc = curl_multi_perform(d->multi, &running);
  CURLMsg *m;
  int left = 0;
  while (mc == CURLM_OK && (m = curl_multi_info_read(d->multi, &left)) != NULL) {
    on_transfer_done(m, d);
  }
  pthread_mutex_lock(&d->mu);
  int progress = d->len > 0 || d->paused || d->headers_done != had_headers || d->done;
  pthread_mutex_unlock(&d->mu);
  if (mc == CURLM_OK && running > 0 && !progress) {
    mc = curl_multi_poll(d->multi, NULL, 0, AB_DL_WAIT_MS, NULL);
  }
  if (mc != CURLM_OK) {
    pthread_mutex_lock(&d->mu);
    set_multi_failed(d, mc);
    pthread_mutex_unlock(&d->mu);
  }
}

/* Lets libcurl deliver again, on the thread that drives the transfer;
 * call without mu held (libcurl may call on_data right away with the
 * held-back chunk, and pause again). */
static void unpause(ab_download *d) {
  pthread_mutex_lock(&d->mu);
  int was_paused = d->paused;
  d->paused = 0;
  d->resume_asked = 0;
  pthread_mutex_unlock(&d->mu);
  CURLcode rc = was_paused ? curl_easy_pause(d->easy, CURLPAUSE_CONT) : CURLE_OK;
  if (rc != CURLE_OK) {
    pthread_mutex_lock(&d->mu);
    set_done(d, rc);
    pthread_mutex_unlock(&d->mu);
  }
}

/* The helper's tick: a resume the reader asked for. */
static void on_helper_tick(void *ctx) {
  ab_download *d = ctx;
  pthread_mutex_lock(&d->mu);
  int asked = d->resume_asked;
  pthread_mutex_unlock(&d->mu);
  if (asked) {
    unpause(d);
  }
}

/* Has the paused transfer resumed: at once without a helper, else by the
 * helper after a wakeup. Call with mu held. */
static void resume(ab_download *d) {
  if (d->helper == NULL) {
    pthread_mutex_unlock(&d->mu);
    unpause(d);
    pthread_mutex_lock(&d->mu);
  } else if (!d->resume_asked) {
    d->resume_asked = 1;
    curl_multi_wakeup(d->multi);
  }
}

/* Waits until bytes arrive or the transfer ends; call with mu held. */
static void wait_for_bytes(ab_download *d) {
  if (d->helper == NULL) {
    pthread_mutex_unlock(&d->mu);
    pump(d);
    pthread_mutex_lock(&d->mu);
    return;
  }
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += AB_DL_WAIT_MS / 1000;
  if (pthread_cond_timedwait(&d->cv, &d->mu, &until) != ETIMEDOUT) {
    return;
  }
  /* Quiet for a while: libcurl's own timeouts end a stalled transfer, but
   * a helper that failed to drive the handle reports nothing. */
  pthread_mutex_unlock(&d->mu);
  ab_multi_thread_lock(d->helper);
  CURLMcode mc = ab_multi_thread_failure(d->helper);
  ab_multi_thread_unlock(d->helper);
  pthread_mutex_lock(&d->mu);
  if (mc != CURLM_OK) {
    set_multi_failed(d, mc);
  }
}

void ab_download_close(ab_download *d) {
  if (d == NULL) {
    return;
  }
  ab_multi_thread_stop(d->helper);
  if (d->multi != NULL && d->easy != NULL) {
    curl_multi_remove_handle(d->multi, d->easy);
  }
  if (d->easy != NULL) {
    curl_easy_cleanup(d->easy);
  }
  if (d->multi != NULL) {
    curl_multi_cleanup(d->multi);
  }
  curl_slist_free_all(d->headers);
  ab_http_response_clear(&d->resp);
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->cv);
  free(d->buf);
  free(d->url);
  free(d);
}

/* Creates the transfer state and starts the request (nothing is sent until
 * the first pump). */
static ab_download *start(ab_broker *b, const char *url, const char *id,
                          off_t offset, ab_error *err) {
  ab_download *d = calloc(1, sizeof(*d));
  if (d == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&d->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* waits ignore clock changes */
  pthread_cond_init(&d->cv, &ca);
  pthread_condattr_destroy(&ca);
  if ((d->url = strdup(url)) == NULL || (d->buf = malloc(AB_DL_BUFFER)) == NULL) {
    ab_download_close(d);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  snprintf(d->id, sizeof(d->id), "%s", id);
  d->pos = offset;
  d->expected = -1;
  d->total = -1;
  char *auth = ab_broker_auth_header(b, "download", err);
  if (auth == NULL) {
    ab_download_close(d);
    return NULL;
  }
  char range[64];
  snprintf(range, sizeof(range), "Range: bytes=%jd-", (intmax_t)offset);
  const char *hdrs[] = { auth, offset > 0 ? range : NULL, NULL };
  d->headers = ab_http_header_list(hdrs);
  ab_secret_free(auth);
  d->easy = curl_easy_init();
  d->multi = curl_multi_init();
  if (d->headers == NULL || d->easy == NULL || d->multi == NULL) {
    ab_download_close(d);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  if (ab_http_configure_easy(b->http, d->easy, d->errbuf, err) != 0) {
    ab_download_close(d);
    return NULL;
  }
  CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(d->easy, opt, val); } while (0)
  SET(CURLOPT_URL, d->url);
  SET(CURLOPT_HTTPGET, 1L);
  SET(CURLOPT_HTTPHEADER, d->headers);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, d);
  SET(CURLOPT_WRITEFUNCTION, on_data);
  SET(CURLOPT_WRITEDATA, d);
#undef SET
  if (rc != CURLE_OK || curl_multi_add_handle(d->multi, d->easy) != CURLM_OK) {
    ab_download_close(d);
    ab_error_set(err, EIO, "cannot set up the download: %s", curl_easy_strerror(rc));
    return NULL;
  }
  return d;
}

/* Parses "bytes a-b/total" (total may be "*"); -1 when it is not that. */
static int parse_content_range(const char *v, off_t *start, off_t *total) {
  long long a, b;
  char tot[32];
  if (sscanf(v, "bytes %lld-%lld/%31s", &a, &b, tot) != 3 || a < 0 || b < a) {
    return -1;
  }
  *start = (off_t)a;
  *total = -1;
  if (strcmp(tot, "*") != 0) {
    char *end = NULL;
    long long t = strtoll(tot, &end, 10);
    if (*end != '\0' || t <= b) {
      return -1;
    }
    *total = (off_t)t;
  }
  return 0;
}

/* 1 when the reply is a 416 to our open-ended "bytes=offset-" range. Such
 * a range is unsatisfiable only when offset >= the file size, so this is a
 * read at or past the end: an empty stream, as pread() would give. The
 * Broker's 416 ProblemDetails carries no Content-Range; if a server sends
 * the RFC 9110 form with the total size, that size is kept. */
static int range_past_end(ab_download *d, off_t offset) {
  if (d->resp.status != 416 || offset <= 0) {
    return 0;
  }
  long long total = -1;
  if (sscanf(d->resp.content_range, "bytes */%lld", &total) == 1 && total >= 0 &&
      total <= (long long)offset) {
    d->total = (off_t)total;
  }
  return 1;
}

/* Checks a 2xx reply against what was asked for. */
static int check_success(ab_download *d, off_t offset, ab_error *err) {
  curl_off_t cl = -1;
  curl_easy_getinfo(d->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
  d->expected = cl >= 0 ? (off_t)cl : -1;
  if (d->resp.status == 206) {
    off_t start = -1, total = -1;
    if (parse_content_range(d->resp.content_range, &start, &total) != 0 || start != offset) {
      return ab_error_set_http(err, EIO, 206, NULL,
                               "download of %s: Broker answered range %jd- with "
                               "Content-Range \"%.60s\"", d->id, (intmax_t)offset,
                               d->resp.content_range);
    }
    d->total = total;
    return 0;
  }
  if (offset > 0) {
    /* A 200 would restart at byte 0: never hand those bytes out as if they
     * were at offset. */
    return ab_error_set_http(err, EIO, (int)d->resp.status, NULL,
                             "download of %s: Broker ignored the Range request for offset %jd "
                             "(HTTP %ld)", d->id, (intmax_t)offset, d->resp.status);
  }
  d->total = d->expected;
  return 0;
}

int ab_download_open(ab_broker *b, const char *id, off_t offset,
                     ab_download **out, ab_error *err) {
  *out = NULL;
  if (offset < 0) {
    return ab_error_set(err, EINVAL, "negative download offset");
  }
  char *url = ab_broker_url(b->base_url, id, "/download", err);
  if (url == NULL) {
    return -1;
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    ab_download *d = start(b, url, id, offset, err);
    if (d == NULL) {
      break;
    }
    while (!d->headers_done && !d->done) {
      pump(d);
    }
    if (!d->headers_done) {
      ab_http_transport_error(err, "GET", url, d->result, d->errbuf);
      ab_error_prefix(err, "download of %s", id);
      ab_download_close(d);
      break;
    }
    if (is_2xx(d->resp.status)) {
      if (check_success(d, offset, err) != 0) {
        ab_download_close(d);
        break;
      }
      if (!d->done) {
        d->helper = ab_multi_thread_start(d->multi, on_transfer_done, on_helper_tick, d);
      }
      free(url);
      *out = d;
      return 0;
    }
    /* Error reply: read its (bounded) body to the end for the details. */
    while (!d->done) {
      pump(d);
    }
    if (range_past_end(d, offset)) {
      d->expected = 0;
      d->received = 0;
      d->result = CURLE_OK;
      d->resp.status = 206; /* an empty, successful read at EOF */
      free(url);
      *out = d;
      return 0;
    }
    if (attempt == 0 && ab_broker_token_rejected(&d->resp)) {
      ab_auth_invalidate(b->auth);
      ab_download_close(d);
      continue;
    }
    ab_problem_set_error(err, "download", &d->resp);
    ab_download_close(d);
    break;
  }
  free(url);
  return -1;
}

/* Records why the stream ended badly (after all body bytes were handed
 * out), so the failure is reported instead of a short read. */
static void finish(ab_download *d) {
  if (d->result != CURLE_OK) {
    ab_http_transport_error(&d->err, "GET", d->url, d->result, d->errbuf);
    ab_error_prefix(&d->err, "download of %s broke off at byte %jd", d->id,
                    (intmax_t)(d->pos));
    d->failed = 1;
  } else if (d->expected >= 0 && d->received != d->expected) {
    ab_error_set(&d->err, EIO, "download of %s ended after %jd of %jd bytes", d->id,
                 (intmax_t)d->received, (intmax_t)d->expected);
    d->failed = 1;
  }
}

ssize_t ab_download_read(ab_download *d, void *buf, size_t len, ab_error *err) {
  if (d->failed) {
    if (err != NULL) {
      *err = d->err;
    }
    return -1;
  }
  if (len > SSIZE_MAX) {
    len = SSIZE_MAX;
  }
  unsigned char *dst = buf;
  size_t got = 0;
  pthread_mutex_lock(&d->mu);
  while (got < len) {
    if (d->len > 0) {
      size_t n = d->len < len - got ? d->len : len - got;
      memcpy(dst + got, d->buf + d->head, n);
      d->head += n;
      d->len -= n;
      got += n;
      d->pos += (off_t)n;
      if (d->len == 0) {
        d->head = 0;
      }
      continue;
    }
    if (d->done) {
      break;
    }
    if (d->paused) {
      resume(d);
      if (d->helper == NULL) {
        continue;
      }
    }
    wait_for_bytes(d);
  }
  /* Let the transfer go on (on the helper, or in the next pump) while the
   * session sends these bytes, once there is room for a good part of a
   * buffer again. */
  if (d->paused && !d->done && AB_DL_BUFFER - d->len >= AB_DL_RESUME_ROOM) {
    resume(d);
  }
  int ended = got < len && d->done && d->len == 0;
  pthread_mutex_unlock(&d->mu);
  if (ended) {
    finish(d);
    if (d->failed && got == 0) {
      if (err != NULL) {
        *err = d->err;
      }
      return -1;
    }
  }
  return (ssize_t)got;
}

off_t ab_download_position(const ab_download *d) {
  return d->pos;
}

off_t ab_download_total(const ab_download *d) {
  return d->total;
}
