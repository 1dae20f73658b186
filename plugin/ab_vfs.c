/* ab_vfs.c - the session and the path dispatch behind ab_vfs_methods.
 * Outbox and inbox semantics live in ab_outbox.c and ab_inbox.c. */
#include "ab_vfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

ab_vfs *ab_vfs_new(const ab_config *cfg, ab_log_fn log, void *log_ctx,
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
  if (vfs->clients == NULL || vfs->mounts == NULL) {
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
  vfs->state = ab_state_open(cfg->state_dir, err);
  if (vfs->state == NULL) {
    ab_vfs_free(vfs);
    return NULL;
  }
  ab_http_options hopts = {
    .ca_pem = cfg->ca_pem, .ca_pem_len = cfg->ca_pem_len,
  };
  vfs->http = ab_http_new(&hopts);
  if (vfs->http == NULL) {
    ab_error_set(err, ENOMEM, "cannot create the HTTP context");
    ab_vfs_free(vfs);
    return NULL;
  }
  return vfs;
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
      char *scope = ab_config_client_scope(cfg, mc->client);
      ab_auth_config ac;
      ab_config_auth(cfg, mc->client, scope, &ac);
      cs->auth = ab_auth_new(&ac, err);
      free(scope);
      if (cs->auth == NULL) {
        free(visible);
        return ab_error_prefix(err, "%s: AltinnBrokerClient %s", mc->client->source, mc->client->name);
      }
      cs->cfg = mc->client;
      cs->broker.base_url = cfg->platform_url;
      cs->broker.http = vfs->http;
      cs->broker.auth = cs->auth;
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
  for (size_t i = 0; i < vfs->n_mounts; i++) {
    free(vfs->mounts[i].entries);
    free(vfs->mounts[i].sent);
  }
  for (size_t i = 0; i < vfs->n_clients; i++) {
    ab_auth_free(vfs->clients[i].auth);
  }
  free(vfs->mounts);
  free(vfs->clients);
  ab_http_free(vfs->http);
  ab_state_close(vfs->state);
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

/* Splits a path into its mount and the name below it ("" for the mount
 * itself). Only one level below a mount exists. */
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
    /* Trailing slashes ("/inbox/a.txt/") are not files. */
    if (strchr(rest, '/') != NULL) {
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
  if (*name == '\0') {
    st->is_dir = 1;
    st->mode = m->cfg->direction == AB_OUTBOX ? 0755 : 0755;
    st->mtime = time(NULL);
    return 0;
  }
  if (m->cfg->direction == AB_OUTBOX) {
    return ab_outbox_stat(m, name, st, err);
  }
  return ab_inbox_stat(vfs, m, name, st, err);
}

static int vfs_open(ab_vfs *vfs, const char *path, int flags, ab_file **out, ab_error *err) {
  const char *name;
  ab_mount *m = resolve(vfs, path, &name, err);
  if (m == NULL) {
    return -1;
  }
  if (*name == '\0') {
    return ab_error_set(err, EISDIR, "%s is a directory", path);
  }
  int writing = (flags & (O_WRONLY | O_RDWR | O_APPEND | O_CREAT | O_TRUNC)) != 0;
  if (m->cfg->direction == AB_OUTBOX) {
    if (!writing) {
      return ab_error_set(err, EACCES, "%s: the outbox %s is write-only; sent files cannot be read back",
                          path, m->cfg->path);
    }
    return ab_outbox_open(vfs, m, name, flags, out, err);
  }
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
  st->mtime = time(NULL);
  return 0;
}

static int vfs_close(ab_file *f, int aborted, ab_error *err) {
  return f->writing ? ab_outbox_close(f, aborted, err) : ab_inbox_close(f, err);
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

static int dir_add(ab_dir *d, const char *name) {
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
  if (*name != '\0') {
    return ab_error_set(err, ENOTDIR, "%s is not a directory", path);
  }
  if (m->cfg->direction == AB_INBOX && ab_inbox_refresh(vfs, m, 0, err) < 0) {
    return -1;
  }
  ab_dir *d = calloc(1, sizeof(*d));
  int ok = d != NULL && dir_add(d, ".") > 0 && dir_add(d, "..") > 0;
  if (m->cfg->direction == AB_INBOX) {
    for (size_t i = 0; ok && i < m->n_entries; i++) {
      ok = dir_add(d, m->entries[i].name) > 0;
    }
  } else {
    for (size_t i = 0; ok && i < m->n_sent; i++) {
      ok = dir_add(d, m->sent[i].name) > 0;
    }
  }
  if (!ok) {
    vfs_closedir(d);
    return ab_error_set(err, ENOMEM, "out of memory");
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
    return ab_outbox_unlink(m, name, err);
  }
  return ab_inbox_unlink(vfs, m, name, err);
}

static int vfs_rename(ab_vfs *vfs, const char *from, const char *to, ab_error *err) {
  (void) vfs;
  return ab_error_set(err, EPERM, "rename %s -> %s: renaming is not supported in Altinn Broker mounts",
                      from, to);
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
