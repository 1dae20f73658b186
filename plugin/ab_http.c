/* ab_http.c - one reusable HTTPS context over a libcurl easy handle
 * (see ab_http.h).
 *
 * libcurl must have been initialised by the caller (curl_global_init) before
 * ab_http_new: global initialisation is not thread-safe and belongs to the
 * program, not to a library.
 */
#include "ab_http.h"
#include "ab_http_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

struct ab_http {
  CURL *curl;       /* reused: keeps the TLS connection to the Broker alive */
  CURLSH *share;    /* TLS sessions and DNS shared with download handles */
  /* The share's locks: a pipelined upload's PATCHes run on a helper
   * thread (ab_multi_thread) while this thread makes other requests. */
  pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
  char *ca_pem;     /* copy: the CA file is unreadable after chroot */
  size_t ca_pem_len;
  long connect_timeout_ms;
  long low_speed_timeout_s;
  int allow_plain_http;
  void (*observe)(void *ctx, const char *method, const char *url, long status,
                  double seconds);
  void *observe_ctx;
  void (*progress)(void *ctx, long long sent, long long total);
  void *progress_ctx;
  char errbuf[CURL_ERROR_SIZE];
};

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userp) {
  (void) handle; (void) access;
  ab_http *h = userp;
  pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userp) {
  (void) handle;
  ab_http *h = userp;
  pthread_mutex_unlock(&h->share_locks[data]);
}

ab_http *ab_http_new(const ab_http_options *opts) {
  ab_http *h = calloc(1, sizeof(*h));
  if (h == NULL) {
    return NULL;
  }
  h->connect_timeout_ms = 10000;
  h->low_speed_timeout_s = 60;
  if (opts != NULL) {
    if (opts->connect_timeout_ms > 0) {
      h->connect_timeout_ms = opts->connect_timeout_ms;
    }
    if (opts->low_speed_timeout_s > 0) {
      h->low_speed_timeout_s = opts->low_speed_timeout_s;
    }
    h->allow_plain_http = opts->allow_plain_http != 0;
    h->observe = opts->observe;
    h->observe_ctx = opts->observe_ctx;
    if (opts->ca_pem != NULL && opts->ca_pem_len > 0) {
      h->ca_pem = malloc(opts->ca_pem_len);
      if (h->ca_pem == NULL) {
        free(h);
        return NULL;
      }
      memcpy(h->ca_pem, opts->ca_pem, opts->ca_pem_len);
      h->ca_pem_len = opts->ca_pem_len;
    }
  }
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
    pthread_mutex_init(&h->share_locks[i], NULL);
  }
  h->curl = curl_easy_init();
  h->share = curl_share_init();
  if (h->curl == NULL || h->share == NULL ||
      curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
      curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
    ab_http_free(h);
    return NULL;
  }
  return h;
}

void ab_http_free(ab_http *h) {
  if (h == NULL) {
    return;
  }
  /* The easy handle must go before the share it uses. */
  if (h->curl != NULL) {
    curl_easy_cleanup(h->curl);
  }
  if (h->share != NULL) {
    curl_share_cleanup(h->share);
  }
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
    pthread_mutex_destroy(&h->share_locks[i]);
  }
  free(h->ca_pem);
  free(h);
}

void ab_http_set_progress(ab_http *h, void (*fn)(void *ctx, long long sent, long long total),
                          void *ctx) {
  h->progress = fn;
  h->progress_ctx = ctx;
}

static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  (void) dltotal; (void) dlnow;
  ab_http *h = userp;
  if (ultotal > 0) {
    h->progress(h->progress_ctx, (long long) ulnow, (long long) ultotal);
  }
  return 0;
}

void ab_http_response_clear(ab_http_response *resp) {
  if (resp == NULL) {
    return;
  }
  free(resp->body);
  memset(resp, 0, sizeof(*resp));
}

int ab_http_configure_easy(const ab_http *h, CURL *c, char *errbuf, ab_error *err) {
  CURLcode rc = CURLE_OK;
  errbuf[0] = '\0';
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
  SET(CURLOPT_ERRORBUFFER, errbuf);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_PROTOCOLS_STR, h->allow_plain_http ? "http,https" : "https");
  SET(CURLOPT_FOLLOWLOCATION, 0L);
  SET(CURLOPT_SSL_VERIFYPEER, 1L);
  SET(CURLOPT_SSL_VERIFYHOST, 2L);
  SET(CURLOPT_CONNECTTIMEOUT_MS, h->connect_timeout_ms);
  SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
  SET(CURLOPT_LOW_SPEED_TIME, h->low_speed_timeout_s);
  SET(CURLOPT_SHARE, h->share);
  if (h->ca_pem != NULL) {
    struct curl_blob blob = { h->ca_pem, h->ca_pem_len, CURL_BLOB_NOCOPY };
    SET(CURLOPT_CAINFO_BLOB, &blob);
    /* Trust exactly the configured bundle, inside and outside the chroot:
     * without this the distribution's CA directory would also be trusted
     * until the session chroots. */
    SET(CURLOPT_CAPATH, NULL);
  }
#undef SET
  if (rc != CURLE_OK) {
    return ab_error_set(err, EIO, "cannot configure HTTP handle: %s",
                        curl_easy_strerror(rc));
  }
  return 0;
}

struct curl_slist *ab_http_header_list(const char *const *headers) {
  struct curl_slist *list = curl_slist_append(NULL, "Expect:");
  if (list == NULL) {
    return NULL;
  }
  int has_accept = 0;
  for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
    if (strncasecmp(headers[i], "Accept:", 7) == 0) {
      has_accept = 1;
    }
    struct curl_slist *n = curl_slist_append(list, headers[i]);
    if (n == NULL) {
      curl_slist_free_all(list);
      return NULL;
    }
    list = n;
  }
  if (!has_accept) {
    /* libcurl would send a catch-all Accept; send only what the caller asked
     * for (the Broker checks Accept against what an endpoint produces). */
    struct curl_slist *n = curl_slist_append(list, "Accept:");
    if (n == NULL) {
      curl_slist_free_all(list);
      return NULL;
    }
    list = n;
  }
  return list;
}

/* Copies a header value (leading/trailing whitespace trimmed) into dst. */
static void copy_value(char *dst, size_t dst_len, const char *v, size_t len) {
  while (len > 0 && (*v == ' ' || *v == '\t')) {
    v++;
    len--;
  }
  while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' ||
                     v[len - 1] == ' ' || v[len - 1] == '\t')) {
    len--;
  }
  if (len >= dst_len) {
    len = dst_len - 1;
  }
  memcpy(dst, v, len);
  dst[len] = '\0';
}

void ab_http_capture_header(ab_http_response *resp, const char *line, size_t len) {
  if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
    resp->content_type[0] = '\0';
    resp->retry_after[0] = '\0';
    resp->location[0] = '\0';
    resp->upload_offset[0] = '\0';
    resp->content_range[0] = '\0';
    resp->date[0] = '\0';
    return;
  }
  const char *colon = memchr(line, ':', len);
  if (colon == NULL) {
    return;
  }
  size_t name_len = (size_t)(colon - line);
  const char *v = colon + 1;
  size_t vlen = len - name_len - 1;
  static const struct {
    const char *name;
    size_t off;
    size_t size;
  } wanted[] = {
    { "Content-Type", offsetof(ab_http_response, content_type), sizeof(((ab_http_response *)0)->content_type) },
    { "Retry-After", offsetof(ab_http_response, retry_after), sizeof(((ab_http_response *)0)->retry_after) },
    { "Location", offsetof(ab_http_response, location), sizeof(((ab_http_response *)0)->location) },
    { "Upload-Offset", offsetof(ab_http_response, upload_offset), sizeof(((ab_http_response *)0)->upload_offset) },
    { "Content-Range", offsetof(ab_http_response, content_range), sizeof(((ab_http_response *)0)->content_range) },
    { "Date", offsetof(ab_http_response, date), sizeof(((ab_http_response *)0)->date) },
  };
  for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
    if (strlen(wanted[i].name) == name_len &&
        strncasecmp(line, wanted[i].name, name_len) == 0) {
      copy_value((char *)resp + wanted[i].off, wanted[i].size, v, vlen);
      return;
    }
  }
}

/* Host part of url for error messages ("" if it cannot be parsed). */
static void url_host(const char *url, char *host, size_t host_len) {
  host[0] = '\0';
  CURLU *u = curl_url();
  char *part = NULL;
  if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &part, 0) == CURLUE_OK) {
    snprintf(host, host_len, "%s", part);
  }
  curl_free(part);
  curl_url_cleanup(u);
}

int ab_http_transport_error(ab_error *err, const char *method, const char *url,
                            CURLcode rc, const char *errbuf) {
  char host[256];
  url_host(url, host, sizeof(host));
  const char *detail = (errbuf != NULL && errbuf[0] != '\0') ? errbuf : curl_easy_strerror(rc);
  switch (rc) {
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    ab_error_set(err, EIO, "TLS verification of %s failed (certificate not trusted "
                 "by the configured CA bundle or wrong host name): %s", host, detail);
    break;
  case CURLE_UNSUPPORTED_PROTOCOL:
    ab_error_set(err, EIO, "refusing %s to %s: only https:// URLs are allowed "
                 "(tokens never travel unencrypted)", method, host);
    break;
  case CURLE_COULDNT_RESOLVE_HOST:
    ab_error_set(err, EIO, "cannot resolve host %s: %s", host, detail);
    break;
  case CURLE_COULDNT_CONNECT:
    ab_error_set(err, EIO, "cannot connect to %s: %s", host, detail);
    break;
  case CURLE_OPERATION_TIMEDOUT:
    ab_error_set(err, EIO, "%s to %s timed out: %s", method, host, detail);
    break;
  default:
    ab_error_set(err, EIO, "%s to %s failed: %s", method, host, detail);
    break;
  }
  if (err != NULL) {
    /* Lets callers tell a timeout from a refused or reset connection. */
    snprintf(err->code, sizeof(err->code), "curl-%d", (int)rc);
  }
  return -1;
}

/* Buffered-body state for one request. */
typedef struct body_sink {
  ab_http_response *resp;
  size_t cap;
  int too_big;
} body_sink;

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp) {
  body_sink *s = userp;
  ab_http_response *r = s->resp;
  size_t n = size * nmemb;
  if (n > AB_HTTP_MAX_BODY - r->body_len) {
    s->too_big = 1;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if (r->body_len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < r->body_len + n + 1) {
      cap *= 2;
    }
    char *b = realloc(r->body, cap);
    if (b == NULL) {
      return 0;
    }
    r->body = b;
    s->cap = cap;
  }
  memcpy(r->body + r->body_len, data, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp) {
  ab_http_capture_header(userp, data, size * nmemb);
  return size * nmemb;
}

/* Upload source for ab_http_request_fd. */
typedef struct fd_source {
  int fd;
  off_t next;       /* file offset of the next byte to send */
  off_t remaining;  /* bytes still to send */
  int read_errno;   /* errno of a failed pread, or -1 for a short file */
} fd_source;

static size_t on_read(char *buf, size_t size, size_t nitems, void *userp) {
  fd_source *src = userp;
  size_t want = size * nitems;
  if ((off_t)want > src->remaining) {
    want = (size_t)src->remaining;
  }
  if (want == 0) {
    return 0;
  }
  ssize_t n;
  do {
    n = pread(src->fd, buf, want, src->next);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    src->read_errno = errno;
    return CURL_READFUNC_ABORT;
  }
  if (n == 0) {
    /* The file shrank below the announced Content-Length: sending fewer
     * bytes would make the server wait, so abort instead. */
    src->read_errno = -1;
    return CURL_READFUNC_ABORT;
  }
  src->next += n;
  src->remaining -= n;
  return (size_t)n;
}

/* Common body of the request functions. src is NULL for in-memory bodies;
 * timeout_ms 0 = no overall limit. */
static int perform_once(ab_http *h, const char *method, const char *url,
                   const char *const *headers, const void *body, size_t body_len,
                   fd_source *src, off_t src_len, long timeout_ms,
                   ab_http_response *resp, ab_error *err) {
  memset(resp, 0, sizeof(*resp));
  CURL *c = h->curl;
  /* reset keeps live connections and caches, drops per-request options */
  curl_easy_reset(c);
  if (ab_http_configure_easy(h, c, h->errbuf, err) != 0) {
    return -1;
  }
  struct curl_slist *list = ab_http_header_list(headers);
  if (list == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory building HTTP headers");
  }
  body_sink sink = { resp, 0, 0 };
  CURLcode rc = CURLE_OK;
#define SET(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(c, opt, val); } while (0)
  SET(CURLOPT_URL, url);
  SET(CURLOPT_HTTPHEADER, list);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, &sink);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, resp);
  if (timeout_ms > 0) {
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
  }
  if (h->progress != NULL) {
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, h);
    SET(CURLOPT_NOPROGRESS, 0L);
  }
  if (src != NULL) {
    SET(CURLOPT_READFUNCTION, on_read);
    SET(CURLOPT_READDATA, src);
    if (strcmp(method, "POST") == 0) {
      SET(CURLOPT_POST, 1L);
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)src_len);
    } else {
      SET(CURLOPT_UPLOAD, 1L);
      SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)src_len);
      if (strcmp(method, "PUT") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, method);
      }
    }
  } else if (strcmp(method, "GET") == 0) {
    SET(CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else if (body != NULL || strcmp(method, "POST") == 0) {
    /* POST (or PUT/PATCH with a body): an empty POST still needs
     * Content-Length: 0, which POSTFIELDS "" gives. */
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    SET(CURLOPT_POSTFIELDS, body != NULL ? body : "");
    if (strcmp(method, "POST") != 0) {
      SET(CURLOPT_CUSTOMREQUEST, method);
    }
  } else {
    SET(CURLOPT_CUSTOMREQUEST, method);
  }
#undef SET
  if (rc == CURLE_OK) {
    rc = curl_easy_perform(c);
  }
  curl_slist_free_all(list);
  /* Don't leave pointers to our stack in the reused handle. */
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);

  if (rc != CURLE_OK) {
    char host[256];
    if (sink.too_big) {
      url_host(url, host, sizeof(host));
      ab_http_response_clear(resp);
      return ab_error_set(err, EIO, "response from %s to %s is larger than %zu bytes",
                          host, method, AB_HTTP_MAX_BODY);
    }
    if (src != NULL && src->read_errno != 0) {
      ab_http_response_clear(resp);
      if (src->read_errno < 0) {
        return ab_error_set(err, EIO, "upload source ended before the announced "
                            "%lld bytes (file changed during upload?)", (long long)src_len);
      }
      return ab_error_set(err, src->read_errno, "cannot read upload source: %s",
                          strerror(src->read_errno));
    }
    ab_http_response_clear(resp);
    return ab_http_transport_error(err, method, url, rc, h->errbuf);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
  if (resp->body == NULL) {
    /* Callers may always treat body as a string. */
    resp->body = calloc(1, 1);
    if (resp->body == NULL) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
  }
  return 0;
}

static double mono_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* perform_once, timed and reported to the observer. */
static int perform(ab_http *h, const char *method, const char *url,
                   const char *const *headers, const void *body, size_t body_len,
                   fd_source *src, off_t src_len, long timeout_ms,
                   ab_http_response *resp, ab_error *err) {
  double start = h->observe != NULL ? mono_seconds() : 0;
  int rc = perform_once(h, method, url, headers, body, body_len, src, src_len, timeout_ms,
                        resp, err);
  if (h->observe != NULL) {
    h->observe(h->observe_ctx, method, url, rc == 0 ? resp->status : 0, mono_seconds() - start);
  }
  return rc;
}

int ab_http_request(ab_http *h, const char *method, const char *url,
                    const char *const *headers, const void *body,
                    size_t body_len, ab_http_response *resp, ab_error *err) {
  return perform(h, method, url, headers, body, body_len, NULL, 0, 0, resp, err);
}

int ab_http_request_within(ab_http *h, long timeout_ms, const char *method,
                           const char *url, const char *const *headers,
                           const void *body, size_t body_len,
                           ab_http_response *resp, ab_error *err) {
  return perform(h, method, url, headers, body, body_len, NULL, 0, timeout_ms, resp, err);
}

int ab_http_request_fd(ab_http *h, const char *method, const char *url,
                       const char *const *headers, int fd, off_t offset,
                       off_t length, ab_http_response *resp, ab_error *err) {
  if (offset < 0 || length < 0) {
    memset(resp, 0, sizeof(*resp));
    return ab_error_set(err, EINVAL, "invalid upload region");
  }
  fd_source src = { fd, offset, length, 0 };
  return perform(h, method, url, headers, NULL, 0, &src, length, 0, resp, err);
}
