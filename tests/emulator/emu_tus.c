/* emu_tus.c - see emu_tus.h.
 *
 * Quirks kept from the service: PATCH at or past the end of a complete
 * upload answers 204 (clients retry after timeouts); Upload-Checksum is
 * advertised but every such PATCH fails with 460; Upload-Defer-Length is
 * refused; size and the whole-upload validation (404/401/409/400 as for a
 * streamed upload) are checked at creation; the MD5 given at initialize is
 * checked after completion, in UploadProcessing.
 */
#include "emu_tus.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "emu_broker.h"
#include "emu_clock.h"
#include "emu_endpoints.h"
#include "emu_problem.h"
#include "emu_util.h"

#define TUS_VERSION "1.0.0"
#define TUS_EXTENSIONS "creation,termination,checksum,concatenation,expiration"
#define IDLE_EXPIRY_US ((int64_t)24 * 3600 * 1000000)

typedef struct tus_part {
  char pid[33];             /* "" = the single (or final) upload */
  char *path;
  int64_t length;
  int64_t offset;
  bool busy;                /* a PATCH is writing */
  bool deleted;
  EVP_MD_CTX *md5;          /* single upload only: a concatenation is hashed when stitched */
  int64_t touched;          /* emulated time of the last activity */
} tus_part;

struct emu_tus {
  tus_part main;
  bool main_created;        /* single upload created, or final concat requested */
  bool stitching;
  tus_part *parts;
  size_t nparts;
};

static void part_free(tus_part *p, bool unlink_file)
{
  if (unlink_file && p->path)
    unlink(p->path);
  free(p->path);
  EVP_MD_CTX_free(p->md5);
  memset(p, 0, sizeof *p);
}

void emu_tus_free(struct emu_tus *tus)
{
  if (!tus)
    return;
  part_free(&tus->main, true);
  for (size_t i = 0; i < tus->nparts; i++)
    part_free(&tus->parts[i], true);
  free(tus->parts);
  free(tus);
}

/* ---- helpers ---- */

static void tus_headers(emu_request *r)
{
  if (!r->resp)
    return;
  MHD_add_response_header(r->resp, "Tus-Resumable", TUS_VERSION);
}

static void text(emu_request *r, unsigned status, const char *msg)
{
  emu_reply(r, status, "text/plain; charset=utf-8", msg, strlen(msg));
}

/* Every request except OPTIONS needs Tus-Resumable: 1.0.0 (else 412). */
static bool resumable_ok(emu_request *r)
{
  const char *v = emu_header(r, "Tus-Resumable");
  if (v && strcmp(v, TUS_VERSION) == 0)
    return true;
  emu_reply_empty(r, 412);
  MHD_add_response_header(r->resp, "Tus-Version", TUS_VERSION);
  return false;
}

static bool parse_i64(const char *s, int64_t *out)
{
  if (!s || !*s)
    return false;
  char *end;
  long long v = strtoll(s, &end, 10);
  if (*end || v < 0)
    return false;
  *out = v;
  return true;
}

/* Finds the transfer and checks the caller is its sender (lock held). */
static emu_transfer *sender_transfer(emu_request *r)
{
  emu_transfer *t = emu_broker_find(r);
  if (t && !emu_broker_is_sender(r, t)) {
    emu_problem(r, 401, 6, NULL);
    return NULL;
  }
  return t;
}

/* The part a HEAD/PATCH/DELETE URL names, or NULL (lock held). */
static tus_part *part_of(emu_request *r, emu_transfer *t)
{
  struct emu_tus *tus = t->tus;
  if (!tus)
    return NULL;
  if (!r->sub[0])
    return tus->main_created ? &tus->main : NULL;
  for (size_t i = 0; i < tus->nparts; i++)
    if (!tus->parts[i].deleted && strcasecmp(tus->parts[i].pid, r->sub) == 0)
      return &tus->parts[i];
  return NULL;
}

static void md5_hex(EVP_MD_CTX *ctx, char out[33])
{
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx, d, &n);
  emu_hex(d, n < 16 ? n : 16, out);
}

static void expires_header(emu_request *r, const tus_part *p)
{
  /* RFC 7231 date of the sliding 24 h expiry */
  time_t when = (time_t)((p->touched + IDLE_EXPIRY_US) / 1000000);
  struct tm tm;
  char buf[64];
  gmtime_r(&when, &tm);
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  MHD_add_response_header(r->resp, "Upload-Expires", buf);
}

static bool part_open(emu_transfer *t, tus_part *p, const char *pid, int64_t length)
{
  snprintf(p->pid, sizeof p->pid, "%s", pid);
  p->path = emu_store_temp_path(t->id);
  p->length = length;
  p->touched = emu_clock_now_us();
  int fd = p->path ? open(p->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
  if (fd >= 0)
    close(fd);
  if (pid[0] != '\0')
    return fd >= 0;
  /* Only the single upload's MD5 is ever read: hashing the partials too
   * would double the CPU this stand-in takes from the gateway it tests. */
  p->md5 = EVP_MD_CTX_new();
  return fd >= 0 && p->md5 && EVP_DigestInit_ex(p->md5, EVP_md5(), NULL) == 1;
}

/* Single upload complete: move the bytes into place and finish the transfer. */
static void finish_single(emu_transfer *t)
{
  struct emu_tus *tus = t->tus;
  char md5[33];
  md5_hex(tus->main.md5, md5);
  char *final = emu_store_file_path(t);
  if (!final || rename(tus->main.path, final) != 0) {
    emu_store_set_status(t, EMU_FT_FAILED, "Error occurred while uploading fileTransfer");
  } else {
    free(tus->main.path);
    tus->main.path = NULL; /* now owned by the store as <id>.bin */
    emu_broker_upload_stored(t, tus->main.length, md5, true);
  }
  free(final);
}

/* ---- OPTIONS ---- */

static void options_finish(emu_request *r)
{
  emu_reply_empty(r, 204);
  MHD_add_response_header(r->resp, "Tus-Version", TUS_VERSION);
  MHD_add_response_header(r->resp, "Tus-Extension", TUS_EXTENSIONS);
  MHD_add_response_header(r->resp, "Tus-Checksum-Algorithm", "md5");
  tus_headers(r);
}

/* ---- POST: create single, partial or final ---- */

typedef struct stitch_job {
  char id[37];
  char **paths;
  size_t n;
  char *out;
} stitch_job;

static void *stitch_main(void *arg)
{
  stitch_job *job = arg;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_md5(), NULL);
  int out = open(job->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = out >= 0;
  int64_t total = 0;
  char *buf = malloc(1 << 20);
  for (size_t i = 0; ok && buf && i < job->n; i++) {
    int in = open(job->paths[i], O_RDONLY | O_CLOEXEC);
    ssize_t got;
    ok = in >= 0;
    while (ok && (got = read(in, buf, 1 << 20)) > 0) {
      EVP_DigestUpdate(md, buf, (size_t)got);
      ok = write(out, buf, (size_t)got) == got;
      total += got;
    }
    if (in >= 0)
      close(in);
  }
  free(buf);
  if (out >= 0 && close(out) != 0)
    ok = false;
  char md5[33];
  md5_hex(md, md5);
  EVP_MD_CTX_free(md);

  emu_store_lock();
  emu_transfer *t = emu_store_get(job->id);
  if (t && t->tus && t->status == EMU_FT_UPLOAD_STARTED) {
    t->tus->stitching = false;
    t->tus->main.offset = total;
    char *final = emu_store_file_path(t);
    if (!ok || !final || rename(job->out, final) != 0) {
      unlink(job->out);
      emu_store_set_status(t, EMU_FT_FAILED, "Error occurred while uploading fileTransfer");
    } else {
      /* the partials are consumed */
      for (size_t i = 0; i < t->tus->nparts; i++)
        part_free(&t->tus->parts[i], true);
      t->tus->nparts = 0;
      emu_broker_upload_stored(t, total, md5, true);
    }
    free(final);
  } else {
    unlink(job->out);
  }
  emu_store_unlock();
  for (size_t i = 0; i < job->n; i++)
    free(job->paths[i]);
  free(job->paths);
  free(job->out);
  free(job);
  return NULL;
}

/* "final;/a/partial/x /b/partial/y" -> indexes of the named partials. */
static bool final_parts(emu_request *r, emu_transfer *t, const char *concat, size_t **idx, size_t *n)
{
  struct emu_tus *tus = t->tus;
  const char *p = concat + 6; /* after "final;" */
  *idx = calloc(tus ? tus->nparts + 1 : 1, sizeof **idx);
  *n = 0;
  while (*p) {
    while (*p == ' ')
      p++;
    if (!*p)
      break;
    size_t len = strcspn(p, " ");
    /* the partial id is the last path segment */
    const char *end = p + len, *seg = end;
    while (seg > p && seg[-1] != '/')
      seg--;
    char pid[40];
    snprintf(pid, sizeof pid, "%.*s", (int)(end - seg), seg);
    bool found = false;
    for (size_t i = 0; tus && i < tus->nparts; i++) {
      if (tus->parts[i].deleted || strcasecmp(tus->parts[i].pid, pid) != 0 ||
          !strstr(p, t->id))
        continue;
      if (tus->parts[i].offset != tus->parts[i].length) {
        text(r, 400, "Upload-Concat contains partial uploads that are not complete");
        return false;
      }
      if (*n < tus->nparts)
        (*idx)[(*n)++] = i;
      found = true;
    }
    if (!found) {
      text(r, 400, "Upload-Concat contains an unknown partial upload");
      return false;
    }
    p = end;
  }
  if (*n == 0) {
    text(r, 400, "Upload-Concat final needs at least one partial upload");
    return false;
  }
  return true;
}

static void create_finish(emu_request *r)
{
  if (!resumable_ok(r))
    return;
  const char *concat = emu_header(r, "Upload-Concat");
  bool partial = concat && strcmp(concat, "partial") == 0;
  bool final = concat && strncmp(concat, "final;", 6) == 0;
  int64_t length = 0;
  if (concat && !partial && !final) {
    text(r, 400, "Header Upload-Concat: Header is invalid");
    return;
  }
  if (emu_header(r, "Upload-Defer-Length")) {
    text(r, 400, "Header Upload-Defer-Length is not supported");
    return;
  }
  if (!final && !parse_i64(emu_header(r, "Upload-Length"), &length)) {
    text(r, 400, "Missing Upload-Length header");
    return;
  }
  emu_store_lock();
  emu_transfer *t = sender_transfer(r);
  if (!t)
    goto out;
  if (t->status > EMU_FT_UPLOAD_STARTED) {
    emu_problem(r, 409, 4, NULL);
    goto out;
  }
  if (!emu_broker_storage_ready(r, t->resource))
    goto out;
  if (!t->tus)
    t->tus = calloc(1, sizeof *t->tus);
  struct emu_tus *tus = t->tus;
  size_t *idx = NULL, n = 0;
  if (final) {
    if (!final_parts(r, t, concat, &idx, &n)) {
      free(idx);
      goto out;
    }
    for (size_t i = 0; i < n; i++)
      length += tus->parts[idx[i]].length;
  }
  if (!emu_broker_size_ok(r, t, length)) {
    free(idx);
    goto out;
  }
  if ((!partial && tus->main_created) || tus->stitching) {
    free(idx);
    emu_problem(r, 409, 4, NULL); /* the single upload already exists */
    goto out;
  }
  char loc[200];
  tus_part *created = NULL;
  if (partial) {
    tus_part *np = realloc(tus->parts, (tus->nparts + 1) * sizeof *np);
    if (!np)
      goto out;
    tus->parts = np;
    created = &tus->parts[tus->nparts++];
    memset(created, 0, sizeof *created);
    char pid[33];
    emu_random_hex(pid, 16);
    if (!part_open(t, created, pid, length)) {
      emu_problem(r, 500, 8, NULL);
      goto out;
    }
    snprintf(loc, sizeof loc, "/broker/api/v1/filetransfer/upload/tus/%s/partial/%s", t->id, pid);
  } else {
    created = &tus->main;
    if (!final && !part_open(t, created, "", length)) {
      emu_problem(r, 500, 8, NULL);
      goto out;
    }
    created->length = length;
    created->touched = emu_clock_now_us();
    tus->main_created = true;
    snprintf(loc, sizeof loc, "/broker/api/v1/filetransfer/upload/tus/%s", t->id);
  }
  if (t->status == EMU_FT_INITIALIZED)
    emu_store_set_status(t, EMU_FT_UPLOAD_STARTED, NULL);
  t->last_upload_activity = emu_clock_now_us();
  if (final) {
    stitch_job *job = calloc(1, sizeof *job);
    memcpy(job->id, t->id, sizeof job->id);
    job->paths = calloc(n, sizeof *job->paths);
    job->n = n;
    for (size_t i = 0; i < n; i++)
      job->paths[i] = strdup(tus->parts[idx[i]].path);
    job->out = emu_store_temp_path(t->id);
    tus->stitching = true;
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&th, &attr, stitch_main, job) != 0) {
      tus->stitching = false;
      emu_store_set_status(t, EMU_FT_FAILED, "Error occurred while uploading fileTransfer");
    }
    pthread_attr_destroy(&attr);
  } else if (!partial && length == 0) {
    finish_single(t); /* an empty file is complete at creation */
  }
  free(idx);
  emu_reply_empty(r, 201);
  MHD_add_response_header(r->resp, MHD_HTTP_HEADER_LOCATION, loc);
  if (created)
    expires_header(r, created);
out:
  emu_store_unlock();
  tus_headers(r);
}

/* ---- HEAD ---- */

static void head_finish(emu_request *r)
{
  if (!resumable_ok(r))
    return;
  emu_store_lock();
  emu_transfer *t = sender_transfer(r);
  tus_part *p = t ? part_of(r, t) : NULL;
  if (t && !p) {
    emu_reply_empty(r, 404);
  } else if (p) {
    char off[32], len[32];
    snprintf(off, sizeof off, "%lld", (long long)p->offset);
    snprintf(len, sizeof len, "%lld", (long long)p->length);
    emu_reply_empty(r, 200);
    MHD_add_response_header(r->resp, "Upload-Offset", off);
    MHD_add_response_header(r->resp, "Upload-Length", len);
    if (r->sub[0])
      MHD_add_response_header(r->resp, "Upload-Concat", "partial");
    expires_header(r, p);
  }
  emu_store_unlock();
  tus_headers(r);
}

/* ---- PATCH ---- */

typedef struct patch_state {
  char id[37];
  char pid[33];
  int fd;
  int64_t offset;           /* where the next byte goes */
  int64_t length;
  bool overflow;
  int write_errno;
} patch_state;

/* Runs with the lock held: the part this PATCH writes, if still there. */
static tus_part *patch_part(const patch_state *s)
{
  emu_transfer *t = emu_store_get(s->id);
  if (!t || !t->tus)
    return NULL;
  if (!s->pid[0])
    return &t->tus->main;
  for (size_t i = 0; i < t->tus->nparts; i++)
    if (strcmp(t->tus->parts[i].pid, s->pid) == 0 && !t->tus->parts[i].deleted)
      return &t->tus->parts[i];
  return NULL;
}

static void offset_reply(emu_request *r, unsigned status, int64_t offset)
{
  char off[32];
  snprintf(off, sizeof off, "%lld", (long long)offset);
  emu_reply_empty(r, status);
  MHD_add_response_header(r->resp, "Upload-Offset", off);
}

static void patch_begin(emu_request *r)
{
  if (!resumable_ok(r))
    return;
  const char *ctype = emu_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  int64_t offset;
  if (!ctype || strcasecmp(ctype, "application/offset+octet-stream") != 0) {
    text(r, 415, "Content-Type must be application/offset+octet-stream");
    return;
  }
  if (!parse_i64(emu_header(r, "Upload-Offset"), &offset)) {
    text(r, 400, "Missing or invalid Upload-Offset header");
    return;
  }
  emu_store_lock();
  emu_transfer *t = sender_transfer(r);
  tus_part *p = t ? part_of(r, t) : NULL;
  if (t && !p) {
    emu_reply_empty(r, 404);
    goto out;
  }
  if (!p)
    goto out;
  if (p->offset == p->length && offset >= p->length && !t->tus->stitching) {
    /* complete already: 204 (the service re-runs finalisation, which is a no-op here) */
    offset_reply(r, 204, p->length);
    goto out;
  }
  if (emu_header(r, "Upload-Checksum")) {
    /* advertised, but the service's store always reports a mismatch */
    text(r, 460, "Header Upload-Checksum: The checksum did not match");
    goto out;
  }
  if (t->status > EMU_FT_UPLOAD_STARTED || (!r->sub[0] && t->tus->stitching) || !p->path) {
    emu_problem(r, 409, 4, NULL);
    goto out;
  }
  if (p->busy) {
    text(r, 409, "File is currently being updated. Please try again later");
    goto out;
  }
  if (offset != p->offset) {
    text(r, 409, "Offset does not match file. File offset: differs from Upload-Offset");
    goto out;
  }
  int64_t clen;
  if (parse_i64(emu_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH), &clen) && offset + clen > p->length) {
    text(r, 400, "Request contains more data than the file's upload length");
    goto out;
  }
  patch_state *s = calloc(1, sizeof *s);
  memcpy(s->id, t->id, sizeof s->id);
  memcpy(s->pid, p->pid, sizeof s->pid);
  s->offset = offset;
  s->length = p->length;
  s->fd = open(p->path, O_WRONLY | O_CLOEXEC);
  if (s->fd < 0 || lseek(s->fd, offset, SEEK_SET) != offset) {
    if (s->fd >= 0)
      close(s->fd);
    free(s);
    emu_problem(r, 500, 8, NULL);
    goto out;
  }
  p->busy = true;
  p->touched = t->last_upload_activity = emu_clock_now_us();
  t->uploads_active++;
  r->state = s;
out:
  emu_store_unlock();
  tus_headers(r);
}

static void patch_data(emu_request *r, const char *buf, size_t len)
{
  patch_state *s = r->state;
  if (!s || s->write_errno || s->overflow)
    return;
  if (s->offset + (int64_t)len > s->length) {
    s->overflow = true; /* nothing past Upload-Length is kept */
    len = (size_t)(s->length - s->offset);
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(s->fd, buf + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      s->write_errno = errno;
      break;
    }
    off += (size_t)n;
  }
  /* commit what was written: MD5 and offset move together, so an aborted
   * PATCH leaves a consistent resume point */
  emu_store_lock();
  tus_part *p = patch_part(s);
  if (p && off > 0) {
    if (p->md5)
      EVP_DigestUpdate(p->md5, buf, off);
    p->offset += (int64_t)off;
    p->touched = emu_clock_now_us();
  }
  emu_store_unlock();
  s->offset += (int64_t)off;
}

static void patch_release(patch_state *s)
{
  /* lock held */
  tus_part *p = patch_part(s);
  if (p)
    p->busy = false;
  emu_transfer *t = emu_store_get(s->id);
  if (t)
    t->uploads_active--;
  if (s->fd >= 0)
    close(s->fd);
  s->fd = -1;
}

static void patch_finish(emu_request *r)
{
  patch_state *s = r->state;
  if (!s)
    return;
  emu_store_lock();
  patch_release(s);
  emu_transfer *t = emu_store_get(s->id);
  tus_part *p = patch_part(s);
  if (!t || !p) {
    emu_problem(r, 404, 1, NULL);
  } else if (s->write_errno) {
    emu_problem(r, 500, 8, NULL);
  } else if (s->overflow) {
    text(r, 400, "Request contains more data than the file's upload length");
  } else {
    if (!s->pid[0] && p->offset == p->length && t->status == EMU_FT_UPLOAD_STARTED)
      finish_single(t);
    offset_reply(r, 204, p->offset);
    expires_header(r, p);
  }
  emu_store_unlock();
  free(s);
  r->state = NULL;
  tus_headers(r);
}

static void patch_cleanup(emu_request *r, bool completed)
{
  (void)completed;
  patch_state *s = r->state;
  if (!s)
    return;
  emu_store_lock();
  patch_release(s); /* client went away: keep the bytes, free the upload */
  emu_store_unlock();
  free(s);
  r->state = NULL;
}

/* ---- DELETE ---- */

static void delete_finish(emu_request *r)
{
  if (!resumable_ok(r))
    return;
  emu_store_lock();
  emu_transfer *t = sender_transfer(r);
  tus_part *p = t ? part_of(r, t) : NULL;
  if (t && !p) {
    emu_reply_empty(r, 404);
  } else if (p && (p->busy || (p->offset == p->length && !r->sub[0]) || t->tus->stitching)) {
    text(r, 409, "The upload is complete or in use and cannot be terminated");
  } else if (p) {
    if (r->sub[0]) {
      part_free(p, true);
      p->deleted = true;
    } else {
      part_free(p, true);
      t->tus->main_created = false;
    }
    emu_reply_empty(r, 204);
  }
  emu_store_unlock();
  tus_headers(r);
}

#define TUS_FLAGS (EMU_F_BROKER)

const emu_endpoint emu_ep_tus_options = {
    .name = "tus_options", .method = "OPTIONS", .flags = TUS_FLAGS,
    .scope_a = EMU_SCOPE_WRITE, .finish = options_finish,
};
const emu_endpoint emu_ep_tus_create = {
    .name = "tus_create", .method = "POST", .flags = TUS_FLAGS,
    .scope_a = EMU_SCOPE_WRITE, .finish = create_finish,
};
const emu_endpoint emu_ep_tus_head = {
    .name = "tus_head", .method = "HEAD", .flags = TUS_FLAGS,
    .scope_a = EMU_SCOPE_WRITE, .finish = head_finish,
};
const emu_endpoint emu_ep_tus_patch = {
    .name = "tus_patch", .method = "PATCH", .flags = TUS_FLAGS,
    .scope_a = EMU_SCOPE_WRITE, .begin = patch_begin, .data = patch_data,
    .finish = patch_finish, .cleanup = patch_cleanup,
};
const emu_endpoint emu_ep_tus_delete = {
    .name = "tus_delete", .method = "DELETE", .flags = TUS_FLAGS,
    .scope_a = EMU_SCOPE_WRITE, .finish = delete_finish,
};
