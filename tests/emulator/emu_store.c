/* emu_store.c - see emu_store.h. */
#include "emu_store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_clock.h"
#include "emu_events.h"
#include "emu_registry.h"
#include "emu_tus.h"
#include "emu_util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char *data_dir;
static emu_transfer **transfers;
static size_t ntransfers, captransfers;
static uint64_t next_seq;

static const char *ft_names[EMU_FT_COUNT] = {
    "Initialized", "UploadStarted", "UploadProcessing",       "Published",
    "Cancelled",   "AllConfirmedDownloaded", "Purged", "Failed",
};
static const char *ft_texts[EMU_FT_COUNT] = {
    "Ready for upload",        "Upload started",   "Processing upload",
    "Ready for download",      "FileTransfer cancelled", "All downloaded",
    "FileTransfer has been purged", "Upload failed",
};
static const char *rs_names[EMU_RS_COUNT] = {"Initialized", "DownloadStarted", "DownloadConfirmed"};
static const char *rs_texts[EMU_RS_COUNT] = {
    "Initialized",
    "Recipient has attempted to download fileTransfer",
    "Recipient has downloaded fileTransfer",
};

const char *emu_ft_status_name(int s) { return s >= 0 && s < EMU_FT_COUNT ? ft_names[s] : "Unknown"; }
const char *emu_ft_status_text(int s) { return s >= 0 && s < EMU_FT_COUNT ? ft_texts[s] : ""; }
const char *emu_rs_status_name(int s) { return s >= 0 && s < EMU_RS_COUNT ? rs_names[s] : "Unknown"; }
const char *emu_rs_status_text(int s) { return s >= 0 && s < EMU_RS_COUNT ? rs_texts[s] : ""; }

static int parse_enum(const char *s, const char **names, int n)
{
  if (!s || !*s)
    return -1;
  if (isdigit((unsigned char)s[0])) {
    char *end;
    long v = strtol(s, &end, 10);
    return *end == '\0' && v >= 0 && v < n ? (int)v : -1;
  }
  for (int i = 0; i < n; i++)
    if (strcasecmp(s, names[i]) == 0)
      return i;
  return -1;
}

int emu_ft_status_parse(const char *s) { return parse_enum(s, ft_names, EMU_FT_COUNT); }
int emu_rs_status_parse(const char *s) { return parse_enum(s, rs_names, EMU_RS_COUNT); }

/* Files this emulator wrote in an earlier run: <guid>.bin and <guid>.part-*.
 * Only those are removed, so a data dir shared with something else is safe. */
static bool is_our_file(const char *name)
{
  if (strlen(name) < 40)
    return false;
  char id[37];
  memcpy(id, name, 36);
  id[36] = '\0';
  return emu_is_guid(id) && (strcmp(name + 36, ".bin") == 0 || strncmp(name + 36, ".part-", 6) == 0);
}

int emu_store_init(const char *dir)
{
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "altinn-emulator: cannot create data dir %s: %s\n", dir, strerror(errno));
    return -1;
  }
  data_dir = strdup(dir);
  /* transfers are not persisted, so their old bytes are orphans */
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "altinn-emulator: cannot open data dir %s: %s\n", dir, strerror(errno));
    return -1;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (is_our_file(e->d_name)) {
      char *p = emu_path_join(dir, e->d_name);
      unlink(p);
      free(p);
    }
  }
  closedir(d);
  return 0;
}

void emu_store_lock(void) { pthread_mutex_lock(&mu); }
void emu_store_unlock(void) { pthread_mutex_unlock(&mu); }

static void free_transfer(emu_transfer *t)
{
  emu_tus_free(t->tus);
  free(t->file_name);
  free(t->ref);
  free(t->sender);
  for (size_t i = 0; i < t->nrecipients; i++)
    free(t->recipients[i].id);
  free(t->recipients);
  cJSON_Delete(t->property_list);
  free(t->status_text);
  for (size_t i = 0; i < t->nhist; i++)
    free(t->hist[i].text);
  free(t->hist);
  free(t->rhist);
  free(t);
}

emu_transfer *emu_store_new(const emu_resource *res)
{
  if (ntransfers == captransfers) {
    size_t nc = captransfers ? captransfers * 2 : 64;
    emu_transfer **nt = realloc(transfers, nc * sizeof *nt);
    if (!nt)
      return NULL;
    transfers = nt;
    captransfers = nc;
  }
  emu_transfer *t = calloc(1, sizeof *t);
  if (!t)
    return NULL;
  emu_uuid4(t->id);
  t->seq = next_seq++;
  t->resource = res;
  t->created = emu_clock_now_us();
  emu_resource_settings rs;
  emu_registry_settings(res, &rs); /* expiry is fixed at initialize */
  t->expiration = t->created + rs.ttl_us;
  t->status = -1; /* so the first set_status records Initialized */
  transfers[ntransfers++] = t;
  return t;
}

emu_transfer *emu_store_get(const char *id)
{
  for (size_t i = 0; id && i < ntransfers; i++)
    if (strcasecmp(transfers[i]->id, id) == 0)
      return transfers[i];
  return NULL;
}

size_t emu_store_count(void) { return ntransfers; }
emu_transfer *emu_store_at(size_t i) { return i < ntransfers ? transfers[i] : NULL; }

void emu_store_set_status(emu_transfer *t, int status, const char *detail)
{
  int64_t now = emu_clock_now_us();
  if (t->nhist == t->caphist) {
    size_t nc = t->caphist ? t->caphist * 2 : 8;
    emu_status_entry *nh = realloc(t->hist, nc * sizeof *nh);
    if (!nh)
      return;
    t->hist = nh;
    t->caphist = nc;
  }
  t->hist[t->nhist].status = status;
  t->hist[t->nhist].text = detail ? strdup(detail) : NULL;
  t->hist[t->nhist].at = now;
  t->nhist++;
  t->status = status;
  free(t->status_text);
  t->status_text = detail ? strdup(detail) : NULL;
  t->status_changed = now;
  if (status == EMU_FT_PUBLISHED && t->published == 0)
    t->published = now;
  emu_events_on_status(t, status);
}

void emu_store_set_recipient_status(emu_transfer *t, size_t idx, int status, const char *vendor)
{
  if (idx >= t->nrecipients)
    return;
  int64_t now = emu_clock_now_us();
  if (t->nrhist == t->caprhist) {
    size_t nc = t->caprhist ? t->caprhist * 2 : 8;
    emu_rstatus_entry *nh = realloc(t->rhist, nc * sizeof *nh);
    if (!nh)
      return;
    t->rhist = nh;
    t->caprhist = nc;
  }
  emu_rstatus_entry *e = &t->rhist[t->nrhist++];
  *e = (emu_rstatus_entry){idx, status, now, ""};
  snprintf(e->vendor, sizeof e->vendor, "%s", vendor ? vendor : "");
  emu_recipient *r = &t->recipients[idx];
  if (status >= r->status) {
    r->status = status;
    r->changed = now;
  }
  if (status == EMU_RS_DOWNLOAD_STARTED)
    r->last_download_started = now;
}

long emu_store_recipient_index(const emu_transfer *t, const char *org)
{
  for (size_t i = 0; org && i < t->nrecipients; i++)
    if (strcmp(t->recipients[i].org, org) == 0)
      return (long)i;
  return -1;
}

char *emu_store_file_path(const emu_transfer *t)
{
  size_t n = strlen(data_dir) + 48;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s.bin", data_dir, t->id);
  return p;
}

char *emu_store_temp_path(const char *id)
{
  char rnd[17];
  emu_random_hex(rnd, 8);
  size_t n = strlen(data_dir) + 72;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s.part-%s", data_dir, id, rnd);
  return p;
}

void emu_store_delete_file(emu_transfer *t)
{
  char *p = emu_store_file_path(t);
  if (p)
    unlink(p); /* an open download keeps reading its fd; that is fine */
  free(p);
  t->has_file = false;
}

void emu_store_purge(emu_transfer *t)
{
  emu_store_delete_file(t);
  t->purge_due = 0;
  emu_store_set_status(t, EMU_FT_PURGED, NULL);
}

void emu_store_reset(void)
{
  for (size_t i = 0; i < ntransfers; i++) {
    emu_store_delete_file(transfers[i]);
    free_transfer(transfers[i]);
  }
  ntransfers = 0;
}

void emu_store_shutdown(void)
{
  emu_store_lock();
  emu_store_reset();
  free(transfers);
  transfers = NULL;
  captransfers = 0;
  free(data_dir);
  data_dir = NULL;
  emu_store_unlock();
}
