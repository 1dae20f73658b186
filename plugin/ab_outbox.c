/* ab_outbox.c - uploads: spool on disk, then one Broker transfer on CLOSE.
 *
 * The client's bytes go to an anonymous spool file (writes may come at any
 * offset, in any order). Only at CLOSE do we know the file is complete, so
 * that is where the transfer is initialized and uploaded, and where a
 * failure is reported: the client's CLOSE fails and nothing is published. */
#include "ab_vfs_internal.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_names.h"

static ab_sent_entry *find_sent(ab_mount *m, const char *name) {
  for (size_t i = 0; i < m->n_sent; i++) {
    if (strcmp(m->sent[i].name, name) == 0) {
      return &m->sent[i];
    }
  }
  return NULL;
}

int ab_outbox_stat(ab_mount *m, const char *name, ab_stat *st, ab_error *err) {
  const ab_sent_entry *s = find_sent(m, name);
  if (s == NULL) {
    return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, name);
  }
  st->is_dir = 0;
  st->mode = 0644;
  st->size = s->size;
  st->mtime = s->mtime;
  return 0;
}

int ab_outbox_open(ab_vfs *vfs, ab_mount *m, const char *name, int flags,
                   ab_file **out, ab_error *err) {
  if (ab_name_check_upload(name, err) < 0) {
    return ab_error_prefix(err, "%s/%s", m->cfg->path, name);
  }
  if (flags & O_APPEND) {
    /* An append would need the bytes already sent, which the Broker does not
     * let us extend: a transfer, once uploaded, is final. */
    return ab_error_set(err, EPERM, "%s/%s: appending to a sent file is not possible; "
                        "upload the whole file again", m->cfg->path, name);
  }
  ab_file *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  f->fd = ab_spool_create(vfs, err);
  if (f->fd < 0) {
    free(f);
    return -1;
  }
  f->vfs = vfs;
  f->mount = m;
  f->writing = 1;
  snprintf(f->name, sizeof(f->name), "%s", name);
  *out = f;
  return 0;
}

ssize_t ab_outbox_pwrite(ab_file *f, const void *buf, size_t len, off_t off, ab_error *err) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = pwrite(f->fd, (const char *) buf + done, len - done, off + (off_t) done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ab_error_set(err, errno == ENOSPC || errno == EDQUOT ? ENOSPC : EIO,
                          "%s/%s: spool write failed: %s", f->mount->cfg->path, f->name,
                          strerror(errno));
    }
    done += (size_t) n;
  }
  if ((long long) off + (long long) len > f->size) {
    f->size = (long long) off + (long long) len;
  }
  return (ssize_t) len;
}

/* MD5 of the spool file, lower-case hex, as the Broker's checksum wants. */
static int spool_md5(int fd, long long size, char hex[33], ab_error *err) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return ab_error_set(err, EIO, "MD5 is not available from OpenSSL");
  }
  static const size_t chunk = 256 * 1024;
  unsigned char *buf = malloc(chunk);
  long long off = 0;
  int rc = buf ? 0 : ab_error_set(err, ENOMEM, "out of memory");
  while (rc == 0 && off < size) {
    ssize_t n = pread(fd, buf, chunk, (off_t) off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = ab_error_set(err, EIO, "spool read failed: %s", n < 0 ? strerror(errno) : "short file");
      break;
    }
    EVP_DigestUpdate(ctx, buf, (size_t) n);
    off += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 16) {
    for (unsigned i = 0; i < 16; i++) {
      snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
  } else if (rc == 0) {
    rc = ab_error_set(err, EIO, "MD5 computation failed");
  }
  free(buf);
  EVP_MD_CTX_free(ctx);
  return rc;
}

static void remember_sent(ab_mount *m, const ab_file *f, const char *id) {
  ab_sent_entry *s = find_sent(m, f->name);
  if (s == NULL) {
    ab_sent_entry *grown = realloc(m->sent, (m->n_sent + 1) * sizeof(*grown));
    if (grown == NULL) {
      return; /* only a convenience for stat-after-put; the upload succeeded */
    }
    m->sent = grown;
    s = &m->sent[m->n_sent++];
  }
  snprintf(s->name, sizeof(s->name), "%s", f->name);
  snprintf(s->id, sizeof(s->id), "%s", id);
  s->size = f->size;
  s->mtime = time(NULL);
}

/* Records the upload in the shared journal (receipts, duplicate
 * detection). A journal that cannot be written does not fail the upload:
 * the Broker has the transfer; the log line says which. */
static void journal(ab_file *f, const char *id, const char *md5, const char *reference,
                    const char *state) {
  ab_vfs *vfs = f->vfs;
  cJSON *e = cJSON_CreateObject();
  if (e == NULL) {
    return;
  }
  cJSON_AddStringToObject(e, "id", id);
  cJSON_AddStringToObject(e, "mount", f->mount->cfg->path);
  cJSON_AddStringToObject(e, "name", f->name);
  cJSON_AddNumberToObject(e, "size", (double) f->size);
  cJSON_AddStringToObject(e, "md5", md5);
  cJSON_AddStringToObject(e, "ref", reference);
  cJSON_AddStringToObject(e, "state", state);
  cJSON_AddStringToObject(e, "user", vfs->user);
  cJSON_AddNumberToObject(e, "at", (double) time(NULL));
  ab_error err;
  if (ab_shared_journal_add(vfs->shared, f->mount->client->cfg->org, e, NULL, &err) < 0) {
    ab_vfs_logf(vfs, AB_LOG_ERROR, "upload journal: cannot record fileTransferId=%s (%s): %s",
                id, state, err.message);
  }
  cJSON_Delete(e);
}

/* Initializes and uploads the spooled file as one Broker transfer. */
static int commit(ab_file *f, ab_error *err) {
  ab_vfs *vfs = f->vfs;
  const ab_mount_cfg *mc = f->mount->cfg;
  char md5[33];
  if (spool_md5(f->fd, f->size, md5, err) < 0) {
    return -1;
  }
  char sender[16];
  snprintf(sender, sizeof(sender), "0192:%s", f->mount->client->cfg->org);
  /* The Broker requires a non-empty sender's reference (<= 500 chars);
   * without a convention from the client we record where it came from. */
  char reference[512];
  snprintf(reference, sizeof(reference), "sftp:%.64s:%ld:%.200s", vfs->user,
           (long) time(NULL), f->name);
  ab_transfer_init init = {
    .file_name = f->name,
    .resource_id = mc->resource_id,
    .sender = sender,
    .recipients = (const char *const *) mc->recipients,
    .n_recipients = mc->n_recipients,
    .senders_reference = reference,
    .checksum_md5 = md5,
  };
  char id[AB_ID_LEN];
  if (ab_broker_initialize(&f->mount->client->broker, &init, id, err) < 0) {
    return -1;
  }
  snprintf(f->id, sizeof(f->id), "%s", id);
  journal(f, id, md5, reference, "initialized");
  if (ab_broker_upload_fd(&f->mount->client->broker, id, f->fd, (off_t) f->size, err) < 0) {
    journal(f, id, md5, reference, "failed");
    return ab_error_prefix(err, "transfer %s", id);
  }
  journal(f, id, md5, reference, "uploaded");
  remember_sent(f->mount, f, id);
  ab_vfs_report(vfs, "upload", "ok", f->mount, f->name, id, f->size, NULL);
  return 0;
}

int ab_outbox_close(ab_file *f, int aborted, ab_error *err) {
  int rc = 0;
  if (aborted) {
    /* The client went away before CLOSE: the spool is discarded. */
    ab_vfs_report(f->vfs, "upload", "aborted", f->mount, f->name, "", f->size, NULL);
  } else if (commit(f, err) < 0) {
    ab_error_prefix(err, "upload of %s/%s failed", f->mount->cfg->path, f->name);
    ab_vfs_report(f->vfs, "upload", "failed", f->mount, f->name, f->id, f->size, err);
    rc = -1;
  }
  close(f->fd);
  free(f);
  return rc;
}

int ab_outbox_unlink(ab_mount *m, const char *name, ab_error *err) {
  if (find_sent(m, name) != NULL) {
    return ab_error_set(err, EPERM, "%s/%s was already sent through the Broker and cannot be withdrawn",
                        m->cfg->path, name);
  }
  return ab_error_set(err, ENOENT, "%s/%s: no such file", m->cfg->path, name);
}
