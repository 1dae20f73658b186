/* ab_vfs.c - the session and the path dispatch behind ab_vfs_methods.
 * Outbox and inbox semantics live in ab_outbox.c and ab_inbox.c. */
#include "ab_vfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


void ab_vfs_logf(ab_vfs *vfs, int level, const char *fmt, ...) {
  if (vfs == NULL || vfs->log == NULL) {
    return;
  }
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  vfs->log(vfs->log_ctx, level, line);
}

int ab_spool_create(ab_vfs *vfs, ab_error *err) {
  /* O_TMPFILE: the spool file has no name, so nothing is left behind when
   * the session dies, and no other session can see it. */
  int fd = openat(vfs->spool_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    return ab_error_set(err, errno == ENOSPC ? ENOSPC : EIO,
                        "cannot create a spool file in %s: %s",
                        vfs->cfg->spool_dir, strerror(errno));
  }
  return fd;
}

/* The shared state: the agent when one runs, else a hub in this process
 * (memory only for a session; the state directory for the admin). */
static int open_shared(ab_vfs *vfs, int admin, ab_error *err) {
  const ab_config *cfg = vfs->cfg;
  ab_error why;
  ab_error_clear(&why);
  if (!cfg->agent_off) {
    vfs->shared = ab_shared_connect(cfg, &why);
    if (vfs->shared != NULL) {
      return 0;
    }
  } else {
    ab_error_set(&why, 0, "AltinnBrokerAgent is off");
  }
  ab_hub_options ho = { .cfg = cfg, .log = vfs->log, .log_ctx = vfs->log_ctx, .memory_only = !admin };
  ab_hub *hub = ab_hub_new(&ho, err);
  if (hub == NULL && admin && err->err_no == EWOULDBLOCK) {
    /* The state directory is busy (an agent starting or stopping): work alone. */
    ho.memory_only = 1;
    hub = ab_hub_new(&ho, err);
  }
  if (hub == NULL || (vfs->shared = ab_shared_in_process(hub)) == NULL) {
    return hub == NULL ? -1 : ab_error_set(err, ENOMEM, "out of memory");
  }
  if (!admin) {
    ab_vfs_logf(vfs, cfg->agent_off ? AB_LOG_INFO : AB_LOG_ERROR, "degraded: %s; this session "
                "fetches its own tokens and keeps its inbox state in memory (no sharing with "
                "other sessions)", why.message);
  }
  return 0;
}

int ab_vfs_uses_agent(const ab_vfs *vfs) {
  return ab_shared_is_agent(vfs->shared);
}

static ab_vfs *vfs_new(const ab_config *cfg, ab_log_fn log, void *log_ctx, int admin,
                       ab_error *err);

ab_vfs *ab_vfs_new(const ab_config *cfg, ab_log_fn log, void *log_ctx, ab_error *err) {
  return vfs_new(cfg, log, log_ctx, 0, err);
}

ab_vfs *ab_vfs_new_admin(const ab_config *cfg, ab_log_fn log, void *log_ctx, ab_error *err) {
  return vfs_new(cfg, log, log_ctx, 1, err);
}

static ab_vfs *vfs_new(const ab_config *cfg, ab_log_fn log, void *log_ctx, int admin,
                       ab_error *err) {
  ab_vfs *vfs = calloc(1, sizeof(*vfs));
  if (vfs == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  vfs->cfg = cfg;
  vfs->log = log;
  vfs->log_ctx = log_ctx;
  vfs->spool_fd = -1;
  vfs->clients = calloc(cfg->n_clients ? cfg->n_clients : 1, sizeof(ab_client_session));
  vfs->mounts = calloc(cfg->n_mounts ? cfg->n_mounts : 1, sizeof(ab_mount));
  vfs->metrics = ab_metrics_new();
  if (vfs->clients == NULL || vfs->mounts == NULL || vfs->metrics == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    ab_vfs_free(vfs);
    return NULL;
  }
  /* O_PATH: the directory may be write+search only (mode 1733) for users. */
  vfs->spool_fd = open(cfg->spool_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (vfs->spool_fd < 0) {
    ab_error_set(err, EIO, "cannot open spool directory %s: %s", cfg->spool_dir, strerror(errno));
    ab_vfs_free(vfs);
    return NULL;
  }
  if (open_shared(vfs, admin, err) < 0) {
    ab_vfs_free(vfs);
    return NULL;
  }
  vfs->journal = ab_journal_open(vfs->shared, err);
  if (vfs->journal == NULL) {
    ab_vfs_free(vfs);
    return NULL;
  }
  ab_http_options hopts = {
    .ca_pem = cfg->ca_pem, .ca_pem_len = cfg->ca_pem_len,
    .observe = ab_metrics_http, .observe_ctx = vfs->metrics,
    .connect_timeout_ms = (long) cfg->upload.connect_timeout_ms,
    .low_speed_timeout_s = (long) ((cfg->upload.stall_timeout_ms + 999) / 1000),
  };
  vfs->http = ab_http_new(&hopts);
  if (vfs->http == NULL) {
    ab_error_set(err, ENOMEM, "cannot create the HTTP context");
    ab_vfs_free(vfs);
    return NULL;
  }
  return vfs;
}

/* Longest a Broker call waits for the rate budget before failing: the
 * budget is per minute, and a full window frees up within 61 s; a little
 * more covers the callers that lose the race for a freed slot. */
#define PACE_MAX_WAIT_MS 125000

static long long mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ab_vfs_pace(void *ctx, const char *endpoint, ab_error *err) {
  ab_client_session *cs = ctx;
  long long start = mono_ms();
  int logged = 0;
  for (;;) {
    long long retry = 0;
    ab_error e2;
    int rc = ab_shared_budget(cs->vfs->shared, cs->cfg->org, endpoint, &retry, &e2);
    if (rc != 0) {
      if (rc < 0) {
        /* No budget service (the agent is gone): the call itself will say
         * whether it can be made; do not block it here. */
        ab_vfs_logf(cs->vfs, AB_LOG_DEBUG, "rate budget unavailable: %s", e2.message);
      }
      return 0;
    }
    long long waited = mono_ms() - start;
    if (cs->pace_nowait || waited + retry > PACE_MAX_WAIT_MS) {
      return ab_error_set(err, EAGAIN, "the Broker's rate limit for %s (organisation %s) is used "
                          "up for now; try again in %lld s", endpoint, cs->cfg->org,
                          (retry + 999) / 1000);
    }
    if (!logged) {
      ab_vfs_logf(cs->vfs, AB_LOG_INFO, "waiting %lld ms for the Broker rate budget (%s, org %s)",
                  retry, endpoint, cs->cfg->org);
      logged = 1;
    }
    /* ProFTPD's timers (SIGALRM) interrupt sleeps: sleep to a deadline. */
    long long until = mono_ms() + retry;
    for (long long left = retry; left > 0; left = until - mono_ms()) {
      struct timespec ts = { left / 1000, (left % 1000) * 1000000L };
      nanosleep(&ts, NULL);
    }
  }
}

int ab_vfs_login(ab_vfs *vfs, const ab_principal *who, ab_error *err) {
  const ab_config *cfg = vfs->cfg;
  if (vfs->user != NULL) {
    return ab_error_set(err, EALREADY, "session already logged in as %s", vfs->user);
  }
  vfs->user = strdup(who != NULL && who->user != NULL ? who->user : "(admin)");
  const ab_mount_cfg **visible = calloc(cfg->n_mounts ? cfg->n_mounts : 1, sizeof(*visible));
  size_t n_visible = 0;
  if (vfs->user == NULL || visible == NULL) {
    free(visible);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  if (ab_shared_login(vfs->shared, who, err) < 0) {
    free(visible);
    return ab_error_prefix(err, "shared state");
  }
  if (ab_audience_mounts(cfg, who, visible, &n_visible, err) < 0) {
    free(visible);
    return -1;
  }
  for (size_t i = 0; i < n_visible; i++) {
    const ab_mount_cfg *mc = visible[i];
    /* One authenticated client per Maskinporten client the user's mounts use. */
    ab_client_session *cs = NULL;
    for (size_t j = 0; j < vfs->n_clients; j++) {
      if (vfs->clients[j].cfg == mc->client) {
        cs = &vfs->clients[j];
      }
    }
    if (cs == NULL) {
      cs = &vfs->clients[vfs->n_clients];
      /* Tokens come from the shared state, which holds the keys. */
      cs->token_ctx.shared = vfs->shared;
      cs->token_ctx.client = mc->client->name;
      ab_auth_config ac = { .source = ab_shared_token, .source_ctx = &cs->token_ctx };
      cs->auth = ab_auth_new(&ac, err);
      if (cs->auth == NULL) {
        free(visible);
        return ab_error_prefix(err, "%s: AltinnBrokerClient %s", mc->client->source, mc->client->name);
      }
      cs->cfg = mc->client;
      cs->vfs = vfs;
      cs->broker.base_url = cfg->platform_url;
      cs->broker.http = vfs->http;
      cs->broker.auth = cs->auth;
      cs->broker.pace = ab_vfs_pace;
      cs->broker.pace_ctx = cs;
      vfs->n_clients++;
    }
    ab_mount *m = &vfs->mounts[vfs->n_mounts++];
    m->cfg = mc;
    m->client = cs;
  }
  free(visible);
  return 0;
}

void ab_vfs_free(ab_vfs *vfs) {
  if (vfs == NULL) {
    return;
  }
  ab_inbox_free(vfs);
  for (size_t i = 0; i < vfs->n_mounts; i++) {
    ab_outbox_free(&vfs->mounts[i]);
  }
  for (size_t i = 0; i < vfs->n_clients; i++) {
    ab_auth_free(vfs->clients[i].auth);
  }
  free(vfs->mounts);
  free(vfs->clients);
  ab_http_free(vfs->http);
  if (vfs->metrics != NULL) {
    ab_vfs_flush_metrics(vfs);
    ab_metrics_free(vfs->metrics);
  }
  ab_journal_close(vfs->journal);
  ab_shared_free(vfs->shared);
  if (vfs->spool_fd >= 0) {
    close(vfs->spool_fd);
  }
  free(vfs->user);
  free(vfs);
}

size_t ab_vfs_mount_count(const ab_vfs *vfs) {
  return vfs->n_mounts;
}

const char *ab_vfs_mount_path(const ab_vfs *vfs, size_t i) {
  return i < vfs->n_mounts ? vfs->mounts[i].cfg->path : NULL;
}

int ab_file_fd(const ab_file *f) {
  return f->fd;
}

/* Splits a path into its mount and the path below it ("" for the mount
 * itself). An inbox has one level; an outbox may have two (its "sent"
 * and recipient directories), which ab_outbox.c sorts out. */
static ab_mount *resolve(ab_vfs *vfs, const char *path, const char **name,
                         ab_error *err) {
  for (size_t i = 0; i < vfs->n_mounts; i++) {
    const char *mp = vfs->mounts[i].cfg->path;
    size_t n = strlen(mp);
    if (strncmp(path, mp, n) != 0 || (path[n] != '\0' && path[n] != '/')) {
      continue;
    }
    const char *rest = path + n;
    while (*rest == '/') rest++;
    /* Trailing slashes ("/inbox/a.txt/") are not files. Outboxes (recipient
     * directories) and inboxes with a directory per sender have more levels,
     * which ab_outbox.c and ab_inbox.c check. */
    const ab_mount_cfg *mc = vfs->mounts[i].cfg;
    if (strchr(rest, '/') != NULL && mc->direction == AB_INBOX && !mc->by_sender) {
      ab_error_set(err, ENOENT, "%s: no such file (%s has no subdirectories)", path, mp);
      return NULL;
    }
    *name = rest;
    return &vfs->mounts[i];
  }
  ab_error_set(err, ENOENT, "%s: not in an Altinn Broker mount", path);
  return NULL;
}

static int vfs_stat(ab_vfs *vfs, const char *path, ab_stat *st, ab_error *err) {
  const char *name;
  ab_mount *m = resolve(vfs, path, &name, err);
  if (m == NULL) {
    return -1;
  }
  memset(st, 0, sizeof(*st));
  if (m->cfg->direction == AB_OUTBOX) {
    return ab_outbox_stat(vfs, m, name, st, err);
  }
  if (*name == '\0') {
    st->is_dir = 1;
    st->mode = 0755;
    st->mtime = time(NULL);
    return 0;
  }
  return ab_inbox_stat(vfs, m, name, st, err);
}

static int vfs_open(ab_vfs *vfs, const char *path, int flags, ab_file **out, ab_error *err) {
  const char *name;
  ab_mount *m = resolve(vfs, path, &name, err);
  if (m == NULL) {
    return -1;
  }
  if (m->cfg->direction == AB_OUTBOX) {
    return ab_outbox_open(vfs, m, name, flags, out, err);
  }
  if (*name == '\0') {
    return ab_error_set(err, EISDIR, "%s is a directory", path);
  }
  int writing = (flags & (O_WRONLY | O_RDWR | O_APPEND | O_CREAT | O_TRUNC)) != 0;
  if (writing) {
    return ab_error_set(err, EACCES, "%s: the inbox %s is read-only; put files into an outbox",
                        path, m->cfg->path);
  }
  return ab_inbox_open(vfs, m, name, flags, out, err);
}

static ssize_t vfs_pread(ab_file *f, void *buf, size_t len, off_t off, ab_error *err) {
  if (f->writing) {
    return ab_error_set(err, EBADF, "%s was opened for writing", f->name);
  }
  if (f->mount->cfg->direction == AB_OUTBOX) {
    return ab_outbox_pread(f, buf, len, off, err); /* a receipt */
  }
  return ab_inbox_pread(f, buf, len, off, err);
}

static ssize_t vfs_pwrite(ab_file *f, const void *buf, size_t len, off_t off, ab_error *err) {
  if (!f->writing) {
    return ab_error_set(err, EBADF, "%s was opened for reading", f->name);
  }
  return ab_outbox_pwrite(f, buf, len, off, err);
}

static int vfs_fstat(ab_file *f, ab_stat *st, ab_error *err) {
  (void) err;
  memset(st, 0, sizeof(*st));
  st->mode = f->writing ? 0644 : 0444;
  st->size = f->size;
  st->mtime = f->mtime != 0 ? f->mtime : time(NULL);
  return 0;
}

static int vfs_close(ab_file *f, int aborted, ab_error *err) {
  return f->mount->cfg->direction == AB_OUTBOX ? ab_outbox_close(f, aborted, err)
                                               : ab_inbox_close(f, err);
}

struct ab_dir {
  char **names;
  size_t n, next;
};

static void vfs_closedir(ab_dir *d) {
  if (d == NULL) {
    return;
  }
  for (size_t i = 0; i < d->n; i++) {
    free(d->names[i]);
  }
  free(d->names);
  free(d);
}

static int dir_add(void *ctx, const char *name) {
  ab_dir *d = ctx;
  char **grown = realloc(d->names, (d->n + 1) * sizeof(char *));
  if (grown == NULL) {
    return -1;
  }
  d->names = grown;
  d->names[d->n] = strdup(name);
  return d->names[d->n] == NULL ? -1 : (int) ++d->n;
}

static int vfs_opendir(ab_vfs *vfs, const char *path, ab_dir **out, ab_error *err) {
  const char *name;
  ab_mount *m = resolve(vfs, path, &name, err);
  if (m == NULL) {
    return -1;
  }
  ab_dir *d = calloc(1, sizeof(*d));
  int ok = d != NULL && dir_add(d, ".") > 0 && dir_add(d, "..") > 0;
  if (!ok) {
    vfs_closedir(d);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  int rc = m->cfg->direction == AB_OUTBOX ? ab_outbox_list(vfs, m, name, dir_add, d, err)
                                          : ab_inbox_list(vfs, m, name, dir_add, d, err);
  if (rc < 0) {
    vfs_closedir(d);
    return -1;
  }
  *out = d;
  return 0;
}

static const char *vfs_readdir(ab_dir *d) {
  return d->next < d->n ? d->names[d->next++] : NULL;
}

static int vfs_unlink(ab_vfs *vfs, const char *path, ab_error *err) {
  const char *name;
  ab_mount *m = resolve(vfs, path, &name, err);
  if (m == NULL) {
    return -1;
  }
  if (*name == '\0') {
    return ab_error_set(err, EISDIR, "%s is a directory", path);
  }
  if (m->cfg->direction == AB_OUTBOX) {
    return ab_outbox_unlink(vfs, m, name, err);
  }
  return ab_inbox_unlink(vfs, m, name, err);
}

int ab_vfs_confirm(ab_vfs *vfs, const char *path, ab_error *err) {
  const char *name;
  ab_mount *m = resolve(vfs, path, &name, err);
  if (m == NULL) {
    return -1;
  }
  if (m->cfg->direction != AB_INBOX || *name == '\0') {
    return ab_error_set(err, EINVAL, "%s is not a file in an inbox", path);
  }
  return ab_inbox_confirm(vfs, m, name, err);
}

static int vfs_rename(ab_vfs *vfs, const char *from, const char *to, ab_error *err) {
  const char *a, *b;
  ab_mount *m = resolve(vfs, from, &a, err);
  ab_mount *mt = m ? resolve(vfs, to, &b, err) : NULL;
  if (m == NULL || mt == NULL) {
    return -1;
  }
  if (m != mt || m->cfg->direction != AB_OUTBOX) {
    return ab_error_set(err, EPERM, "rename %s -> %s: only a file uploaded under a temporary "
                        "name can be renamed, within its outbox", from, to);
  }
  return ab_outbox_rename(vfs, m, a, b, err);
}

static const ab_vfs_methods methods = {
  .stat = vfs_stat,
  .open = vfs_open,
  .pread = vfs_pread,
  .pwrite = vfs_pwrite,
  .fstat = vfs_fstat,
  .close = vfs_close,
  .opendir = vfs_opendir,
  .readdir = vfs_readdir,
  .closedir = vfs_closedir,
  .unlink = vfs_unlink,
  .rename = vfs_rename,
};

const ab_vfs_methods *ab_vfs_methods_get(void) {
  return &methods;
}
