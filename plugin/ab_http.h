/* ab_http.h - one HTTPS connection context over libcurl.
 *
 * Why a wrapper: the gateway session is chrooted after login, so everything
 * TLS needs (CA bundle bytes) is read into memory before that and handed to
 * libcurl as a blob; the handle is reused so one session keeps one TLS
 * connection to the Broker. TLS verification is always on.
 */
#ifndef AB_HTTP_H
#define AB_HTTP_H

#include <stddef.h>
#include <sys/types.h>

#include "ab_error.h"

typedef struct ab_http ab_http;

typedef struct ab_http_options {
  const char *ca_pem;        /* CA bundle bytes (PEM) trusted for all calls; NULL = system default */
  size_t ca_pem_len;
  long connect_timeout_ms;   /* 0 = default 10 s */
  long low_speed_timeout_s;  /* abort when < 1 B/s for this long; 0 = default 60 s */
  /* Added: 0 (default) = HTTPS only, so a mistyped http:// URL can never
   * carry a bearer token in clear text; 1 = also plain HTTP (unit tests
   * with a local server only). */
  int allow_plain_http;
  /* Added for metrics: called after every buffered request with its
   * method, URL, HTTP status (0 when no answer came) and duration in
   * seconds (e.g. ab_metrics_http). NULL = none. */
  void (*observe)(void *ctx, const char *method, const char *url, long status,
                  double seconds);
  void *observe_ctx;
} ab_http_options;

/* Response of a buffered request. body is NUL-terminated (capped by max_body). */
typedef struct ab_http_response {
  long status;
  char *body;
  size_t body_len;
  char content_type[128];
  char retry_after[64];     /* Retry-After header value, if any */
  char location[1024];      /* Location header value, if any */
  char upload_offset[32];   /* Upload-Offset header (TUS), if any */
  char content_range[128];  /* Content-Range header, if any */
  char date[64];            /* Date header, if any (the server's clock) */
} ab_http_response;

/* Creates a context; copies what it needs from opts. Returns NULL on OOM.
 * The program must have called curl_global_init() first (not thread-safe,
 * so it is the caller's job, never done here). The context must outlive
 * every ab_download opened through a broker that uses it: download handles
 * share its CA bytes and TLS session cache. */
ab_http *ab_http_new(const ab_http_options *opts);
void ab_http_free(ab_http *h);

/* Added for the CLI's progress display: fn is called while a request
 * body is sent, with the bytes of this request's body sent so far and its
 * size (several calls per request, and again from 0 for the next). NULL
 * turns it off. */
void ab_http_set_progress(ab_http *h, void (*fn)(void *ctx, long long sent, long long total),
                          void *ctx);

/* Frees resp->body and resets resp. */
void ab_http_response_clear(ab_http_response *resp);

/* Header list given to requests: NULL-terminated array of "Name: value".
 * Only these headers are sent besides Host/Content-Length: no Accept unless
 * given (libcurl's default catch-all Accept is removed) and never
 * "Expect: 100-continue". */

/* Performs a request with an optional in-memory body and buffers the reply
 * (up to 16 MiB; more is an error). Transport failures return -1 with an
 * ab_error naming the host and the cause; any HTTP status returns 0. */
int ab_http_request(ab_http *h, const char *method, const char *url,
                    const char *const *headers, const void *body,
                    size_t body_len, ab_http_response *resp, ab_error *err);

/* As ab_http_request, but giving up when the whole exchange takes longer
 * than timeout_ms (the error then says "timed out"). For small calls that
 * should fail fast rather than hold a session: the Maskinporten token
 * request and the Altinn token exchange. */
int ab_http_request_within(ab_http *h, long timeout_ms, const char *method,
                           const char *url, const char *const *headers,
                           const void *body, size_t body_len,
                           ab_http_response *resp, ab_error *err);

/* As ab_http_request, sending `length` bytes read with pread() from fd
 * starting at `offset` as the body (streamed, never all in memory). */
int ab_http_request_fd(ab_http *h, const char *method, const char *url,
                       const char *const *headers, int fd, off_t offset,
                       off_t length, ab_http_response *resp, ab_error *err);

#endif
