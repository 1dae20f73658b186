/* ab_tus.c - TUS client for Broker uploads (see ab_tus.h).
 *
 * Creating uploads, HEAD and the final concatenation are short requests
 * made one at a time through ab_broker_call. PATCHes, which carry the
 * bytes, run on a libcurl multi handle that lives as long as the upload:
 * an easy handle per partial upload while it sends, at most `parallel` at
 * once, so several parts travel side by side from one thread and reuse the
 * multi handle's connections. A part that fails waits out its backoff and
 * asks the Broker (HEAD) where to continue before its next PATCH.
 *
 * One engine serves both uses: a spooled file (every part planned at the
 * start, run until done) and a file still being written (parts created as
 * whole ranges become ready, moved on without blocking between WRITEs).
 * While a file is written, a helper thread (ab_multi_thread) drives the
 * PATCHes, so the session's thread only receives and writes; this file's
 * logic stays on the session's thread, which takes the multi handle at
 * each pump, and the helper is stopped before the blocking finish.
 */
#include "ab_tus.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "ab_broker_internal.h"
#include "ab_broker_wire.h"
#include "ab_http_internal.h"
#include "ab_maskinporten.h"
#include "ab_multi_thread.h"
#include "ab_problem.h"
#include "ab_retry.h"

#define TUS_RESUMABLE "Tus-Resumable: 1.0.0"
#define ERRBODY_MAX ((size_t) 16 * 1024)

/* PART_FINISHED: its PATCH ended (result), not yet looked at. */
enum part_state { PART_READY, PART_RUNNING, PART_FINISHED, PART_WAITING, PART_DONE };

typedef struct tus_part {
  char *url;               /* absolute URL of this upload */
  char *location;          /* as the Broker named it (for Upload-Concat: final) */
  long long start;         /* first byte of the file in this part */
  long long length;
  long long offset;        /* bytes of the part the Broker confirmed */
  enum part_state state;
  long long wake_ms;       /* PART_WAITING until then */
  int need_head;           /* ask the Broker for the offset before the next PATCH */
  int token_retried;       /* a fresh token was tried since the last success */
  ab_retry retry;
  /* the running PATCH */
  int fd;                  /* the spool */
  atomic_llong *sent_upto; /* the upload's high-water mark of bytes read */
  CURL *easy;
  CURLcode result;         /* of the PATCH, once PART_FINISHED */
  struct curl_slist *headers;
  char *auth;
  off_t src_next;
  long long src_left;
  int read_errno;
  ab_http_response resp;
  char errbuf[CURL_ERROR_SIZE];
} tus_part;

struct ab_tus_stream {
  ab_broker *b;
  const ab_upload_cfg *cfg;
  char *url;               /* the transfer's TUS endpoint */
  int fd;
  tus_part **parts;
  int n_parts, cap_parts;
  long long planned;       /* [0, planned) belongs to created parts */
  atomic_llong sent_upto;  /* the highest byte any PATCH read (or is reading) from fd */
  CURLM *multi;
  ab_multi_thread *sender; /* drives multi while the file is written; NULL: we do */
  int failed;              /* a pump gave up: no sending until finish retries */
  ab_error failure;
  ab_tus_report report;
};
typedef struct ab_tus_stream tus_upload;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ab_tus_part_count(long long size, const ab_upload_cfg *cfg) {
  long long per_part = 4 * cfg->chunk;
  long long n = per_part > 0 ? size / per_part : 1;
  if (n > cfg->parallel) n = cfg->parallel;
  return n < 1 ? 1 : (int) n;
}

/* "https://host:port" of url (the part before the path). */
static size_t origin_len(const char *url) {
  const char *p = strstr(url, "://");
  if (p == NULL) {
    return 0;
  }
  const char *slash = strchr(p + 3, '/');
  return slash ? (size_t) (slash - url) : strlen(url);
}

/* The absolute URL of a Location header. A Location on another origin is
 * refused: the bearer token would go with the next request. */
static char *resolve_location(const char *base, const char *location, ab_error *err) {
  size_t olen = origin_len(base);
  char *url = NULL;
  if (location[0] == '/') {
    if (asprintf(&url, "%.*s%s", (int) olen, base, location) < 0) url = NULL;
  } else if (olen > 0 && strncmp(location, base, olen) == 0 && location[olen] == '/') {
    url = strdup(location);
  } else {
    ab_error_set(err, EIO, "the Broker named the upload location \"%.100s\", which is not on %.*s",
                 location, (int) olen, base);
    return NULL;
  }
  if (url == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
  }
  return url;
}

/* POST to the TUS endpoint: creates a single upload (concat NULL), a
 * partial one ("partial") or the final concatenation ("final;..."). */
static int tus_create(tus_upload *u, const char *url, long long length, const char *concat,
                      char **location_out, ab_error *err) {
  char len_hdr[64], *concat_hdr = NULL;
  snprintf(len_hdr, sizeof(len_hdr), "Upload-Length: %lld", length);
  if (concat != NULL && asprintf(&concat_hdr, "Upload-Concat: %s", concat) < 0) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  ab_broker_req req;
  ab_broker_req_init(&req, "upload (TUS create)", "POST", url);
  req.unpaced = 1;
  req.content_type = "Content-Type:"; /* no body: drop libcurl's form default */
  size_t n = 0;
  req.extra_headers[n++] = TUS_RESUMABLE;
  if (concat == NULL || strcmp(concat, "partial") == 0) {
    req.extra_headers[n++] = len_hdr;
  }
  if (concat_hdr != NULL) {
    req.extra_headers[n++] = concat_hdr;
  }
  ab_http_response resp;
  int rc = ab_broker_call(u->b, &req, &resp, err);
  free(concat_hdr);
  if (rc == 0) {
    if (resp.location[0] == '\0') {
      rc = ab_error_set(err, EIO, "the Broker created a TUS upload without naming its location");
    } else {
      *location_out = strdup(resp.location);
      rc = *location_out ? 0 : ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  ab_http_response_clear(&resp);
  return rc;
}

/* HEAD: the offset the Broker holds for a part. */
static int tus_head(tus_upload *u, tus_part *p, ab_error *err) {
  ab_broker_req req;
  ab_broker_req_init(&req, "upload (TUS HEAD)", "HEAD", p->url);
  req.unpaced = 1;
  req.extra_headers[0] = TUS_RESUMABLE;
  ab_http_response resp;
  if (ab_broker_call(u->b, &req, &resp, err) < 0) {
    return -1;
  }
  char *end = NULL;
  long long off = strtoll(resp.upload_offset, &end, 10);
  int rc = 0;
  if (resp.upload_offset[0] == '\0' || *end != '\0' || off < 0 || off > p->length) {
    rc = ab_error_set(err, EIO, "the Broker answered HEAD without a valid Upload-Offset (\"%.30s\")",
                      resp.upload_offset);
  } else {
    p->offset = off;
  }
  ab_http_response_clear(&resp);
  return rc;
}

/* Body of a PATCH: the part's next bytes, read from the spool. */
static size_t on_read(char *buf, size_t size, size_t nitems, void *userp) {
  tus_part *p = userp;
  size_t want = size * nitems;
  if ((long long) want > p->src_left) {
    want = (size_t) p->src_left;
  }
  if (want == 0) {
    return 0;
  }
  /* Announced before reading: the session's thread checks it after each
   * write, so a write it lets pass cannot be torn by this read. */
  long long end = (long long) p->src_next + (long long) want;
  if (end > atomic_load(p->sent_upto)) {
    atomic_store(p->sent_upto, end);
  }
  ssize_t n;
  do {
    n = pread(p->fd, buf, want, p->src_next);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    p->read_errno = n < 0 ? errno : EIO;
    return CURL_READFUNC_ABORT;
  }
  p->src_next += n;
  p->src_left -= n;
  return (size_t) n;
}

/* Keeps the start of an error reply (for ProblemDetails). */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
  ab_http_response *r = userp;
  size_t n = size * nmemb;
  size_t room = ERRBODY_MAX - r->body_len;
  size_t keep = n < room ? n : room;
  if (keep > 0) {
    char *grown = realloc(r->body, r->body_len + keep + 1);
    if (grown == NULL) {
      return 0;
    }
    r->body = grown;
    memcpy(r->body + r->body_len, data, keep);
    r->body_len += keep;
    r->body[r->body_len] = '\0';
  }
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp) {
  ab_http_capture_header(userp, data, size * nmemb);
  return size * nmemb;
}

static void patch_cleanup(tus_part *p) {
  curl_slist_free_all(p->headers);
  p->headers = NULL;
  ab_secret_free(p->auth);
  p->auth = NULL;
  ab_http_response_clear(&p->resp);
}

/* Starts the next PATCH of part p on multi. */
static int patch_start(tus_upload *u, tus_part *p, ab_error *err) {
  long long len = p->length - p->offset;
  if (len > u->cfg->chunk) {
    len = u->cfg->chunk;
  }
  if (p->easy == NULL && (p->easy = curl_easy_init()) == NULL) {
    return ab_error_set(err, ENOMEM, "cannot create an HTTP handle");
  }
  curl_easy_reset(p->easy);
  if (ab_http_configure_easy(u->b->http, p->easy, p->errbuf, err) < 0) {
    return -1;
  }
  p->auth = ab_broker_bearer(u->b, "upload (TUS PATCH)", err);
  if (p->auth == NULL) {
    return -1;
  }
  char off_hdr[64];
  snprintf(off_hdr, sizeof(off_hdr), "Upload-Offset: %lld", p->offset);
  const char *hdrs[] = {
    p->auth, TUS_RESUMABLE, off_hdr, "Content-Type: application/offset+octet-stream", NULL
  };
  p->headers = ab_http_header_list(hdrs);
  if (p->headers == NULL) {
    patch_cleanup(p);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  memset(&p->resp, 0, sizeof(p->resp));
  p->src_next = (off_t) (p->start + p->offset);
  p->src_left = len;
  p->read_errno = 0;
  CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(p->easy, opt, val); } while (0)
  SET(CURLOPT_URL, p->url);
  SET(CURLOPT_UPLOAD, 1L);
  SET(CURLOPT_CUSTOMREQUEST, "PATCH");
  SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t) len);
  SET(CURLOPT_READFUNCTION, on_read);
  SET(CURLOPT_READDATA, p);
  SET(CURLOPT_HTTPHEADER, p->headers);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, &p->resp);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, &p->resp);
  SET(CURLOPT_PRIVATE, p);
#undef SET
  if (rc != CURLE_OK || curl_multi_add_handle(u->multi, p->easy) != CURLM_OK) {
    patch_cleanup(p);
    return ab_error_set(err, EIO, "cannot start a PATCH: %s", curl_easy_strerror(rc));
  }
  p->state = PART_RUNNING;
  return 0;
}

/* A failure of part p: wait and resync, or give up (-1 with err).
 * resync: a conflict a HEAD resolves, worth repeating whatever its status. */
static int part_failed(tus_upload *u, tus_part *p, int resync, ab_error *err) {
  long long wait = resync ? ab_retry_backoff(&p->retry) : ab_retry_next(&p->retry, err);
  if (wait < 0) {
    ab_retry_give_up(&p->retry, err);
    return -1;
  }
  u->report.resumes++;
  u->report.waited_ms += wait;
  p->state = PART_WAITING;
  p->wake_ms = now_ms() + wait;
  p->need_head = 1;
  return 0;
}

/* A PATCH finished (result from libcurl, status in p->resp). */
static int patch_done(tus_upload *u, tus_part *p, CURLcode result, ab_error *err) {
  long status = 0;
  curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE, &status);
  p->resp.status = status;
  p->state = PART_READY;
  if (result == CURLE_OK && status == 204) {
    char *end = NULL;
    long long off = strtoll(p->resp.upload_offset, &end, 10);
    if (p->resp.upload_offset[0] == '\0' || *end != '\0' || off < p->offset || off > p->length) {
      p->need_head = 1; /* an odd answer: ask instead of guessing */
    } else {
      p->offset = off;
    }
    p->token_retried = 0;
    p->retry.failures = 0; /* progress renews the budget */
    if (p->offset == p->length) {
      p->state = PART_DONE;
    }
    patch_cleanup(p);
    return 0;
  }
  if (result != CURLE_OK) {
    if (p->read_errno != 0) {
      ab_error_set(err, EIO, "cannot read the spool file: %s", strerror(p->read_errno));
      patch_cleanup(p);
      return -1;
    }
    ab_http_transport_error(err, "PATCH", p->url, result, p->errbuf);
  } else if (!p->token_retried && ab_broker_token_rejected(&p->resp)) {
    p->token_retried = 1;
    ab_auth_invalidate(u->b->auth);
    patch_cleanup(p);
    return 0;
  } else {
    ab_problem_set_error(err, "upload (TUS PATCH)", &p->resp);
  }
  patch_cleanup(p);
  /* 409: offset mismatch, or a PATCH of our earlier (dropped) connection
   * still running on the Broker's side: a HEAD after a wait resolves it. */
  return part_failed(u, p, result == CURLE_OK && status == 409, err);
}

/* libcurl reports a PATCH's end (on whichever thread drives multi); it is
 * looked at by the next step, on the session's thread. */
static void patch_ended(CURLMsg *msg, void *ctx) {
  tus_upload *u = ctx;
  if (msg->msg != CURLMSG_DONE) {
    return;
  }
  tus_part *p = NULL;
  curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &p);
  p->result = msg->data.result; /* msg is gone once the handle is removed */
  curl_multi_remove_handle(u->multi, msg->easy_handle);
  p->state = PART_FINISHED;
}

/* Moves every part on once: starts PATCHes (at most cfg->parallel
 * running), lets libcurl send and handles the PATCHes that finished. With
 * block, waits for progress (up to 1 s, or until a backoff ends); without,
 * returns as soon as the sockets would block. With a sender thread, only
 * starts and settles PATCHes (the caller holds multi). Returns 1 once every
 * part is done, 0 while some are not, -1 with err when one gave up. */
static int step(tus_upload *u, int block, ab_error *err) {
  if (u->sender != NULL && ab_multi_thread_failure(u->sender) != CURLM_OK) {
    return ab_error_set(err, EIO, "HTTP multi interface failed: %s",
                        curl_multi_strerror(ab_multi_thread_failure(u->sender)));
  }
  int running = 0, done = 0;
  for (int i = 0; i < u->n_parts; i++) {
    tus_part *p = u->parts[i];
    if (p->state == PART_FINISHED && patch_done(u, p, p->result, err) < 0) {
      return -1;
    }
    running += p->state == PART_RUNNING;
  }
  long long next_wake = -1, now = now_ms();
  for (int i = 0; i < u->n_parts; i++) {
    tus_part *p = u->parts[i];
    if (p->state == PART_WAITING && now >= p->wake_ms) {
      p->state = PART_READY;
    }
    if (p->state == PART_READY && running < u->cfg->parallel) {
      if (p->need_head) {
        if (tus_head(u, p, err) < 0) {
          if (part_failed(u, p, 0, err) < 0) return -1;
          continue;
        }
        p->need_head = 0;
      }
      if (p->offset >= p->length) {
        p->state = PART_DONE;
      } else if (patch_start(u, p, err) == 0) {
        running++;
      } else if (part_failed(u, p, 0, err) < 0) {
        return -1;
      }
    }
    if (p->state == PART_DONE && p->easy != NULL) {
      curl_easy_cleanup(p->easy); /* its connection stays with the multi handle */
      p->easy = NULL;
    }
    done += p->state == PART_DONE;
    if (p->state == PART_WAITING && (next_wake < 0 || p->wake_ms < next_wake)) {
      next_wake = p->wake_ms;
    }
  }
  if (done == u->n_parts) {
    return 1;
  }
  if (u->sender != NULL) {
    return 0;
  }
  if (running == 0) {
    long long ms = next_wake - now_ms();
    if (block && ms > 0) {
      struct timespec ts = { (time_t) (ms / 1000), (long) (ms % 1000) * 1000000L };
      nanosleep(&ts, NULL);
    }
    return 0;
  }
  int still = 0;
  CURLMcode mc = curl_multi_perform(u->multi, &still);
  if (mc == CURLM_OK && block) {
    int timeout = 1000;
    if (next_wake >= 0 && next_wake - now_ms() < timeout) {
      timeout = next_wake - now_ms() > 0 ? (int) (next_wake - now_ms()) : 0;
    }
    mc = curl_multi_poll(u->multi, NULL, 0, timeout, NULL);
    if (mc == CURLM_OK) {
      mc = curl_multi_perform(u->multi, &still);
    }
  }
  if (mc != CURLM_OK) {
    return ab_error_set(err, EIO, "HTTP multi interface failed: %s", curl_multi_strerror(mc));
  }
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(u->multi, &left)) != NULL) {
    patch_ended(msg, u);
  }
  return 0;
}

/* Runs every part's PATCHes to completion. */
static int run_patches(tus_upload *u, ab_error *err) {
  int rc;
  while ((rc = step(u, 1, err)) == 0) {
  }
  return rc < 0 ? -1 : 0;
}

/* Repeats a short request (create, final) while its failure is worth
 * retrying. *ambiguous is set when an attempt may have been carried out
 * without our hearing the answer. */
static int create_with_retry(tus_upload *u, const char *url, long long length, const char *concat,
                             char **location, int *ambiguous, ab_error *err) {
  ab_retry r;
  ab_retry_init(&r, u->cfg);
  for (;;) {
    if (tus_create(u, url, length, concat, location, err) == 0) {
      return 0;
    }
    ab_failure_kind kind = ab_failure_kind_of(err);
    if (ambiguous != NULL && (kind == AB_FAILURE_TRANSPORT || kind == AB_FAILURE_TIMEOUT)) {
      *ambiguous = 1;
    }
    long long wait = ab_retry_next(&r, err);
    if (wait < 0) {
      ab_retry_give_up(&r, err);
      return -1;
    }
    u->report.waited_ms += wait;
    ab_retry_wait(&r, wait);
  }
}

/* Concatenates the parts (POST Upload-Concat: final;<loc> <loc>...). */
static int finish_concat(tus_upload *u, ab_error *err) {
  size_t len = 8;
  for (int i = 0; i < u->n_parts; i++) {
    len += strlen(u->parts[i]->location) + 1;
  }
  char *concat = malloc(len);
  if (concat == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  strcpy(concat, "final;");
  for (int i = 0; i < u->n_parts; i++) {
    if (i > 0) strcat(concat, " ");
    strcat(concat, u->parts[i]->location);
  }
  char *location = NULL;
  int ambiguous = 0;
  int rc = create_with_retry(u, u->url, 0, concat, &location, &ambiguous, err);
  free(concat);
  free(location);
  if (rc < 0 && ambiguous && err->http_status == 409) {
    /* An earlier final request got through although we lost its answer:
     * the Broker is already concatenating. */
    return 0;
  }
  return rc;
}

static tus_upload *upload_new(ab_broker *b, const char *id, int fd, const ab_upload_cfg *cfg,
                              ab_error *err) {
  if (!ab_broker_valid_id(id)) {
    ab_error_set(err, EINVAL, "\"%.40s\" is not a file transfer id", id);
    return NULL;
  }
  tus_upload *u = calloc(1, sizeof(*u));
  if (u == NULL || (u->multi = curl_multi_init()) == NULL) {
    free(u);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  u->b = b;
  u->cfg = cfg;
  u->fd = fd;
  atomic_init(&u->sent_upto, 0);
  char suffix[80];
  snprintf(suffix, sizeof(suffix), "/upload/tus/%s", id);
  if ((u->url = ab_broker_url(b->base_url, NULL, suffix, err)) == NULL) {
    ab_tus_stream_free(u);
    return NULL;
  }
  return u;
}

/* Creates the upload for fd[start, start + length): a partial one, or
 * with single the transfer's one upload. */
static int add_part(tus_upload *u, long long start, long long length, int single,
                    ab_error *err) {
  /* Parts are allocated one by one: libcurl holds pointers to them
   * (read callback, private) while more are added. */
  if (u->n_parts == u->cap_parts) {
    int cap = u->cap_parts ? 2 * u->cap_parts : 8;
    tus_part **grown = realloc(u->parts, (size_t) cap * sizeof(*grown));
    if (grown == NULL) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    u->parts = grown;
    u->cap_parts = cap;
  }
  tus_part *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  p->fd = u->fd;
  p->sent_upto = &u->sent_upto;
  p->start = start;
  p->length = length;
  ab_retry_init(&p->retry, u->cfg);
  int ambiguous = 0;
  int rc = create_with_retry(u, u->url, length, single ? NULL : "partial", &p->location,
                             &ambiguous, err);
  if (rc < 0 && single && ambiguous && err->http_status == 409) {
    /* The single upload was created by an attempt whose answer we lost;
     * its location is the transfer's TUS URL, and HEAD says where to go on. */
    p->location = strdup(u->url);
    p->need_head = 1;
    rc = p->location ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (rc == 0 && (p->url = resolve_location(u->b->base_url, p->location, err)) == NULL) {
    rc = -1;
  }
  if (rc < 0) {
    free(p->location);
    free(p);
    return -1;
  }
  u->parts[u->n_parts++] = p;
  u->planned = start + length;
  u->report.parts = u->n_parts;
  return 0;
}

/* The session's thread drives multi from here on. */
static void stop_sender(tus_upload *u) {
  ab_multi_thread_stop(u->sender);
  u->sender = NULL;
}

void ab_tus_stream_free(ab_tus_stream *u) {
  if (u == NULL) {
    return;
  }
  stop_sender(u);
  for (int i = 0; i < u->n_parts; i++) {
    tus_part *p = u->parts[i];
    if (p->state == PART_RUNNING) {
      curl_multi_remove_handle(u->multi, p->easy);
    }
    if (p->state == PART_RUNNING || p->state == PART_FINISHED) {
      patch_cleanup(p);
    }
    if (p->easy != NULL) {
      curl_easy_cleanup(p->easy);
    }
    free(p->url);
    free(p->location);
    free(p);
  }
  free(u->parts);
  if (u->multi != NULL) {
    curl_multi_cleanup(u->multi);
  }
  free(u->url);
  free(u);
}

int ab_tus_upload(ab_broker *b, const char *id, int fd, long long size,
                  const ab_upload_cfg *cfg, ab_tus_report *report, ab_error *err) {
  tus_upload *u = upload_new(b, id, fd, cfg, err);
  if (u == NULL) {
    return -1;
  }
  int n = ab_tus_part_count(size, cfg);
  /* Parts of whole chunks; the last one takes the rest. */
  long long per_part = size / n / cfg->chunk * cfg->chunk;
  int rc = 0;
  for (int i = 0; rc == 0 && i < n; i++) {
    long long start = (long long) i * per_part;
    rc = add_part(u, start, i == n - 1 ? size - start : per_part, n == 1, err);
  }
  if (rc == 0) {
    rc = run_patches(u, err);
  }
  if (rc == 0 && n > 1) {
    rc = finish_concat(u, err);
  }
  if (report != NULL) {
    *report = u->report;
  }
  ab_tus_stream_free(u);
  return rc;
}

/* Length of the k-th part of a file being written: one chunk, doubling
 * every 16 parts up to 64 chunks, so a 50 GB file needs ~130 parts and the
 * final request's Upload-Concat header stays near 15 KB (the Broker's
 * Kestrel takes 32 KB of headers), while what is left for CLOSE to send
 * stays a small share of any file. */
static long long stream_part_length(const ab_upload_cfg *cfg, int k) {
  int doublings = k / 16 < 6 ? k / 16 : 6;
  return cfg->chunk << doublings;
}

ab_tus_stream *ab_tus_stream_new(ab_broker *b, const char *id, int fd,
                                 const ab_upload_cfg *cfg, ab_error *err) {
  tus_upload *u = upload_new(b, id, fd, cfg, err);
  if (u != NULL) {
    /* Without a thread, the pumps drive the PATCHes themselves. */
    u->sender = ab_multi_thread_start(u->multi, patch_ended, NULL, u);
  }
  return u;
}

long long ab_tus_stream_sent_upto(const ab_tus_stream *u) {
  return atomic_load(&u->sent_upto);
}

int ab_tus_stream_pump(ab_tus_stream *u, long long ready, ab_error *err) {
  if (u->failed) {
    *err = u->failure;
    return -1;
  }
  int rc = 0;
  while (rc == 0 && u->planned + stream_part_length(u->cfg, u->n_parts) <= ready) {
    rc = add_part(u, u->planned, stream_part_length(u->cfg, u->n_parts), 0, err);
  }
  if (rc == 0 && u->n_parts > 0) {
    if (u->sender != NULL) ab_multi_thread_lock(u->sender);
    rc = step(u, 0, err) < 0 ? -1 : 0;
    if (u->sender != NULL) ab_multi_thread_unlock(u->sender);
  }
  if (rc < 0) {
    u->failed = 1;
    u->failure = *err;
  }
  return rc;
}

int ab_tus_stream_finish(ab_tus_stream *u, long long size, ab_tus_report *report,
                         ab_error *err) {
  /* The rest is sent blocking, as by ab_tus_upload: the session's thread
   * drives the PATCHes still running. */
  stop_sender(u);
  if (u->failed) {
    /* A part gave up while the client was writing, and sending paused.
     * CLOSE gives every unfinished part the whole retry budget again, as
     * the default mode would have at this point: a Broker that recovered
     * meanwhile gets the file. */
    for (int i = 0; i < u->n_parts; i++) {
      tus_part *p = u->parts[i];
      if (p->state == PART_READY || p->state == PART_WAITING) {
        ab_retry_init(&p->retry, u->cfg);
        p->state = PART_READY;
        p->need_head = 1;
      }
    }
    u->failed = 0;
  }
  int rc = ab_tus_stream_pump(u, size, err);
  if (rc == 0 && size < u->planned) {
    rc = ab_error_set(err, EINVAL, "the file shrank to %lld bytes after %lld were sent", size,
                      u->planned);
  }
  if (rc == 0 && (u->planned < size || u->n_parts == 0)) {
    rc = add_part(u, u->planned, size - u->planned, 0, err);
  }
  if (rc == 0) {
    rc = run_patches(u, err);
  }
  if (rc == 0) {
    rc = finish_concat(u, err);
  }
  if (report != NULL) {
    *report = u->report;
  }
  return rc;
}

void ab_tus_stream_abandon(ab_tus_stream *u) {
  if (u != NULL) {
    stop_sender(u);
  }
  for (int i = 0; u != NULL && i < u->n_parts; i++) {
    tus_part *p = u->parts[i];
    if (p->state == PART_RUNNING) {
      curl_multi_remove_handle(u->multi, p->easy);
    }
    if (p->state == PART_RUNNING || p->state == PART_FINISHED) {
      patch_cleanup(p);
      p->state = PART_READY;
    }
    /* TUS termination: the Broker need not keep bytes nobody will
     * concatenate. Best effort: the transfer itself cannot be cancelled
     * and expires unpublished. */
    ab_broker_req req;
    ab_broker_req_init(&req, "upload (TUS DELETE)", "DELETE", p->url);
    req.unpaced = 1;
    req.extra_headers[0] = TUS_RESUMABLE;
    ab_http_response resp;
    ab_error ignored;
    if (ab_broker_call(u->b, &req, &resp, &ignored) == 0) {
      ab_http_response_clear(&resp);
    }
  }
  ab_tus_stream_free(u);
}
