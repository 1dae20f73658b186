/* cli_events_serve.c - `altinn-broker events serve`: the Altinn Events
 * webhook receiver for the gateway's inboxes.
 *
 * It answers Altinn's platform.events.validatesubscription handshake and
 * hands each delivered CloudEvent to the gateway's agent (op inbox_event),
 * whose inbox listings then look at that transfer. Deliveries carry no
 * signature (auth-and-events.md §3.4): use a secret --path, TLS (here or in
 * a reverse proxy) and an IP allowlist; a forged event can at most make the
 * agent fetch one overview.
 *
 * Without --listen, or when no agent runs, it also keeps the inbox
 * listings fresh itself (Altinn Events pulled, search reconciliation), as
 * the agent would.
 *
 * One thread: libmicrohttpd runs from our select() loop, between rounds of
 * listing work when this process does that work. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <microhttpd.h>

#include "ab_events.h"
#include "ab_inbox_admin.h"
#include "cli.h"

#define MAX_BODY (256 * 1024)   /* one CloudEvent is a few hundred bytes */
#define WORK_MS 2000            /* feed work per round, per feed */

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void) sig;
  stopping = 1;
}

typedef struct serve_ctx {
  ab_vfs *vfs;
  const char *path;
  int verbose;
  long received, validations, ignored, rejected;
} serve_ctx;

typedef struct body {
  char *data;
  size_t len;
  int too_big;
} body;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text) {
  struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *) text,
                                                           MHD_RESPMEM_PERSISTENT);
  if (r == NULL) {
    return MHD_NO;
  }
  MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
  (void) version;
  serve_ctx *sc = cls;
  if (strcmp(url, sc->path) != 0) {
    return reply(c, 404, "not found\n");
  }
  if (strcmp(method, "POST") != 0) {
    return reply(c, 405, "POST Altinn events here\n");
  }
  body *b = *con_cls;
  if (b == NULL) {
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
      return MHD_NO;
    }
    *con_cls = b;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    if (b->len + *upload_data_size > MAX_BODY) {
      b->too_big = 1;
    } else {
      char *grown = realloc(b->data, b->len + *upload_data_size + 1);
      if (grown == NULL) {
        return MHD_NO;
      }
      b->data = grown;
      memcpy(b->data + b->len, upload_data, *upload_data_size);
      b->len += *upload_data_size;
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  ab_event ev;
  ab_event_kind kind = b->too_big ? AB_EVENT_INVALID : ab_event_parse_body(b->data, b->len, &ev);
  cJSON *json = kind == AB_EVENT_CLOUDEVENT ? cJSON_ParseWithLength(b->data, b->len) : NULL;
  if (kind == AB_EVENT_VALIDATION) {
    sc->validations++;
    fprintf(stderr, "altinn-broker: events serve: answered the subscription validation (%s)\n",
            ev.id);
    return reply(c, 200, "validated\n");
  }
  if (kind == AB_EVENT_INVALID) {
    sc->rejected++;
    return reply(c, 400, "not a CloudEvent\n");
  }
  sc->received++;
  ab_error err;
  int mine = ab_inbox_admin_event(sc->vfs, json, &err);
  cJSON_Delete(json);
  if (mine < 0) {
    /* Not taken: a non-2xx makes Altinn deliver it again later. */
    fprintf(stderr, "altinn-broker: events serve: cannot hand over %s: %s\n", ev.id, err.message);
    return reply(c, 503, "try again later\n");
  }
  if (mine == 0) {
    sc->ignored++;
  }
  if (sc->verbose) {
    fprintf(stderr, "altinn-broker: events serve: %s for %s (%s)\n", ev.type,
            ev.transfer_id[0] ? ev.transfer_id : "-", mine ? "looking at it" : "not for our inboxes");
  }
  /* 200 even when it is not about us: a retry would not change that. */
  return reply(c, 200, "ok\n");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void) cls; (void) c; (void) toe;
  body *b = *con_cls;
  if (b != NULL) {
    free(b->data);
    free(b);
    *con_cls = NULL;
  }
}

/* The TLS key is a secret: wipe it before the memory is reused. */
static void free_secret(char *p) {
  if (p != NULL) {
    volatile char *v = p;
    while (*v != '\0') {
      *v++ = '\0';
    }
    free(p);
  }
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return NULL;
  }
  char *buf = malloc(MAX_BODY + 1);
  size_t n = buf ? fread(buf, 1, MAX_BODY, f) : 0;
  fclose(f);
  if (buf != NULL) {
    buf[n] = '\0';
  }
  return buf;
}

static int parse_listen(const char *spec, struct sockaddr_in *addr) {
  const char *colon = strrchr(spec, ':');
  char host[64];
  if (colon == NULL || (size_t) (colon - spec) >= sizeof(host)) {
    return -1;
  }
  memcpy(host, spec, (size_t) (colon - spec));
  host[colon - spec] = '\0';
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_port = htons((uint16_t) port);
  return *end == '\0' && port >= 0 && port <= 65535 &&
         inet_pton(AF_INET, host, &addr->sin_addr) == 1 ? 0 : -1;
}

int cli_events_serve(cli_context *ctx, int argc, char **argv) {
  const char *listen = NULL, *cert = NULL, *key = NULL, *path = "/";
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v != NULL && strcmp(a, "--listen") == 0) listen = v;
    else if (v != NULL && strcmp(a, "--tls-cert") == 0) cert = v;
    else if (v != NULL && strcmp(a, "--tls-key") == 0) key = v;
    else if (v != NULL && strcmp(a, "--path") == 0) path = v;
    else {
      fprintf(stderr, "usage: altinn-broker events serve [--listen ADDR:PORT [--path /secret] "
              "[--tls-cert PEM --tls-key PEM]]\n");
      return 2;
    }
    i++;
  }
  if ((cert == NULL) != (key == NULL) || (cert != NULL && listen == NULL) || path[0] != '/') {
    fprintf(stderr, "altinn-broker: events serve: --tls-cert and --tls-key go together, with "
            "--listen; --path starts with '/'\n");
    return 2;
  }
  struct sockaddr_in addr;
  if (listen != NULL && parse_listen(listen, &addr) < 0) {
    fprintf(stderr, "altinn-broker: events serve: --listen wants IPv4-ADDRESS:PORT, got '%s'\n",
            listen);
    return 2;
  }
  char *cert_pem = cert ? read_text(cert) : NULL;
  char *key_pem = key ? read_text(key) : NULL;   /* read before dropping privileges */
  if ((cert && cert_pem == NULL) || (key && key_pem == NULL)) {
    fprintf(stderr, "altinn-broker: events serve: cannot read %s\n", cert_pem ? key : cert);
    free(cert_pem);
    free_secret(key_pem);
    return 1;
  }
  ab_vfs *vfs = cli_open_session(ctx);
  if (vfs == NULL) {
    free(cert_pem);
    free_secret(key_pem);
    return 1;
  }
  serve_ctx sc = { .vfs = vfs, .path = path, .verbose = ctx->verbose };
  struct MHD_Daemon *d = NULL;
  if (listen != NULL) {
    unsigned flags = MHD_USE_ERROR_LOG | (cert_pem ? MHD_USE_TLS : 0);
    d = cert_pem
        ? MHD_start_daemon(flags, 0, NULL, NULL, on_request, &sc,
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
                           MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60,
                           MHD_OPTION_HTTPS_MEM_CERT, cert_pem,
                           MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END)
        : MHD_start_daemon(flags, 0, NULL, NULL, on_request, &sc,
                           MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
                           MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                           MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 60, MHD_OPTION_END);
    if (d == NULL) {
      fprintf(stderr, "altinn-broker: events serve: cannot listen on %s\n", listen);
      ab_vfs_free(vfs);
      free(cert_pem);
      free_secret(key_pem);
      return 1;
    }
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  ab_error err;
  int background = 0;
  int due = ab_inbox_admin_work(vfs, 0, &background, &err);
  if (due < 0) {
    fprintf(stderr, "altinn-broker: events serve: %s\n", err.message);
  }
  const char *who = background ? "the gateway's agent keeps the inboxes fresh"
                               : "no agent runs: this process keeps the inboxes fresh";
  if (d != NULL) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &addr.sin_addr, host, sizeof(host));
    printf("altinn-broker events serve: %s; webhook at %s://%s:%u%s\n", who,
           cert_pem ? "https" : "http", host, info ? info->port : 0, path);
  } else {
    printf("altinn-broker events serve: %s\n", who);
  }
  fflush(stdout);
  while (!stopping) {
    long timeout_ms = 1000;
    if (!background) {
      /* Our own listings: a round of due work, then sleep until more is due. */
      due = ab_inbox_admin_work(vfs, WORK_MS, &background, &err);
      timeout_ms = due == 0 ? 50 : 1000;
    }
    if (d != NULL) {
      fd_set rs, ws, es;
      FD_ZERO(&rs);
      FD_ZERO(&ws);
      FD_ZERO(&es);
      MHD_socket max = 0;
      MHD_get_fdset(d, &rs, &ws, &es, &max);
      MHD_UNSIGNED_LONG_LONG mhd_to;
      if (MHD_get_timeout(d, &mhd_to) == MHD_YES && (long) mhd_to < timeout_ms) {
        timeout_ms = (long) mhd_to;
      }
      struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
      if (select(max + 1, &rs, &ws, &es, &tv) < 0 && errno != EINTR) {
        fprintf(stderr, "altinn-broker: events serve: select: %s\n", strerror(errno));
        break;
      }
      MHD_run_from_select(d, &rs, &ws, &es);
    } else {
      struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
      select(0, NULL, NULL, NULL, &tv);
    }
  }
  if (d != NULL) {
    MHD_stop_daemon(d);
    fprintf(stderr, "altinn-broker: events serve: stopping; %ld event(s) received (%ld not for "
            "our inboxes), %ld validation(s), %ld rejected\n", sc.received, sc.ignored,
            sc.validations, sc.rejected);
  }
  ab_vfs_free(vfs);            /* without an agent: saves the listings */
  free(cert_pem);
  free_secret(key_pem);
  return 0;
}
