/* ab_broker.c - Broker API v1 calls (see ab_broker.h).
 *
 * Every call goes through ab_broker_call, which adds the token, turns non-2xx
 * replies into ab_error via ProblemDetails, retries once with a fresh token
 * when the token itself was rejected (401 without code), and, for
 * idempotent GETs only, retries once after a short Retry-After on 429.
 */
#include "ab_broker.h"
#include "ab_broker_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ab_broker_wire.h"
#include "ab_maskinporten.h"
#include "ab_problem.h"

/* Longest Retry-After we wait for inside a call; anything longer is the
 * caller's decision (it gets EIO with the value in the message). */
#define AB_RETRY_AFTER_MAX_S 5

char *ab_broker_bearer(ab_broker *b, const char *op, ab_error *err) {
  const char *token = ab_auth_token(b->auth, b->http, err);
  if (token == NULL) {
    ab_error_prefix(err, "cannot get an Altinn token for %s", op);
    return NULL;
  }
  static const char prefix[] = "Authorization: Bearer ";
  size_t len = sizeof(prefix) + strlen(token);
  char *hdr = malloc(len);
  if (hdr == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  memcpy(hdr, prefix, sizeof(prefix) - 1);
  memcpy(hdr + sizeof(prefix) - 1, token, len - sizeof(prefix) + 1);
  return hdr;
}

char *ab_broker_auth_header(ab_broker *b, const char *op, ab_error *err) {
  if (b->pace != NULL && b->pace(b->pace_ctx, op, err) < 0) {
    return NULL;
  }
  return ab_broker_bearer(b, op, err);
}

int ab_broker_token_rejected(const ab_http_response *resp) {
  if (resp->status != 401) {
    return 0;
  }
  ab_problem p;
  ab_problem_parse(resp->body, resp->body_len, &p);
  return p.code[0] == '\0';
}

/* Seconds of a delta-seconds Retry-After, or -1 (absent, HTTP-date, junk). */
static long retry_after_seconds(const char *v) {
  if (v[0] == '\0') {
    return -1;
  }
  char *end = NULL;
  long s = strtol(v, &end, 10);
  if (*end != '\0' || s < 0) {
    return -1;
  }
  return s;
}

static void sleep_seconds(long s) {
  struct timespec ts = { s, 0 };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int ab_broker_call(ab_broker *b, const ab_broker_req *req,
                   ab_http_response *resp, ab_error *err) {
  int token_retry = 1;
  int rate_retry = req->idempotent;
  for (;;) {
    char *auth = req->unpaced ? ab_broker_bearer(b, req->op, err)
                              : ab_broker_auth_header(b, req->op, err);
    if (auth == NULL) {
      memset(resp, 0, sizeof(*resp));
      return -1;
    }
    const char *headers[4 + AB_BROKER_EXTRA_HEADERS];
    size_t n = 0;
    headers[n++] = auth;
    if (req->accept_json) {
      headers[n++] = "Accept: application/json";
    }
    if (req->content_type != NULL) {
      headers[n++] = req->content_type;
    }
    for (size_t i = 0; i < AB_BROKER_EXTRA_HEADERS && req->extra_headers[i] != NULL; i++) {
      headers[n++] = req->extra_headers[i];
    }
    headers[n] = NULL;
    int rc;
    if (req->fd >= 0) {
      rc = ab_http_request_fd(b->http, req->method, req->url, headers, req->fd,
                              req->fd_offset, req->fd_len, resp, err);
    } else {
      rc = ab_http_request(b->http, req->method, req->url, headers, req->body,
                           req->body_len, resp, err);
    }
    ab_secret_free(auth);
    if (rc != 0) {
      return ab_error_prefix(err, "Broker %s", req->op);
    }
    if ((resp->status >= 200 && resp->status < 300) || req->any_status) {
      return 0;
    }
    if (token_retry && ab_broker_token_rejected(resp)) {
      token_retry = 0;
      ab_auth_invalidate(b->auth);
      ab_http_response_clear(resp);
      continue;
    }
    long wait = retry_after_seconds(resp->retry_after);
    if (rate_retry && resp->status == 429 && wait >= 0 && wait <= AB_RETRY_AFTER_MAX_S) {
      rate_retry = 0;
      ab_http_response_clear(resp);
      sleep_seconds(wait);
      continue;
    }
    ab_problem_set_error(err, req->op, resp);
    ab_http_response_clear(resp);
    return -1;
  }
}

void ab_broker_req_init(ab_broker_req *r, const char *op, const char *method,
                            const char *url) {
  memset(r, 0, sizeof(*r));
  r->op = op;
  r->method = method;
  r->url = url;
  r->fd = -1;
}

int ab_broker_initialize(ab_broker *b, const ab_transfer_init *in,
                         char id_out[AB_ID_LEN], ab_error *err) {
  id_out[0] = '\0';
  char *json = ab_broker_init_json(in, err);
  if (json == NULL) {
    return -1;
  }
  char *url = ab_broker_url(b->base_url, NULL, NULL, err);
  if (url == NULL) {
    free(json);
    return -1;
  }
  ab_broker_req req;
  ab_broker_req_init(&req, "initialize", "POST", url);
  req.content_type = "Content-Type: application/json";
  req.accept_json = 1;
  req.body = json;
  req.body_len = strlen(json);
  ab_http_response resp;
  int rc = ab_broker_call(b, &req, &resp, err);
  if (rc == 0) {
    rc = ab_broker_parse_id(resp.body, resp.body_len, id_out, err);
    if (rc != 0) {
      ab_error_prefix(err, "initialize");
    }
  }
  ab_http_response_clear(&resp);
  free(url);
  free(json);
  return rc;
}

int ab_broker_upload_fd(ab_broker *b, const char *id, int fd, off_t size,
                        ab_error *err) {
  if (fd < 0 || size < 0) {
    return ab_error_set(err, EINVAL, "upload needs an open file and a size");
  }
  char *url = ab_broker_url(b->base_url, id, "/upload", err);
  if (url == NULL) {
    return -1;
  }
  ab_broker_req req;
  ab_broker_req_init(&req, "upload", "POST", url);
  req.content_type = "Content-Type: application/octet-stream";
  req.accept_json = 1;
  req.fd = fd;
  req.fd_len = size;
  ab_http_response resp;
  int rc = ab_broker_call(b, &req, &resp, err);
  ab_http_response_clear(&resp);
  free(url);
  return rc;
}

int ab_broker_overview(ab_broker *b, const char *id, ab_transfer *out,
                       ab_error *err) {
  memset(out, 0, sizeof(*out));
  char *url = ab_broker_url(b->base_url, id, NULL, err);
  if (url == NULL) {
    return -1;
  }
  ab_broker_req req;
  ab_broker_req_init(&req, "overview", "GET", url);
  req.accept_json = 1;
  req.idempotent = 1;
  ab_http_response resp;
  int rc = ab_broker_call(b, &req, &resp, err);
  if (rc == 0) {
    rc = ab_broker_parse_overview(resp.body, resp.body_len, out, err);
  }
  ab_http_response_clear(&resp);
  free(url);
  return rc;
}

int ab_broker_search(ab_broker *b, const ab_search *q,
                     char (**ids_out)[AB_ID_LEN], size_t *n_out, ab_error *err) {
  *ids_out = NULL;
  *n_out = 0;
  char *url = ab_broker_search_url(b->base_url, q, err);
  if (url == NULL) {
    return -1;
  }
  ab_broker_req req;
  ab_broker_req_init(&req, "search", "GET", url);
  req.accept_json = 1;
  req.idempotent = 1;
  ab_http_response resp;
  int rc = ab_broker_call(b, &req, &resp, err);
  if (rc == 0) {
    rc = ab_broker_parse_search(resp.body, resp.body_len, ids_out, n_out, err);
  }
  ab_http_response_clear(&resp);
  free(url);
  return rc;
}

int ab_broker_confirm(ab_broker *b, const char *id, ab_error *err) {
  char *url = ab_broker_url(b->base_url, id, "/confirmdownload", err);
  if (url == NULL) {
    return -1;
  }
  /* No Accept header: the endpoint produces nothing, and an Accept that
   * excludes its (absent) type would be answered with 406. */
  ab_broker_req req;
  ab_broker_req_init(&req, "confirmdownload", "POST", url);
  req.content_type = "Content-Type:"; /* drop libcurl's form default: no body */
  ab_http_response resp;
  int rc = ab_broker_call(b, &req, &resp, err);
  ab_http_response_clear(&resp);
  free(url);
  return rc;
}

int ab_broker_request(ab_broker *b, const char *op, const char *method, const char *url,
                      const char *content_type, int accept_json, const void *body,
                      size_t body_len, int idempotent, ab_http_response *resp,
                      ab_error *err) {
  ab_broker_req req;
  ab_broker_req_init(&req, op, method, url);
  req.content_type = content_type;
  req.accept_json = accept_json;
  req.body = body;
  req.body_len = body_len;
  req.idempotent = idempotent;
  return ab_broker_call(b, &req, resp, err);
}
