/* fuzz_fake_http.c - see fuzz_fake_http.h. */
#include "fuzz_fake_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_auth.h"
#include "ab_http.h"

static const long statuses[] = {
  200, 201, 204, 206, 400, 401, 403, 404, 406, 409, 413, 416, 429, 500, 502, 503,
  0 /* transport failure */, 100, 302, 599, 999, -1,
};
static const char *const content_types[] = {
  "application/json; charset=utf-8", "application/problem+json", "text/plain",
  "text/plain; charset=utf-8", "text/html", "",
};
/* Never a positive small value: the client would really sleep. */
static const char *const retry_afters[] = { "", "0", "-3", "abc", "99999999999999999999", "5x" };

static long reply_status;
static const char *reply_ctype;
static const char *reply_retry;
static char *reply_body;
static size_t reply_len;
static int requests;

void fuzz_http_set_reply(uint8_t shape_status, uint8_t shape_headers,
                         const uint8_t *body, size_t len) {
  reply_status = statuses[shape_status % (sizeof(statuses) / sizeof(statuses[0]))];
  reply_ctype = content_types[shape_headers % (sizeof(content_types) / sizeof(content_types[0]))];
  reply_retry = retry_afters[(shape_headers / 8) % (sizeof(retry_afters) / sizeof(retry_afters[0]))];
  free(reply_body);
  reply_body = malloc(len + 1);
  if (reply_body == NULL) {
    abort();
  }
  if (len > 0) {
    memcpy(reply_body, body, len);
  }
  reply_body[len] = '\0';
  reply_len = len;
  requests = 0;
}

int fuzz_http_requests(void) {
  return requests;
}

static int fake_reply(ab_http_response *resp, ab_error *err) {
  memset(resp, 0, sizeof(*resp));
  requests++;
  if (reply_status == 0) {
    return ab_error_set(err, 5 /* EIO */, "GET to broker.invalid failed: fuzzed transport error");
  }
  resp->status = reply_status;
  resp->body = malloc(reply_len + 1);
  if (resp->body == NULL) {
    abort();
  }
  memcpy(resp->body, reply_body, reply_len + 1);
  resp->body_len = reply_len;
  snprintf(resp->content_type, sizeof(resp->content_type), "%s", reply_ctype);
  snprintf(resp->retry_after, sizeof(resp->retry_after), "%s", reply_retry);
  return 0;
}

int ab_http_request(ab_http *h, const char *method, const char *url,
                    const char *const *headers, const void *body, size_t body_len,
                    ab_http_response *resp, ab_error *err) {
  (void) h; (void) method; (void) headers; (void) body; (void) body_len;
  if (url == NULL) {
    abort();
  }
  return fake_reply(resp, err);
}

int ab_http_request_within(ab_http *h, long timeout_ms, const char *method, const char *url,
                           const char *const *headers, const void *body, size_t body_len,
                           ab_http_response *resp, ab_error *err) {
  (void) h; (void) timeout_ms; (void) method; (void) headers; (void) body; (void) body_len;
  if (url == NULL) {
    abort();
  }
  return fake_reply(resp, err);
}

int ab_http_request_fd(ab_http *h, const char *method, const char *url,
                       const char *const *headers, int fd, off_t offset, off_t length,
                       ab_http_response *resp, ab_error *err) {
  (void) h; (void) method; (void) headers; (void) fd; (void) offset; (void) length;
  if (url == NULL) {
    abort();
  }
  return fake_reply(resp, err);
}

void ab_http_response_clear(ab_http_response *resp) {
  free(resp->body);
  memset(resp, 0, sizeof(*resp));
}

const char *ab_auth_token(ab_auth *a, ab_http *h, ab_error *err) {
  (void) a; (void) h; (void) err;
  return "header.payload.signature";
}

void ab_auth_invalidate(ab_auth *a) {
  (void) a;
}

void fuzz_check_terminated(const char *s, size_t size) {
  if (memchr(s, '\0', size) == NULL) {
    fprintf(stderr, "string not terminated within %zu bytes\n", size);
    abort();
  }
}

void fuzz_check_error(const ab_error *err) {
  fuzz_check_terminated(err->message, sizeof(err->message));
  fuzz_check_terminated(err->code, sizeof(err->code));
  if (err->err_no == 0 || err->message[0] == '\0') {
    fprintf(stderr, "error without errno or message: %d \"%s\"\n", err->err_no, err->message);
    abort();
  }
  for (const unsigned char *p = (const unsigned char *) err->code; *p != '\0'; p++) {
    if (*p <= 0x20 || *p >= 0x7f) {
      fprintf(stderr, "byte 0x%02x in error code \"%s\"\n", *p, err->code);
      abort();
    }
  }
  for (const unsigned char *p = (const unsigned char *) err->message; *p != '\0'; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      fprintf(stderr, "control character 0x%02x in error message: %s\n", *p, err->message);
      abort();
    }
  }
}
