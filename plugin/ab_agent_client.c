/* ab_agent_client.c - the session side of the agent (see ab_agent.h):
 * requests over the agent's socket, or to a hub in this process. */
#include "ab_agent.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ab_maskinporten.h"

/* A reply may take a while: a token fetch waits for Maskinporten (with one
 * retry) or for another node's fetch. */
#define REPLY_TIMEOUT_MS 60000
#define MAX_REPLY (64 * 1024 * 1024)

struct ab_shared {
  int fd;              /* agent socket, -1 when in-process or gone */
  int gone;            /* the agent connection broke */
  ab_hub *hub;         /* in-process hub, or NULL */
  ab_hub_peer peer;    /* in-process: our login */
  char *buf;           /* unread bytes from the agent */
  size_t len, cap;
};

ab_shared *ab_shared_connect(const ab_config *cfg, ab_error *err) {
  const char *state_dir = cfg->state_dir;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if ((size_t) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", state_dir, AB_AGENT_SOCKET)
      >= sizeof(sa.sun_path)) {
    ab_error_set(err, ENAMETOOLONG, "state directory path too long for a socket: %s", state_dir);
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
    int e = errno;
    if (fd >= 0) {
      close(fd);
    }
    ab_error_set(err, e, "no agent at %s: %s", sa.sun_path, strerror(e));
    return NULL;
  }
  ab_shared *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    close(fd);
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  s->fd = fd;
  cJSON *req = cJSON_CreateObject();
  cJSON_AddStringToObject(req, "op", "hello");
  cJSON *reply = ab_shared_call(s, req, err);
  if (reply == NULL) {
    ab_error_prefix(err, "agent at %s", sa.sun_path);
    ab_shared_free(s);
    return NULL;
  }
  char fp[17];
  ab_hub_config_fingerprint(cfg, fp);
  const char *theirs = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "config"));
  int same = theirs != NULL && strcmp(theirs, fp) == 0;
  cJSON_Delete(reply);
  if (!same) {
    ab_error_set(err, ESTALE, "the agent at %s serves a different configuration", sa.sun_path);
    ab_shared_free(s);
    return NULL;
  }
  return s;
}

ab_shared *ab_shared_in_process(ab_hub *hub) {
  ab_shared *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    ab_hub_free(hub);
    return NULL;
  }
  s->fd = -1;
  s->hub = hub;
  return s;
}

int ab_shared_is_agent(const ab_shared *s) {
  return s != NULL && s->hub == NULL;
}

void ab_shared_free(ab_shared *s) {
  if (s == NULL) {
    return;
  }
  if (s->fd >= 0) {
    close(s->fd);
  }
  ab_hub_free(s->hub);
  if (s->buf != NULL) {
    memset(s->buf, 0, s->cap); /* replies carry tokens */
  }
  free(s->buf);
  free(s);
}

static int gone(ab_shared *s, const char *why, ab_error *err) {
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
  s->gone = 1;
  return ab_error_set(err, EAGAIN, "the gateway's agent is gone (%s); reconnect to get a new session", why);
}

static int send_line(ab_shared *s, const char *text, ab_error *err) {
  size_t len = strlen(text);
  for (int part = 0; part < 2; part++) {
    const char *p = part == 0 ? text : "\n";
    size_t n = part == 0 ? len : 1;
    while (n > 0) {
      ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) {
        continue;
      }
      if (w <= 0) {
        return gone(s, strerror(errno), err);
      }
      p += w;
      n -= (size_t) w;
    }
  }
  return 0;
}

/* Reads one line (without '\n') into a malloc'ed string. */
static char *read_line(ab_shared *s, ab_error *err) {
  for (;;) {
    char *nl = s->len > 0 ? memchr(s->buf, '\n', s->len) : NULL;
    if (nl != NULL) {
      size_t n = (size_t) (nl - s->buf);
      char *line = malloc(n + 1);
      if (line == NULL) {
        ab_error_set(err, ENOMEM, "out of memory");
        return NULL;
      }
      memcpy(line, s->buf, n);
      line[n] = '\0';
      memmove(s->buf, nl + 1, s->len - n - 1);
      s->len -= n + 1;
      memset(s->buf + s->len, 0, n + 1);
      return line;
    }
    if (s->len + 65536 > s->cap) {
      if (s->cap > MAX_REPLY) {
        gone(s, "reply too large", err);
        return NULL;
      }
      size_t cap = s->cap ? s->cap * 2 : 65536 * 2;
      char *grown = realloc(s->buf, cap);
      if (grown == NULL) {
        ab_error_set(err, ENOMEM, "out of memory");
        return NULL;
      }
      s->buf = grown;
      s->cap = cap;
    }
    struct pollfd p = { .fd = s->fd, .events = POLLIN };
    int pr = poll(&p, 1, REPLY_TIMEOUT_MS);
    if (pr < 0 && errno == EINTR) {
      continue;
    }
    if (pr <= 0) {
      gone(s, pr == 0 ? "no reply in time" : strerror(errno), err);
      return NULL;
    }
    ssize_t n = recv(s->fd, s->buf + s->len, s->cap - s->len, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      gone(s, n == 0 ? "connection closed" : strerror(errno), err);
      return NULL;
    }
    s->len += (size_t) n;
  }
}

/* Turns a reply into NULL + err when it says ok=false. */
static cJSON *check_reply(cJSON *reply, ab_error *err) {
  if (reply == NULL) {
    ab_error_set(err, EIO, "the agent sent an unreadable reply");
    return NULL;
  }
  if (cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok"))) {
    return reply;
  }
  const cJSON *e = cJSON_GetObjectItem(reply, "errno");
  const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "error"));
  const cJSON *status = cJSON_GetObjectItem(reply, "status");
  const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "code"));
  ab_error_set_http(err, cJSON_IsNumber(e) && e->valueint > 0 ? e->valueint : EIO,
                    cJSON_IsNumber(status) ? status->valueint : 0, code, "%s",
                    msg ? msg : "the agent refused the request");
  cJSON_Delete(reply);
  return NULL;
}

cJSON *ab_shared_call(ab_shared *s, cJSON *req, ab_error *err) {
  if (req == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  if (s->hub != NULL) {
    cJSON *reply = ab_hub_handle(s->hub, &s->peer, req);
    cJSON_Delete(req);
    return check_reply(reply, err);
  }
  if (s->gone) {
    cJSON_Delete(req);
    gone(s, "earlier failure", err);
    return NULL;
  }
  char *text = cJSON_PrintUnformatted(req);
  cJSON_Delete(req);
  if (text == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  int rc = send_line(s, text, err);
  free(text);
  if (rc < 0) {
    return NULL;
  }
  char *line = read_line(s, err);
  if (line == NULL) {
    return NULL;
  }
  cJSON *reply = cJSON_Parse(line);
  ab_secret_free(line);
  return check_reply(reply, err);
}

/* A request object {"op":op}. */
static cJSON *request(const char *op, const char *org, const char *id) {
  cJSON *r = cJSON_CreateObject();
  if (r == NULL || !cJSON_AddStringToObject(r, "op", op) ||
      (org != NULL && !cJSON_AddStringToObject(r, "org", org)) ||
      (id != NULL && !cJSON_AddStringToObject(r, "id", id))) {
    cJSON_Delete(r);
    return NULL;
  }
  return r;
}

/* Sends req; returns 0 or -1 (the reply is discarded). */
static int simple(ab_shared *s, cJSON *req, ab_error *err) {
  cJSON *reply = ab_shared_call(s, req, err);
  cJSON_Delete(reply);
  return reply != NULL ? 0 : -1;
}

int ab_shared_login(ab_shared *s, const ab_principal *who, ab_error *err) {
  cJSON *req = request("login", NULL, NULL);
  if (req != NULL && who != NULL) {
    if (who->user != NULL) {
      cJSON_AddStringToObject(req, "user", who->user);
    }
    cJSON *groups = cJSON_AddArrayToObject(req, "groups");
    for (size_t i = 0; groups != NULL && i < who->n_groups; i++) {
      cJSON_AddItemToArray(groups, cJSON_CreateString(who->groups[i]));
    }
  }
  return simple(s, req, err);
}

char *ab_shared_token(void *ctx, const char *rejected, long long *valid_ms, ab_error *err) {
  ab_shared_token_ctx *c = ctx;
  cJSON *req = request("token", NULL, NULL);
  if (req != NULL) {
    cJSON_AddStringToObject(req, "client", c->client);
    if (rejected != NULL) {
      cJSON_AddStringToObject(req, "rejected", rejected);
    }
  }
  cJSON *reply = ab_shared_call(c->shared, req, err);
  if (reply == NULL) {
    return NULL;
  }
  cJSON *t = cJSON_GetObjectItem(reply, "token");
  const cJSON *v = cJSON_GetObjectItem(reply, "valid_ms");
  char *token = cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
  *valid_ms = cJSON_IsNumber(v) ? (long long) v->valuedouble : 0;
  if (cJSON_IsString(t)) {
    memset(t->valuestring, 0, strlen(t->valuestring));
  }
  cJSON_Delete(reply);
  if (token == NULL) {
    ab_error_set(err, EIO, "the agent sent no token");
  }
  return token;
}

int ab_shared_budget(ab_shared *s, const char *org, const char *endpoint, long long *retry_ms,
                     ab_error *err) {
  cJSON *req = request("budget", org, NULL);
  if (req != NULL) {
    cJSON_AddStringToObject(req, "endpoint", endpoint);
  }
  cJSON *reply = ab_shared_call(s, req, err);
  if (reply == NULL) {
    return -1;
  }
  int granted = cJSON_IsTrue(cJSON_GetObjectItem(reply, "granted"));
  const cJSON *r = cJSON_GetObjectItem(reply, "retry_ms");
  *retry_ms = cJSON_IsNumber(r) ? (long long) r->valuedouble : 1000;
  cJSON_Delete(reply);
  return granted;
}

int ab_shared_read_mark(ab_shared *s, const char *org, const char *id, ab_error *err) {
  return simple(s, request("read_mark", org, id), err);
}

int ab_shared_read_check(ab_shared *s, const char *org, const char *id, ab_error *err) {
  cJSON *reply = ab_shared_call(s, request("read_check", org, id), err);
  if (reply == NULL) {
    return -1;
  }
  int read = cJSON_IsTrue(cJSON_GetObjectItem(reply, "read"));
  cJSON_Delete(reply);
  return read;
}

int ab_shared_confirm_claim(ab_shared *s, const char *org, const char *id, char claim[160],
                            ab_error *err) {
  cJSON *reply = ab_shared_call(s, request("confirm_claim", org, id), err);
  if (reply == NULL) {
    return -1;
  }
  const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "state"));
  const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "claim"));
  snprintf(claim, 160, "%s", c ? c : "");
  int rc = state == NULL ? ab_error_set(err, EIO, "the agent sent no claim state")
         : strcmp(state, "claimed") == 0 ? AB_CLAIM_OK
         : strcmp(state, "confirmed") == 0 ? AB_CLAIM_ALREADY_CONFIRMED : AB_CLAIM_BUSY;
  cJSON_Delete(reply);
  return rc;
}

int ab_shared_confirm_done(ab_shared *s, const char *org, const char *id, const char *claim,
                           int confirmed, ab_error *err) {
  cJSON *req = request("confirm_done", org, id);
  if (req != NULL) {
    if (claim != NULL && claim[0] != '\0') {
      cJSON_AddStringToObject(req, "claim", claim);
    }
    cJSON_AddBoolToObject(req, "confirmed", confirmed);
  }
  return simple(s, req, err);
}

int ab_shared_inbox_list(ab_shared *s, const char *org, const char *resource,
                         unsigned long long have, long wait_ms, unsigned long long *version,
                         char **listing, ab_error *err) {
  cJSON *req = request("inbox_list", org, NULL);
  if (req != NULL) {
    cJSON_AddStringToObject(req, "resource", resource);
    if (have != 0) {
      cJSON_AddNumberToObject(req, "have", (double) have);
    }
    cJSON_AddNumberToObject(req, "wait_ms", (double) wait_ms);
  }
  cJSON *reply = ab_shared_call(s, req, err);
  if (reply == NULL) {
    return -1;
  }
  const cJSON *v = cJSON_GetObjectItem(reply, "version");
  *version = cJSON_IsNumber(v) ? (unsigned long long) v->valuedouble : 0;
  /* Taken over rather than copied: it is the whole listing. */
  cJSON *text = cJSON_GetObjectItem(reply, "listing");
  *listing = NULL;
  if (cJSON_IsString(text)) {
    *listing = text->valuestring;
    text->valuestring = NULL;
  }
  int unchanged = cJSON_IsTrue(cJSON_GetObjectItem(reply, "unchanged"));
  cJSON_Delete(reply);
  if (*listing == NULL && !unchanged) {
    return ab_error_set(err, EIO, "the agent sent no listing");
  }
  return 0;
}

int ab_shared_inbox_recheck(ab_shared *s, const char *org, const char *id, ab_error *err) {
  return simple(s, request("inbox_recheck", org, id), err);
}

int ab_shared_journal_add(ab_shared *s, const char *org, const cJSON *entry, char *previous,
                          ab_error *err) {
  cJSON *req = request("journal_add", org, NULL);
  if (req != NULL) {
    cJSON_AddItemToObject(req, "entry", cJSON_Duplicate(entry, 1));
  }
  cJSON *reply = ab_shared_call(s, req, err);
  if (reply == NULL) {
    return -1;
  }
  const char *prev = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "previous"));
  if (previous != NULL) {
    snprintf(previous, 37, "%s", prev ? prev : "");
  }
  cJSON_Delete(reply);
  return 0;
}
