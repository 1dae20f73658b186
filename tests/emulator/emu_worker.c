/* emu_worker.c - see emu_worker.h.
 *
 * Also fails uploads stuck in UploadStarted for 24 h without activity.
 * The result of UploadProcessing: a checksum given at initialize that does
 * not match the stored bytes fails the transfer (how TUS uploads are
 * checked); otherwise, when scanning is on, the "virus scan" looks for the
 * EICAR test signature in the stored bytes. The file is scanned without the store lock held (it may be large), then
 * the result is applied if the transfer is still waiting for it.
 */
#include "emu_worker.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "emu_clock.h"
#include "emu_config.h"
#include "emu_registry.h"
#include "emu_store.h"
#include "emu_tus.h"
#include "emu_util.h"

#define TICK_MS 50
#define STUCK_US ((int64_t)24 * 3600 * 1000000)
#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

static pthread_t thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool stopping, running;

/* True when path contains the EICAR signature (also across read blocks). */
static bool infected(const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  const size_t sig = sizeof EICAR - 1;
  size_t cap = 1 << 20;
  char *buf = malloc(cap + sig);
  size_t keep = 0;
  bool found = false;
  ssize_t n;
  while (buf && !found && (n = read(fd, buf + keep, cap)) > 0) {
    size_t len = keep + (size_t)n;
    found = memmem(buf, len, EICAR, sig) != NULL;
    keep = len < sig - 1 ? len : sig - 1; /* carry the tail into the next block */
    memmove(buf, buf + len - keep, keep);
  }
  free(buf);
  close(fd);
  return found;
}

static void process_uploads(void)
{
  /* pick the due ones under the lock, scan without it */
  char (*due)[37] = NULL;
  size_t ndue = 0;
  int64_t now = emu_clock_now_us();
  emu_store_lock();
  size_t n = emu_store_count();
  for (size_t i = 0; i < n; i++) {
    emu_transfer *t = emu_store_at(i);
    if (t->status == EMU_FT_UPLOAD_PROCESSING && t->processing_due <= now) {
      char (*nd)[37] = realloc(due, (ndue + 1) * sizeof *due);
      if (!nd)
        break;
      due = nd;
      memcpy(due[ndue++], t->id, 37);
    }
  }
  emu_store_unlock();
  for (size_t i = 0; i < ndue; i++) {
    emu_store_lock();
    emu_transfer *t = emu_store_get(due[i]);
    char *path = t ? emu_store_file_path(t) : NULL;
    emu_store_unlock();
    if (!path)
      continue;
    emu_knobs k;
    emu_knobs_get(&k);
    bool bad = infected(path);
    free(path);
    emu_store_lock();
    t = emu_store_get(due[i]);
    if (t && t->status == EMU_FT_UPLOAD_PROCESSING) {
      if (t->checksum_given && strcasecmp(t->checksum, t->stored_md5) != 0) {
        /* TUS uploads have their MD5 checked here, asynchronously */
        emu_store_delete_file(t);
        emu_store_set_status(t, EMU_FT_FAILED, "Checksum mismatch");
      } else if (bad && k.virus_scan && t->use_virus_scan) {
        emu_store_delete_file(t); /* blob deleted, status Failed (not Purged) */
        emu_store_set_status(t, EMU_FT_FAILED,
                             "Malware scan failed: Malicious. Extra details: "
                             "{\"malwareNamesFound\":[\"Virus:DOS/EICAR_Test_File\"]}");
      } else {
        emu_store_set_status(t, EMU_FT_PUBLISHED, NULL);
      }
    }
    emu_store_unlock();
  }
  free(due);
}

static void purge_due(void)
{
  int64_t now = emu_clock_now_us();
  emu_store_lock();
  size_t n = emu_store_count();
  for (size_t i = 0; i < n; i++) {
    emu_transfer *t = emu_store_at(i);
    if (t->status == EMU_FT_PURGED)
      continue;
    if (t->status == EMU_FT_UPLOAD_STARTED && t->uploads_active == 0 && t->last_upload_activity &&
        now - t->last_upload_activity >= STUCK_US) {
      /* an upload that stopped mid-way and was not resumed for 24 h */
      emu_tus_free(t->tus);
      t->tus = NULL;
      emu_store_set_status(t, EMU_FT_FAILED,
                           "File transfer was stuck in UploadStarted as it failed upload mid-request.");
      continue;
    }
    if (t->status == EMU_FT_ALL_CONFIRMED && t->purge_due && now >= t->purge_due) {
      emu_store_purge(t);
      continue;
    }
    /* expiry purge; the grace job owns AllConfirmed transfers when purging after confirm */
    if (now < t->expiration || t->uploads_active > 0)
      continue;
    emu_resource_settings rs;
    emu_registry_settings(t->resource, &rs);
    if (!(t->status == EMU_FT_ALL_CONFIRMED && rs.purge_after_confirm))
      emu_store_purge(t);
  }
  emu_store_unlock();
}

static void *worker_main(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&mu);
  while (!stopping) {
    pthread_mutex_unlock(&mu);
    process_uploads();
    purge_due();
    pthread_mutex_lock(&mu);
    if (stopping)
      break;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += TICK_MS * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&cv, &mu, &ts);
  }
  pthread_mutex_unlock(&mu);
  return NULL;
}

int emu_worker_start(void)
{
  if (pthread_create(&thread, NULL, worker_main, NULL) != 0)
    return -1;
  running = true;
  return 0;
}

void emu_worker_stop(void)
{
  if (!running)
    return;
  pthread_mutex_lock(&mu);
  stopping = true;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
  pthread_join(thread, NULL);
  running = false;
}
