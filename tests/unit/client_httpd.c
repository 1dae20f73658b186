/* client_httpd.c - scriptable fake Maskinporten/Altinn/Broker (see
 * client_httpd.h). Routes:
 *   POST /token                     Maskinporten token endpoint
 *   GET  /exchange                  Altinn token exchange
 *   *    /broker/api/v1/filetransfer[...]   Broker
 *   GET  /headers                   a reply with every captured header
 *   GET  /big                       a body of big_size bytes
 *   PUT|POST|PATCH /upload-check    checks the body against the pattern
 */
#include "client_httpd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "ab_base64.h"
#include "client_fixtures.h"

struct fake_server {
  struct MHD_Daemon *daemon;
  int port;
  char base[64];
  fake_state state;
};

/* Per-request state across the access handler's calls. */
typedef struct request {
  int started;
  unsigned long long body_bytes;
  int pattern_ok;
  char body[4096];
  size_t body_len;
} request;

static const char *header(struct MHD_Connection *c, const char *name) {
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void copy(char *dst, size_t len, const char *src) {
  snprintf(dst, len, "%s", src != NULL ? src : "(none)");
}

static enum MHD_Result reply_dated(struct MHD_Connection *c, unsigned int status,
                                   const char *ctype, const char *body, long skew) {
  struct MHD_Response *r =
    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
  if (ctype != NULL) {
    MHD_add_response_header(r, "Content-Type", ctype);
  }
  if (skew != 0) {
    /* A server whose clock differs from ours says so in Date (MHD only
     * adds its own when none is set). */
    time_t t = time(NULL) + skew;
    struct tm tm;
    char date[64];
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    MHD_add_response_header(r, "Date", date);
  }
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
                             const char *ctype, const char *body) {
  return reply_dated(c, status, ctype, body, 0);
}

/* iat of the grant in a token request body, or 0. */
static long grant_iat(const char *body) {
  const char *a = strstr(body, "assertion=");
  const char *p = a != NULL ? strchr(a, '.') : NULL;
  const char *q = p != NULL ? strchr(p + 1, '.') : NULL;
  if (q == NULL) {
    return 0;
  }
  size_t n = 0;
  unsigned char *json = ab_base64url_decode(p + 1, (size_t)(q - p - 1), &n);
  const char *iat = json != NULL ? strstr((const char *)json, "\"iat\":") : NULL;
  long v = iat != NULL ? atol(iat + 6) : 0;
  free(json);
  return v;
}

static enum MHD_Result problem(struct MHD_Connection *c, unsigned int status,
                               const char *code, const char *detail) {
  char body[512];
  snprintf(body, sizeof(body),
           "{\"type\":\"https://tools.ietf.org/html/rfc9110\",\"title\":\"Error\","
           "\"status\":%u,\"detail\":\"%s\",\"code\":\"%s\",\"traceId\":\"00-1-2-00\"}",
           status, detail, code);
  return reply(c, status, "application/problem+json", body);
}

/* An Altinn-like token "n" (unsigned: the client never verifies it). */
static void make_token(char *out, size_t len, int n, long exp, long iat) {
  char claims[160];
  char iat_claim[32] = "";
  if (iat != 0) {
    snprintf(iat_claim, sizeof(iat_claim), "\"iat\":%ld,", iat);
  }
  snprintf(claims, sizeof(claims), "{%s\"exp\":%ld,\"n\":%d,\"scope\":\"altinn:broker.read\"}",
           iat_claim, exp, n);
  char *h = ab_base64url_encode("{\"alg\":\"RS256\"}", 15);
  char *p = ab_base64url_encode(claims, strlen(claims));
  snprintf(out, len, "%s.%s.c2lnbmF0dXJl", h, p);
  free(h);
  free(p);
}

/* Number of the Altinn token in "Authorization: Bearer <jwt>", or -1. */
static int token_number(struct MHD_Connection *c) {
  const char *auth = header(c, "Authorization");
  if (auth == NULL || strncmp(auth, "Bearer ", 7) != 0) {
    return -1;
  }
  const char *p = strchr(auth + 7, '.');
  const char *q = p != NULL ? strchr(p + 1, '.') : NULL;
  if (q == NULL) {
    return -1;
  }
  size_t n = 0;
  unsigned char *json = ab_base64url_decode(p + 1, (size_t)(q - p - 1), &n);
  int num = -1;
  const char *at = json != NULL ? strstr((char *)json, "\"n\":") : NULL;
  if (at != NULL) {
    num = atoi(at + 4);
  }
  free(json);
  return num;
}

typedef struct body_gen {
  unsigned long long start;    /* file offset of the first byte */
  unsigned long long stop_at;  /* body offset where the server fails, or ~0 */
} body_gen;

static ssize_t gen_read(void *cls, uint64_t pos, char *buf, size_t max) {
  body_gen *g = cls;
  if (pos >= g->stop_at) {
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  if (max > g->stop_at - pos) {
    max = (size_t)(g->stop_at - pos);
  }
  for (size_t i = 0; i < max; i++) {
    buf[i] = (char)fixture_pattern(g->start + pos + i);
  }
  return (ssize_t)max;
}

static enum MHD_Result send_pattern(struct MHD_Connection *c, unsigned int status,
                                    unsigned long long start, unsigned long long len,
                                    int fail_half, const char *content_range) {
  body_gen *g = malloc(sizeof(*g));
  g->start = start;
  g->stop_at = fail_half ? len / 2 : ~0ULL;
  struct MHD_Response *r = MHD_create_response_from_callback(len, 64 * 1024, gen_read, g, free);
  MHD_add_response_header(r, "Content-Type", "application/octet-stream");
  MHD_add_response_header(r, "Accept-Ranges", "bytes");
  if (content_range != NULL) {
    MHD_add_response_header(r, "Content-Range", content_range);
  }
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result download(fake_state *st, struct MHD_Connection *c) {
  unsigned long long size = st->dl_size;
  const char *range = header(c, "Range");
  copy(st->last_range, sizeof(st->last_range), range);
  unsigned long long a = 0;
  if (range != NULL && !st->dl_ignore_range && sscanf(range, "bytes=%llu-", &a) == 1) {
    if (a >= size) {
      char cr[64];
      snprintf(cr, sizeof(cr), "bytes */%llu", size);
      char body[256];
      snprintf(body, sizeof(body),
               "{\"title\":\"Range Not Satisfiable\",\"status\":416,\"detail\":\"The requested "
               "byte range is not satisfiable.\",\"code\":\"BRO-00029\"}");
      struct MHD_Response *p =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
      MHD_add_response_header(p, "Content-Type", "application/problem+json");
      if (st->range_416_with_total) {
        MHD_add_response_header(p, "Content-Range", cr);
      }
      enum MHD_Result ret = MHD_queue_response(c, 416, p);
      MHD_destroy_response(p);
      return ret;
    }
    char cr[96];
    snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", a, size - 1, size);
    return send_pattern(c, 206, a, size - a, st->dl_short, cr);
  }
  return send_pattern(c, 200, 0, size, st->dl_short, NULL);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
  (void)kind;
  fake_state *st = cls;
  if (strcmp(key, "resourceId") == 0) {
    copy(st->search_resource, sizeof(st->search_resource), value);
  } else if (strcmp(key, "from") == 0) {
    copy(st->search_from, sizeof(st->search_from), value);
  }
  return MHD_YES;
}

static enum MHD_Result broker(fake_state *st, struct MHD_Connection *c, const char *url,
                              const char *method, request *rq) {
  st->broker_calls++;
  if (st->deny_bro6) {
    return problem(c, 401, "BRO-00006", "You must use a bearer token that represents a system user");
  }
  int n = token_number(c);
  if (n < 0 || n < st->reject_tokens_below) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    enum MHD_Result ret = MHD_queue_response(c, 401, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (st->rate_limit_once) {
    st->rate_limit_once = 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Retry-After", "1");
    enum MHD_Result ret = MHD_queue_response(c, 429, r);
    MHD_destroy_response(r);
    return ret;
  }
  const char *rest = url + strlen("/broker/api/v1/filetransfer");
  if (strcmp(rest, "") == 0 && strcmp(method, "POST") == 0) {
    snprintf(st->init_body, sizeof(st->init_body), "%.*s", (int)rq->body_len, rq->body);
    return reply(c, 200, "application/json", "{\"fileTransferId\":\"" FAKE_ID "\"}");
  }
  if (strcmp(rest, "") == 0 && strcmp(method, "GET") == 0) {
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, st);
    return reply(c, 200, "application/json", "[\"" FAKE_ID "\"]");
  }
  if (strncmp(rest, "/" FAKE_MISSING_ID, 37) == 0) {
    return problem(c, 404, "BRO-00001", "The requested file transfer was not found");
  }
  if (strcmp(rest, "/" FAKE_ID) == 0 && strcmp(method, "GET") == 0) {
    return reply(c, 200, "application/json",
                 "{\"fileTransferId\":\"" FAKE_ID "\",\"fileName\":\"a.txt\","
                 "\"fileTransferStatus\":\"Published\",\"fileTransferSize\":42,"
                 "\"recipients\":[{\"recipient\":\"0192:986252932\","
                 "\"currentRecipientFileTransferStatusCode\":\"Initialized\"}]}");
  }
  if (strcmp(rest, "/" FAKE_ID "/upload") == 0 && strcmp(method, "POST") == 0) {
    st->upload_bytes = rq->body_bytes;
    st->upload_pattern_ok = rq->pattern_ok;
    return reply(c, 200, "application/json", "{\"fileTransferId\":\"" FAKE_ID "\"}");
  }
  if (strcmp(rest, "/" FAKE_ID "/confirmdownload") == 0 && strcmp(method, "POST") == 0) {
    /* the real service answers 406 to Accept types it does not produce */
    if (strstr(st->last_accept, "octet-stream") != NULL) {
      return reply(c, 406, "text/plain",
                   "This endpoint does not support the requested Accept header.");
    }
    return reply(c, 204, NULL, "");
  }
  if (strcmp(rest, "/" FAKE_ID "/download") == 0 && strcmp(method, "GET") == 0) {
    return download(st, c);
  }
  return problem(c, 404, "", "no such route");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls) {
  (void)version;
  fake_server *s = cls;
  fake_state *st = &s->state;
  request *rq = *con_cls;
  if (rq == NULL) {
    rq = calloc(1, sizeof(*rq));
    rq->pattern_ok = 1;
    *con_cls = rq;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    for (size_t i = 0; i < *upload_data_size; i++) {
      if ((unsigned char)upload_data[i] != fixture_pattern(st->upload_base + rq->body_bytes + i)) {
        rq->pattern_ok = 0;
      }
    }
    size_t room = sizeof(rq->body) - rq->body_len;
    size_t n = *upload_data_size < room ? *upload_data_size : room;
    memcpy(rq->body + rq->body_len, upload_data, n);
    rq->body_len += n;
    rq->body_bytes += *upload_data_size;
    *upload_data_size = 0;
    return MHD_YES;
  }
  /* Whole request received: record and answer. */
  copy(st->last_method, sizeof(st->last_method), method);
  copy(st->last_url, sizeof(st->last_url), url);
  copy(st->last_accept, sizeof(st->last_accept), header(c, "Accept"));
  copy(st->last_content_type, sizeof(st->last_content_type), header(c, "Content-Type"));
  copy(st->last_expect, sizeof(st->last_expect), header(c, "Expect"));
  copy(st->last_transfer_encoding, sizeof(st->last_transfer_encoding),
       header(c, "Transfer-Encoding"));
  const char *cl = header(c, "Content-Length");
  st->last_content_length = cl != NULL ? atoll(cl) : -1;

  if (strcmp(url, "/token") == 0 && strcmp(method, "POST") == 0) {
    st->grants++;
    copy(st->token_content_type, sizeof(st->token_content_type), header(c, "Content-Type"));
    copy(st->token_accept, sizeof(st->token_accept), header(c, "Accept"));
    static const char prefix[] =
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=ey";
    st->form_ok = rq->body_len > sizeof(prefix) &&
                  strncmp(rq->body, prefix, sizeof(prefix) - 1) == 0;
    st->last_grant_iat = grant_iat(rq->body);
    if (st->mp_clock_skew != 0) {
      long mp_now = (long)time(NULL) + st->mp_clock_skew;
      if (st->last_grant_iat > mp_now + 10 || st->last_grant_iat < mp_now - 10) {
        return reply_dated(c, 400, "application/json",
                           "{\"error\":\"invalid_grant\",\"error_description\":"
                           "\"JWT is expired (MP-130)\"}", st->mp_clock_skew);
      }
    }
    if (st->mp_replay_once) {
      st->mp_replay_once = 0;
      return reply(c, 400, "application/json",
                   "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid assertion. "
                   "Grant is used before (MP-012)\"}");
    }
    if (st->mp_503_once) {
      st->mp_503_once = 0;
      return reply(c, 503, "text/html", "<html>Service Unavailable</html>");
    }
    if (st->mp_error) {
      return reply(c, 400, "application/json",
                   "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid assertion. "
                   "Client authentication failed. (MP-100) Correlation id: abc\"}");
    }
    char body[128];
    snprintf(body, sizeof(body),
             "{\"access_token\":\"mp-token-%d\",\"token_type\":\"Bearer\",\"expires_in\":120}",
             st->grants);
    return reply_dated(c, 200, "application/json", body, st->mp_clock_skew);
  }
  if (strcmp(url, "/exchange") == 0 && strcmp(method, "GET") == 0) {
    st->exchanges++;
    const char *auth = header(c, "Authorization");
    const char *accept = header(c, "Accept");
    st->exchange_accept_ok = auth != NULL && strncmp(auth, "Bearer mp-token-", 16) == 0 &&
                             accept != NULL && strcmp(accept, "text/plain") == 0;
    if (auth == NULL || strncmp(auth, "Bearer mp-token-", 16) != 0) {
      return reply(c, 401, NULL, "");
    }
    if (st->exchange_html) {
      return reply(c, 200, "text/html", "<html><body>Welcome</body></html>");
    }
    char token[512];
    char body[600];
    make_token(token, sizeof(token), st->exchanges,
               (long)time(NULL) + (st->exchange_exp_in ? st->exchange_exp_in : 1800),
               st->exchange_iat ? (long)time(NULL) + st->exchange_iat_at : 0);
    snprintf(body, sizeof(body), st->exchange_quoted ? "\"%s\"\n" : "%s", token);
    return reply(c, 200, "text/plain", body);
  }
  if (strncmp(url, "/broker/api/v1/filetransfer", 27) == 0) {
    return broker(st, c, url, method, rq);
  }
  if (strcmp(url, "/headers") == 0) {
    struct MHD_Response *r = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/offset+octet-stream");
    MHD_add_response_header(r, "Retry-After", "  7 ");
    MHD_add_response_header(r, "Location", "/broker/api/v1/filetransfer/upload/tus/x");
    MHD_add_response_header(r, "Upload-Offset", "1048576");
    MHD_add_response_header(r, "Content-Range", "bytes 0-1/2");
    enum MHD_Result ret = MHD_queue_response(c, 201, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (strcmp(url, "/big") == 0) {
    return send_pattern(c, 200, 0, st->big_size, 0, NULL);
  }
  if (strcmp(url, "/upload-check") == 0) {
    st->upload_bytes = rq->body_bytes;
    st->upload_pattern_ok = rq->pattern_ok;
    return reply(c, 200, "text/plain", "stored");
  }
  return reply(c, 404, "text/plain", "not found");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  free(*con_cls);
  *con_cls = NULL;
}

static void connection_event(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode code) {
  (void)c;
  (void)socket_context;
  fake_server *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    s->state.connections++;
  }
}

fake_server *fake_start(const char *cert_pem, const char *key_pem) {
  fake_server *s = calloc(1, sizeof(*s));
  s->state.dl_size = 1000;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
  if (cert_pem != NULL) {
    flags |= MHD_USE_TLS;
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                 MHD_OPTION_NOTIFY_CONNECTION, connection_event, s,
                                 MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                                 MHD_OPTION_HTTPS_MEM_KEY, key_pem,
                                 MHD_OPTION_END);
  } else {
    s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, s,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                 MHD_OPTION_NOTIFY_CONNECTION, connection_event, s,
                                 MHD_OPTION_END);
  }
  if (s->daemon == NULL) {
    free(s);
    return NULL;
  }
  s->port = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT)->port;
  snprintf(s->base, sizeof(s->base), "%s://127.0.0.1:%d", cert_pem != NULL ? "https" : "http",
           s->port);
  return s;
}

void fake_stop(fake_server *s) {
  if (s != NULL) {
    MHD_stop_daemon(s->daemon);
    free(s);
  }
}

int fake_port(const fake_server *s) {
  return s->port;
}

fake_state *fake_state_of(fake_server *s) {
  return &s->state;
}

const char *fake_base(const fake_server *s) {
  return s->base;
}
