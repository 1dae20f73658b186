/* emu_http.c - libmicrohttpd glue, routing and the per-request pipeline
 * (see emu_http.h for the stages and why they run in that order). */
#include "emu_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu_endpoints.h"
#include "emu_faults.h"
#include "emu_tokens.h"
#include "emu_hostile.h"
#include "emu_problem.h"
#include "emu_ratelimit.h"
#include "emu_stats.h"
#include "emu_util.h"

/* Bodies of the JSON endpoints are small; anything larger is refused
 * instead of growing memory without bound. */
#define MAX_JSON_BODY (4 * 1024 * 1024)
/* An error answer to a request whose body is still coming is sent at once
 * (and the connection closed) when the body is big or announced with
 * Expect: 100-continue; small bodies are read and dropped first, so the
 * client is not hit by a TCP reset before it reads the answer. */
#define DISCARD_LIMIT (8 * 1024 * 1024)

typedef struct route {
  const char *pattern;      /* segments; {id} = GUID, {sub} = any one segment */
  const emu_endpoint *ep;
} route;

static const route routes[] = {
    {"token", &emu_ep_token},
    {".well-known/oauth-authorization-server", &emu_ep_mp_metadata},
    {"jwk", &emu_ep_jwks},
    {"authentication/api/v1/exchange/maskinporten", &emu_ep_exchange},
    {"authentication/api/v1/openid/.well-known/openid-configuration", &emu_ep_openid_metadata},
    {"broker/api/v1/filetransfer", &emu_ep_initialize},
    {"broker/api/v1/filetransfer", &emu_ep_search},
    {"broker/api/v1/filetransfer/upload", &emu_ep_initialize_upload},
    {"broker/api/v1/filetransfer/{id}", &emu_ep_overview},
    {"broker/api/v1/filetransfer/{id}/details", &emu_ep_details},
    {"broker/api/v1/filetransfer/{id}/upload", &emu_ep_upload},
    {"broker/api/v1/filetransfer/{id}/download", &emu_ep_download},
    {"broker/api/v1/filetransfer/{id}/confirmdownload", &emu_ep_confirm},
    {"broker/api/v1/filetransfer/upload/tus/{id}", &emu_ep_tus_options},
    {"broker/api/v1/filetransfer/upload/tus/{id}", &emu_ep_tus_create},
    {"broker/api/v1/filetransfer/upload/tus/{id}", &emu_ep_tus_head},
    {"broker/api/v1/filetransfer/upload/tus/{id}", &emu_ep_tus_patch},
    {"broker/api/v1/filetransfer/upload/tus/{id}", &emu_ep_tus_delete},
    {"broker/api/v1/filetransfer/upload/tus/{id}/partial/{sub}", &emu_ep_tus_head},
    {"broker/api/v1/filetransfer/upload/tus/{id}/partial/{sub}", &emu_ep_tus_patch},
    {"broker/api/v1/filetransfer/upload/tus/{id}/partial/{sub}", &emu_ep_tus_delete},
    /* old-style partial URLs, rewritten by the service */
    {"broker/api/v1/filetransfer/upload/tus/{id}/{sub}", &emu_ep_tus_head},
    {"broker/api/v1/filetransfer/upload/tus/{id}/{sub}", &emu_ep_tus_patch},
    {"broker/api/v1/filetransfer/upload/tus/{id}/{sub}", &emu_ep_tus_delete},
    {"broker/api/v1/serviceowner", &emu_ep_serviceowner_create},
    {"broker/api/v1/serviceowner", &emu_ep_serviceowner_get},
    {"broker/api/v1/resource/{sub}", &emu_ep_resource_put},
    {"broker/api/v1/resource/{sub}", &emu_ep_resource_get},
    {"broker/api/v1/statistics/monthly", &emu_ep_statistics_monthly},
    {"events/api/v1/events", &emu_ep_events_pull},
    {"events/api/v1/subscriptions", &emu_ep_subscription_create},
    {"events/api/v1/subscriptions", &emu_ep_subscription_list},
    {"events/api/v1/subscriptions/{sub}", &emu_ep_subscription_get},
    {"events/api/v1/subscriptions/{sub}", &emu_ep_subscription_delete},
    {"_emulator/state", &emu_ep_state},
    {"_emulator/reset", &emu_ep_reset},
    {"_emulator/faults", &emu_ep_faults},
    {"_emulator/faults", &emu_ep_faults_list},
    {"_emulator/knobs", &emu_ep_knobs},
    {"_emulator/knobs", &emu_ep_knobs_get},
    {"_emulator/clock", &emu_ep_clock},
    {"_emulator/seed", &emu_ep_seed},
    {"_emulator/tokens", &emu_ep_tokens},
    {"_emulator/tokens", &emu_ep_tokens_get},
    {"_emulator/hostile", &emu_ep_hostile},
    {"_emulator/hostile", &emu_ep_hostile_list},
};

typedef struct conn_ctx {
  emu_request r;
  bool bad_id;
  bool has_fault;
  emu_fault fault;
  int64_t body_bytes;
  int64_t body_started_ms;
} conn_ctx;

/* ---- reply helpers ---- */

bool emu_replied(const emu_request *r) { return r->resp != NULL; }

void emu_reply_response(emu_request *r, unsigned status, struct MHD_Response *resp)
{
  if (r->resp) {
    MHD_destroy_response(resp);
    return;
  }
  r->resp = resp;
  r->status = status;
}

void emu_reply(emu_request *r, unsigned status, const char *ctype, const char *body, size_t len)
{
  if (r->resp)
    return;
  /* Hostile rules (emu_hostile.h) rewrite replies of faultable endpoints. */
  char hostile_ctype[128];
  snprintf(hostile_ctype, sizeof hostile_ctype, "%s", ctype ? ctype : "");
  size_t hostile_len = 0;
  char *hostile = (r->ep && !(r->ep->flags & EMU_F_NOFAULT))
                      ? emu_hostile_apply(r, &status, hostile_ctype, sizeof hostile_ctype, body,
                                          len, &hostile_len)
                      : NULL;
  if (hostile) {
    body = hostile;
    len = hostile_len;
    ctype = hostile_ctype[0] ? hostile_ctype : NULL;
  }
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  free(hostile);
  if (!resp)
    return;
  if (ctype)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  emu_reply_response(r, status, resp);
}

void emu_reply_empty(emu_request *r, unsigned status) { emu_reply(r, status, NULL, "", 0); }

void emu_reply_json(emu_request *r, unsigned status, cJSON *j)
{
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!text) {
    emu_reply_empty(r, 500);
    return;
  }
  emu_reply(r, status, "application/json; charset=utf-8", text, strlen(text));
  cJSON_free(text);
}

const char *emu_header(emu_request *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *emu_query(emu_request *r, const char *name)
{
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool emu_http_consumes(emu_request *r, const char *type)
{
  const char *ct = emu_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!ct)
    return true;
  while (*ct == ' ')
    ct++;
  size_t n = strcspn(ct, "; ");
  if (n == strlen(type) && strncasecmp(ct, type, n) == 0)
    return true;
  emu_problem_status(r, 415);
  return false;
}

/* ---- routing ---- */

/* Compares path segment [s, s+n) with pattern segment p (case-insensitive,
 * as ASP.NET routing is), capturing {id}/{sub}. */
static bool match_segment(emu_request *r, conn_ctx *c, const char *p, size_t plen, const char *s,
                          size_t n)
{
  if (plen == 4 && strncmp(p, "{id}", 4) == 0) {
    if (n >= sizeof r->id || n == 0) {
      c->bad_id = true;
      snprintf(r->id, sizeof r->id, "%.*s", (int)(n < 36 ? n : 36), s);
      return n > 0;
    }
    memcpy(r->id, s, n);
    r->id[n] = '\0';
    for (size_t i = 0; i < n; i++)
      r->id[i] = (char)(r->id[i] >= 'A' && r->id[i] <= 'Z' ? r->id[i] + 32 : r->id[i]);
    if (!emu_is_guid(r->id))
      c->bad_id = true;
    return true;
  }
  if (plen == 5 && strncmp(p, "{sub}", 5) == 0) {
    if (n == 0 || n >= sizeof r->sub)
      return false;
    memcpy(r->sub, s, n);
    r->sub[n] = '\0';
    return true;
  }
  return plen == n && strncasecmp(p, s, n) == 0;
}

static bool match_route(emu_request *r, conn_ctx *c, const char *pattern, const char *path)
{
  const char *p = pattern, *s = path;
  for (;;) {
    while (*s == '/')
      s++;
    const char *pe = strchr(p, '/');
    size_t plen = pe ? (size_t)(pe - p) : strlen(p);
    const char *se = strchr(s, '/');
    size_t slen = se ? (size_t)(se - s) : strlen(s);
    if (!match_segment(r, c, p, plen, s, slen))
      return false;
    s += slen;
    while (*s == '/')
      s++; /* trailing slash is fine */
    if (!pe)
      return *s == '\0';
    if (*s == '\0')
      return false;
    p = pe + 1;
  }
}

bool emu_route(emu_request *r, const char *method, const char *url)
{
  conn_ctx *c = (conn_ctx *)r;
  bool path_known = false;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    c->bad_id = false;
    if (!match_route(r, c, routes[i].pattern, url))
      continue;
    path_known = true;
    if (strcmp(routes[i].ep->method, method) == 0) {
      r->ep = routes[i].ep;
      return true;
    }
  }
  c->bad_id = false;
  emu_reply_empty(r, path_known ? 405 : 404);
  return false;
}

/* ---- pipeline stages ---- */

static bool accept_ok(const char *accept, const char *type)
{
  if (!accept || !*accept)
    return true;
  const char *p = accept;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *end = p + strcspn(p, ",;");
    size_t n = (size_t)(end - p);
    while (n > 0 && p[n - 1] == ' ')
      n--;
    if ((n == strlen(type) && strncasecmp(p, type, n) == 0) || (n == 3 && strncmp(p, "*/*", 3) == 0))
      return true;
    p = end + strcspn(end, ",");
  }
  return false;
}

static int limit_for(const char *endpoint)
{
  emu_knobs k;
  emu_knobs_get(&k);
  if (!k.rate_limits)
    return 0;
  if (strcmp(endpoint, "details") == 0)
    return k.limit_details;
  if (strcmp(endpoint, "search") == 0)
    return k.limit_search;
  return k.limit_default;
}

static void add_header(emu_request *r, const char *name, const char *value)
{
  if (r->resp)
    MHD_add_response_header(r->resp, name, value);
}

static void reply_fault(emu_request *r, const emu_fault *f)
{
  if (r->ep->flags & EMU_F_BROKER) {
    emu_problem(r, (unsigned)f->status, 0, "Injected fault (altinn-emulator)");
  } else if (strcmp(r->ep->name, "token") == 0) {
    static const char body[] =
        "{\"error\":\"server_error\",\"error_description\":\"Injected fault (altinn-emulator)\"}";
    emu_reply(r, (unsigned)f->status, "application/json; charset=utf-8", body, sizeof body - 1);
  } else {
    static const char body[] = "Injected fault (altinn-emulator)";
    emu_reply(r, (unsigned)f->status, "text/plain; charset=utf-8", body, sizeof body - 1);
  }
  if (f->status == 429 || f->status == 503)
    add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
}

/* Runs everything that needs only the headers. Returns false when the
 * connection must be dropped without an answer (reset fault). */
static bool run_head_stages(conn_ctx *c)
{
  emu_request *r = &c->r;
  const emu_endpoint *ep = r->ep;

  if (!(ep->flags & EMU_F_NOFAULT) && emu_faults_take(ep->name, &c->fault)) {
    c->has_fault = true;
    if (c->fault.kind != EMU_FAULT_STALL)
      emu_sleep_ms(c->fault.latency_ms);
    if (c->fault.kind == EMU_FAULT_RESET && c->fault.after_bytes <= 0)
      return false;
    if (c->fault.kind == EMU_FAULT_STATUS) {
      reply_fault(r, &c->fault);
      return true;
    }
  }

  if (ep->flags & EMU_F_BROKER) {
    /* Broker accepts Altinn and raw Maskinporten tokens, no clock skew. */
    emu_auth_bearer(r->cfg, emu_header(r, MHD_HTTP_HEADER_AUTHORIZATION), true, true, 0, &r->caller,
                    NULL);
    int limit = (ep->flags & EMU_F_RATE) && r->caller.valid ? limit_for(ep->name) : 0;
    int retry_after = 0;
    if (limit > 0 && !emu_ratelimit_allow(r->caller.org, ep->name, limit, &retry_after)) {
      emu_stats_rate_limited();
      char body[160], ra[16];
      snprintf(body, sizeof body,
               "{ \"statusCode\": 429, \"message\": \"Rate limit is exceeded. Try again in %d "
               "seconds.\" }",
               retry_after);
      snprintf(ra, sizeof ra, "%d", retry_after);
      emu_reply(r, 429, "application/json", body, strlen(body));
      add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
      return true;
    }
    const char *produces = ep->produces ? ep->produces
                           : (ep->flags & EMU_F_JSON) ? "application/json"
                                                      : NULL;
    if (produces && !accept_ok(emu_header(r, MHD_HTTP_HEADER_ACCEPT), produces)) {
      char body[160];
      snprintf(body, sizeof body,
               "This endpoint does not support the requested Accept header. Supported Accept "
               "headers are: %s",
               produces);
      emu_reply(r, 406, "text/plain; charset=utf-8", body, strlen(body));
      return true;
    }
    if (!r->caller.valid) {
      emu_reply_empty(r, 401);
      add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
      return true;
    }
    if (ep->scope_a && !emu_caller_has_scope(&r->caller, ep->scope_a) &&
        !(ep->scope_b && emu_caller_has_scope(&r->caller, ep->scope_b))) {
      emu_reply_empty(r, 403);
      return true;
    }
  }
  if (c->bad_id) {
    cJSON *errors = cJSON_CreateObject();
    char msg[96];
    snprintf(msg, sizeof msg, "The value '%s' is not valid.", r->id);
    emu_problem_add(errors, "fileTransferId", msg);
    emu_problem_validation(r, errors);
    return true;
  }
  if (ep->begin)
    ep->begin(r);
  return true;
}

static bool request_has_big_body(emu_request *r)
{
  const char *expect = emu_header(r, MHD_HTTP_HEADER_EXPECT);
  const char *te = emu_header(r, MHD_HTTP_HEADER_TRANSFER_ENCODING);
  const char *cl = emu_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (expect && strcasecmp(expect, "100-continue") == 0)
    return true;
  if (te && strcasestr(te, "chunked"))
    return true;
  return cl && strtoll(cl, NULL, 10) > DISCARD_LIMIT;
}

static enum MHD_Result queue(conn_ctx *c)
{
  emu_request *r = &c->r;
  if (!r->resp)
    emu_problem(r, 500, 0, NULL); /* a handler forgot to answer: make it visible */
  if (!r->resp)
    return MHD_NO;
  if (r->ep && (r->ep->flags & EMU_F_BROKER)) {
    add_header(r, "X-Content-Type-Options", "nosniff");
    add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  }
  emu_tokens_date_header(r->resp);
  enum MHD_Result ret = MHD_queue_response(r->conn, r->status, r->resp);
  MHD_destroy_response(r->resp);
  r->resp = NULL;
  r->status = 0;
  r->answered = true;
  return ret;
}

static void collect_body(emu_request *r, const char *data, size_t size)
{
  if (r->body_overflow)
    return;
  if (r->body_len + size > MAX_JSON_BODY) {
    r->body_overflow = true;
    return;
  }
  if (r->body_len + size + 1 > r->body_cap) {
    size_t nc = (r->body_len + size + 1) * 2;
    char *nb = realloc(r->body, nc);
    if (!nb) {
      r->body_overflow = true;
      return;
    }
    r->body = nb;
    r->body_cap = nc;
  }
  memcpy(r->body + r->body_len, data, size);
  r->body_len += size;
  r->body[r->body_len] = '\0';
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
  (void)version;
  const emu_config *cfg = cls;
  conn_ctx *c = *con_cls;
  if (!c) {
    c = calloc(1, sizeof *c);
    if (!c)
      return MHD_NO;
    *con_cls = c;
    emu_request *r = &c->r;
    r->conn = conn;
    r->cfg = cfg;
    r->url = url;
    char a[33], b[17];
    emu_random_hex(a, 16);
    emu_random_hex(b, 8);
    snprintf(r->trace_id, sizeof r->trace_id, "00-%s-%s-00", a, b);
    c->body_started_ms = emu_mono_ms();
    if (emu_route(r, method, url)) {
      if (!(r->ep->flags & EMU_F_NOCOUNT))
        emu_stats_request(r->ep->name);
      if (!run_head_stages(c))
        return MHD_NO;
    }
    if (r->resp && request_has_big_body(r))
      return queue(c);
    return MHD_YES;
  }

  emu_request *r = &c->r;
  if (*upload_data_size > 0) {
    size_t size = *upload_data_size;
    *upload_data_size = 0;
    if (r->resp || r->answered)
      return MHD_YES; /* answer decided: drop the rest of the body */
    int64_t before = c->body_bytes;
    c->body_bytes += (int64_t)size;
    if (c->has_fault && !emu_fault_pace(&c->fault, before, c->body_bytes, c->body_started_ms))
      return MHD_NO; /* reset mid-body */
    if (r->ep && r->ep->data)
      r->ep->data(r, upload_data, size);
    else
      collect_body(r, upload_data, size);
    return MHD_YES;
  }

  if (r->answered)
    return MHD_YES; /* already answered */
  if (!r->resp && r->ep && r->ep->finish) {
    if (r->body_overflow && !r->ep->data)
      emu_problem(r, 413, 0, "Request body too large for the emulator's JSON endpoints");
    else
      r->ep->finish(r);
  }
  return queue(c);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
  (void)cls;
  (void)conn;
  conn_ctx *c = *con_cls;
  if (!c)
    return;
  emu_request *r = &c->r;
  if (r->ep && r->ep->cleanup)
    r->ep->cleanup(r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
  if (r->resp)
    MHD_destroy_response(r->resp);
  free(r->body);
  free(c);
  *con_cls = NULL;
}

static void log_mhd(void *cls, const char *fmt, va_list ap)
{
  (void)cls;
  /* MHD reports every client that hangs up mid-TLS; worth keeping on stderr
   * for debugging, but never on stdout (tests parse stdout). */
  fputs("altinn-emulator: mhd: ", stderr);
  vfprintf(stderr, fmt, ap);
}

/* Faults and downloads need the request context of the connection. */
const emu_fault *emu_http_fault(const emu_request *r)
{
  const conn_ctx *c = (const conn_ctx *)r;
  return c->has_fault ? &c->fault : NULL;
}

/* Binds the listening socket ourselves so the real port (port 0 = any) is
 * known, and the URLs derived from it are set, before the first request can
 * arrive. */
static int open_listener(emu_config *cfg)
{
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, cfg->listen_address, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)cfg->port);
    len = sizeof *sin;
  } else if (inet_pton(AF_INET6, cfg->listen_address, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)cfg->port);
    len = sizeof *sin6;
  } else {
    fprintf(stderr, "altinn-emulator: listen address %s is not an IP address\n",
            cfg->listen_address);
    return -1;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 256) != 0 ||
      getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
    fprintf(stderr, "altinn-emulator: cannot listen on %s:%d: %s\n", cfg->listen_address,
            cfg->port, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  emu_config_set_port(cfg, ntohs(ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port));
  return fd;
}

struct MHD_Daemon *emu_http_start(emu_config *cfg)
{
  int fd = open_listener(cfg);
  if (fd < 0)
    return NULL;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_TLS |
                   MHD_USE_ERROR_LOG | MHD_USE_AUTO;
  struct MHD_Daemon *d = MHD_start_daemon(
      flags, 0, NULL, NULL, access_handler, (void *)cfg,
      MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, /* first, so it sees every message */
      MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_HTTPS_MEM_CERT, cfg->cert_pem,
      MHD_OPTION_HTTPS_MEM_KEY, cfg->key_pem,
      MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
      /* big per-connection buffers: fewer, larger body chunks for GiB files */
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(1024 * 1024),
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)300,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int)512,
      MHD_OPTION_END);
  if (!d) {
    fprintf(stderr, "altinn-emulator: cannot start HTTPS on %s:%d (bad TLS cert/key?)\n",
            cfg->listen_address, cfg->port);
    close(fd);
  }
  return d;
}
