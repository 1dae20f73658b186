/* emu_broker_upload.c - POST /broker/api/v1/filetransfer/{id}/upload (§3.2).
 *
 * The body (Content-Length or chunked) streams into a private temp file in
 * the data dir while MD5 is computed on the fly, so memory stays flat for
 * any file size. Only when the whole body arrived is the file renamed into
 * place and the transfer moved on (Published, or UploadProcessing when the
 * virus-scan knob is on). A client that hangs up mid-body leaves the
 * transfer in UploadStarted, which allows a retry, as in the service.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "emu_broker.h"
#include "emu_clock.h"
#include "emu_endpoints.h"
#include "emu_problem.h"

typedef struct upload_state {
  char id[37];
  char *temp_path;
  int fd;
  EVP_MD_CTX *md5;
  int64_t bytes;
  int write_errno;
  bool counted;             /* uploads_active was incremented */
} upload_state;

static void upload_begin(emu_request *r)
{
  if (!emu_http_consumes(r, "application/octet-stream"))
    return; /* [Consumes]: before the handler looks at the transfer */
  emu_store_lock();
  emu_transfer *t = emu_broker_find(r);
  if (!t)
    goto out;
  if (!emu_broker_is_sender(r, t)) {
    emu_problem(r, 401, 6, NULL);
    goto out;
  }
  if (t->status > EMU_FT_UPLOAD_STARTED) {
    emu_problem(r, 409, 4, NULL);
    goto out;
  }
  if (!emu_broker_storage_ready(r, t->resource))
    goto out;
  /* Size is only checked up front, and only when Content-Length is sent. */
  const char *cl = emu_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl && !emu_broker_size_ok(r, t, strtoll(cl, NULL, 10)))
    goto out;
  upload_state *s = calloc(1, sizeof *s);
  s->fd = -1;
  memcpy(s->id, t->id, sizeof s->id);
  s->temp_path = emu_store_temp_path(t->id);
  s->md5 = EVP_MD_CTX_new();
  if (s->temp_path)
    s->fd = open(s->temp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (s->fd < 0 || !s->md5 || EVP_DigestInit_ex(s->md5, EVP_md5(), NULL) != 1) {
    fprintf(stderr, "altinn-emulator: cannot create %s: %s\n", s->temp_path ? s->temp_path : "?",
            strerror(errno));
    r->state = s;
    emu_problem(r, 500, 8, NULL);
    goto out;
  }
  r->state = s;
  if (t->status == EMU_FT_INITIALIZED)
    emu_store_set_status(t, EMU_FT_UPLOAD_STARTED, NULL);
  t->uploads_active++;
  t->last_upload_activity = emu_clock_now_us();
  s->counted = true;
out:
  emu_store_unlock();
}

static void upload_data(emu_request *r, const char *buf, size_t len)
{
  upload_state *s = r->state;
  if (!s || s->write_errno)
    return; /* keep draining the body; the error is reported at the end */
  EVP_DigestUpdate(s->md5, buf, len);
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(s->fd, buf + off, len - off);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      s->write_errno = errno;
      return;
    }
    off += (size_t)n;
  }
  s->bytes += (int64_t)len;
}

static void drop_temp(upload_state *s)
{
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
  if (s->temp_path)
    unlink(s->temp_path);
}

static void upload_finish(emu_request *r)
{
  upload_state *s = r->state;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  char md5[33] = "";
  EVP_DigestFinal_ex(s->md5, digest, &dlen);
  for (unsigned i = 0; i < dlen && i < 16; i++)
    snprintf(md5 + 2 * i, 3, "%02x", digest[i]);
  if (!s->write_errno && close(s->fd) != 0)
    s->write_errno = errno;
  else if (s->write_errno)
    close(s->fd);
  s->fd = -1;

  emu_store_lock();
  emu_transfer *t = emu_broker_find(r); /* may be gone after a reset */
  if (!t) {
    drop_temp(s);
    goto out;
  }
  t->uploads_active--;
  s->counted = false;
  if (s->write_errno) {
    fprintf(stderr, "altinn-emulator: writing %s: %s\n", s->temp_path, strerror(s->write_errno));
    drop_temp(s);
    emu_store_set_status(t, EMU_FT_FAILED, "File upload failed and was aborted");
    emu_problem(r, 500, 8, NULL);
    goto out;
  }
  if (t->status > EMU_FT_UPLOAD_STARTED) {
    drop_temp(s); /* a parallel upload finished first */
    emu_problem(r, 409, 4, NULL);
    goto out;
  }
  emu_broker_upload_complete(r, t, s->temp_path, s->bytes, md5);
out:
  emu_store_unlock();
}

static void upload_finish_guarded(emu_request *r)
{
  if (r->state)
    upload_finish(r);
}

static void upload_cleanup(emu_request *r, bool completed)
{
  (void)completed;
  upload_state *s = r->state;
  if (!s)
    return;
  if (s->fd >= 0)
    drop_temp(s); /* the body never completed */
  if (s->counted) {
    emu_store_lock();
    emu_transfer *t = emu_store_get(s->id);
    if (t)
      t->uploads_active--;
    emu_store_unlock();
  }
  EVP_MD_CTX_free(s->md5);
  free(s->temp_path);
  free(s);
  r->state = NULL;
}

const emu_endpoint emu_ep_upload = {
    .name = "upload",
    .method = "POST",
    .flags = EMU_F_BROKER | EMU_F_JSON | EMU_F_RATE,
    .scope_a = EMU_SCOPE_WRITE,
    .begin = upload_begin,
    .data = upload_data,
    .finish = upload_finish_guarded,
    .cleanup = upload_cleanup,
};
