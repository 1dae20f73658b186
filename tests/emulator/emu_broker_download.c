/* emu_broker_download.c - download and confirmdownload (broker-api.md §3.7, §3.8).
 *
 * Downloads stream from the stored file with pread through an MHD callback
 * (no copy of the file in memory). A single "bytes=" Range gives 206 with
 * Content-Range; an unsatisfiable one 416 BRO-00029; anything else the
 * whole file. The callback is also where download faults act (truncate,
 * reset, stall, bandwidth), since it sees every byte leave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_broker.h"
#include "emu_clock.h"
#include "emu_endpoints.h"
#include "emu_events.h"
#include "emu_problem.h"
#include "emu_util.h"

#define BLOCK (256 * 1024)
#define RANGE_DEBOUNCE_US ((int64_t)5 * 60 * 1000000)

typedef struct reader {
  int fd;
  int64_t start;            /* file offset of response byte 0 */
  int64_t len;
  bool has_fault;
  emu_fault fault;
  int64_t started_ms;
} reader;

static ssize_t read_cb(void *cls, uint64_t pos, char *buf, size_t max)
{
  reader *rd = cls;
  if ((int64_t)pos >= rd->len)
    return MHD_CONTENT_READER_END_OF_STREAM;
  int64_t want = rd->len - (int64_t)pos;
  if (want > (int64_t)max)
    want = (int64_t)max;
  if (rd->has_fault) {
    const emu_fault *f = &rd->fault;
    bool cuts = f->kind == EMU_FAULT_TRUNCATE || f->kind == EMU_FAULT_RESET;
    if (cuts && (int64_t)pos >= f->after_bytes)
      return MHD_CONTENT_READER_END_WITH_ERROR; /* MHD closes: the client sees a short body */
    if (cuts && (int64_t)pos + want > f->after_bytes)
      want = f->after_bytes - (int64_t)pos;
    emu_fault_pace(f, (int64_t)pos, (int64_t)pos + want, rd->started_ms);
  }
  ssize_t n;
  do {
    n = pread(rd->fd, buf, (size_t)want, (off_t)(rd->start + (int64_t)pos));
  } while (n < 0 && errno == EINTR);
  if (n <= 0)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  return n;
}

static void free_cb(void *cls)
{
  reader *rd = cls;
  close(rd->fd);
  free(rd);
}

/* Parses a Range header against size. Returns 0 = no usable range (serve
 * all), 1 = range [*a, *b], -1 = unsatisfiable. */
static int parse_range(const char *h, int64_t size, int64_t *a, int64_t *b)
{
  if (!h || strncasecmp(h, "bytes=", 6) != 0)
    return 0;
  const char *p = h + 6;
  while (*p == ' ')
    p++;
  if (strchr(p, ','))
    return 0; /* multiple ranges are ignored */
  char *end;
  if (*p == '-') {
    long long n = strtoll(p + 1, &end, 10);
    if (end == p + 1 || *end || n < 0)
      return 0;
    if (n == 0 || size == 0)
      return -1;
    *a = n >= size ? 0 : size - n;
    *b = size - 1;
    return 1;
  }
  long long s = strtoll(p, &end, 10);
  if (end == p || *end != '-' || s < 0)
    return 0;
  const char *q = end + 1;
  long long e = size - 1;
  if (*q) {
    e = strtoll(q, &end, 10);
    if (end == q || *end || e < 0)
      return 0;
  }
  if (size == 0 || s >= size || e < s)
    return -1;
  if (e >= size)
    e = size - 1;
  *a = s;
  *b = e;
  return 1;
}

/* RFC 6266 filename and filename* (percent-encoded UTF-8). */
static void content_disposition(const char *name, char *out, size_t cap)
{
  char plain[600], enc[1800];
  size_t pi = 0, ei = 0;
  for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
    if (pi < sizeof plain - 2)
      plain[pi++] = (*c == '"' || *c == '\\' || *c < 0x20 || *c >= 0x7f) ? '_' : (char)*c;
    bool safe = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                strchr("-._~", *c);
    if (ei < sizeof enc - 4) {
      if (safe && *c)
        enc[ei++] = (char)*c;
      else
        ei += (size_t)snprintf(enc + ei, 4, "%%%02X", *c);
    }
  }
  plain[pi] = enc[ei] = '\0';
  snprintf(out, cap, "attachment; filename=\"%s\"; filename*=UTF-8''%s", plain, enc);
}

static void download_begin(emu_request *r)
{
  char disp[2600];
  int fd = -1;
  int64_t size = 0, a = 0, b = -1;
  int range = 0;
  emu_store_lock();
  emu_transfer *t = emu_broker_find(r);
  if (!t)
    goto out;
  long ri = emu_broker_recipient(r, t);
  if (ri < 0) {
    emu_problem(r, 401, 6, NULL);
    goto out;
  }
  if (t->status != EMU_FT_PUBLISHED && t->status != EMU_FT_ALL_CONFIRMED) {
    emu_problem(r, 403, 7, NULL);
    goto out;
  }
  char *path = emu_store_file_path(t);
  fd = t->has_file && path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
  free(path);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    emu_problem(r, 400, 3, NULL);
    goto out;
  }
  size = (int64_t)st.st_size;
  range = parse_range(emu_header(r, MHD_HTTP_HEADER_RANGE), size, &a, &b);
  if (range < 0) {
    emu_problem(r, 416, 29, NULL);
    goto out;
  }
  /* A download marks DownloadStarted; ranged reads at most once per 5 min. */
  emu_recipient *rc = &t->recipients[ri];
  int64_t now = emu_clock_now_us();
  if (range == 0 || rc->last_download_started == 0 || now - rc->last_download_started >= RANGE_DEBOUNCE_US)
    emu_store_set_recipient_status(t, (size_t)ri, EMU_RS_DOWNLOAD_STARTED, r->caller.vendor);
  content_disposition(t->file_name, disp, sizeof disp);
out:
  emu_store_unlock();
  if (emu_replied(r)) {
    if (fd >= 0)
      close(fd);
    return;
  }
  reader *rd = calloc(1, sizeof *rd);
  rd->fd = fd;
  rd->start = range ? a : 0;
  rd->len = range ? b - a + 1 : size;
  rd->started_ms = emu_mono_ms();
  const emu_fault *f = emu_http_fault(r);
  if (f) {
    rd->has_fault = true;
    rd->fault = *f;
  }
  struct MHD_Response *resp =
      MHD_create_response_from_callback((uint64_t)rd->len, BLOCK, read_cb, rd, free_cb);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
  if (range) {
    char cr[96];
    snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)a, (long long)b, (long long)size);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
  }
  emu_reply_response(r, range ? 206 : 200, resp);
}

const emu_endpoint emu_ep_download = {
    .name = "download",
    .method = "GET",
    .flags = EMU_F_BROKER | EMU_F_RATE, /* no [Produces]: no Accept check */
    .scope_a = EMU_SCOPE_READ,
    .begin = download_begin,
};

static void confirm_finish(emu_request *r)
{
  emu_store_lock();
  emu_transfer *t = emu_broker_find(r);
  if (!t)
    goto out;
  long ri = emu_broker_recipient(r, t);
  if (ri < 0) {
    emu_problem(r, 401, 6, NULL);
    goto out;
  }
  if (t->status == EMU_FT_INITIALIZED || t->status == EMU_FT_UPLOAD_STARTED) {
    emu_problem(r, 400, 3, NULL);
    goto out;
  }
  if (t->status != EMU_FT_PUBLISHED) {
    emu_problem(r, 400, 10, NULL);
    goto out;
  }
  emu_recipient *rc = &t->recipients[ri];
  if (rc->status == EMU_RS_DOWNLOAD_CONFIRMED) {
    emu_reply_empty(r, 204); /* idempotent */
    goto out;
  }
  if (rc->status < EMU_RS_DOWNLOAD_STARTED) {
    emu_problem(r, 400, 19, NULL);
    goto out;
  }
  emu_store_set_recipient_status(t, (size_t)ri, EMU_RS_DOWNLOAD_CONFIRMED, r->caller.vendor);
  emu_events_download_confirmed(t, rc->org);
  bool all = true;
  for (size_t i = 0; i < t->nrecipients; i++)
    all = all && t->recipients[i].status == EMU_RS_DOWNLOAD_CONFIRMED;
  if (all) {
    emu_store_set_status(t, EMU_FT_ALL_CONFIRMED, NULL);
    emu_resource_settings rs;
    emu_registry_settings(t->resource, &rs);
    if (rs.purge_after_confirm)
      t->purge_due = emu_clock_now_us() + rs.grace_us;
  }
  emu_reply_empty(r, 204);
out:
  emu_store_unlock();
}

const emu_endpoint emu_ep_confirm = {
    .name = "confirm",
    .method = "POST",
    .flags = EMU_F_BROKER | EMU_F_JSON | EMU_F_RATE,
    .scope_a = EMU_SCOPE_READ,
    .finish = confirm_finish,
};
