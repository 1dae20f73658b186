/* ab_hub_metrics.c - the gateway-wide metrics the hub keeps (ab_metrics.h):
 * sessions hand in their increments ("metrics_add"), the hub counts its own
 * token requests, and the agent writes the whole for node_exporter's
 * textfile collector (AltinnBrokerMetricsFile) every few seconds. */
#include "ab_hub_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ab_metrics.h"

/* The agent rewrites the metrics file at most this often, and only when
 * something changed; node_exporter reads it on every scrape. */
#define WRITE_EVERY_MS 1000

struct hub_metrics {
  pthread_mutex_t mu;
  ab_metrics *m;
  long long seen_grants;      /* hub stats already counted */
  long long seen_refused;
  long long next_write;       /* monotonic ms */
  int dirty;                  /* changed since the file was written */
  int written;                /* the file was written once */
};

struct hub_metrics *hub_metrics_new(ab_hub *h) {
  (void) h;
  struct hub_metrics *hm = calloc(1, sizeof(*hm));
  if (hm == NULL || (hm->m = ab_metrics_new()) == NULL) {
    free(hm);
    return NULL;
  }
  pthread_mutex_init(&hm->mu, NULL);
  ab_metrics_set(hm->m, "altinn_broker_agent_start_time_seconds", (double) time(NULL));
  return hm;
}

void hub_metrics_free(struct hub_metrics *hm) {
  if (hm != NULL) {
    ab_metrics_free(hm->m);
    pthread_mutex_destroy(&hm->mu);
    free(hm);
  }
}

void hub_metrics_http(void *ctx, const char *method, const char *url, long status,
                      double seconds) {
  ab_hub *h = ctx;
  if (h->metrics == NULL) {
    return;
  }
  pthread_mutex_lock(&h->metrics->mu);
  ab_metrics_http(h->metrics->m, method, url, status, seconds);
  h->metrics->dirty = 1;
  pthread_mutex_unlock(&h->metrics->mu);
}

/* The hub's own counters (ab_hub_internal.h hub_stats) as metrics: what
 * grew since the last rendering is added. Caller holds metrics->mu. */
static void absorb_stats(ab_hub *h) {
  pthread_mutex_lock(&h->mu);
  hub_stats s = h->stats;
  pthread_mutex_unlock(&h->mu);
  struct hub_metrics *hm = h->metrics;
  if (s.grants == hm->seen_grants && s.budget_refused == hm->seen_refused) {
    return;
  }
  hm->dirty = 1;
  ab_metrics_count(hm->m, "altinn_broker_token_refreshes_total",
                   (double) (s.grants - hm->seen_grants), NULL);
  ab_metrics_count(hm->m, "altinn_broker_rate_budget_waits_total",
                   (double) (s.budget_refused - hm->seen_refused), NULL);
  hm->seen_grants = s.grants;
  hm->seen_refused = s.budget_refused;
}

/* The text; with only_if_changed, NULL when nothing changed since the
 * last call that asked so (the file writer). */
static char *render(ab_hub *h, int only_if_changed) {
  struct hub_metrics *hm = h->metrics;
  pthread_mutex_lock(&hm->mu);
  absorb_stats(h);
  char *text = NULL;
  if (!only_if_changed || hm->dirty || !hm->written) {
    text = ab_metrics_render(hm->m);
    if (only_if_changed && text != NULL) {
      hm->dirty = 0;
      hm->written = 1;
    }
  }
  pthread_mutex_unlock(&hm->mu);
  return text;
}

int hub_op_metrics(ab_hub *h, const char *op, const cJSON *req, cJSON *reply, ab_error *err) {
  if (strcmp(op, "metrics_add") == 0) {
    pthread_mutex_lock(&h->metrics->mu);
    int rc = ab_metrics_merge_json(h->metrics->m, cJSON_GetObjectItemCaseSensitive(req, "counts"), err);
    h->metrics->dirty |= rc == 0;
    pthread_mutex_unlock(&h->metrics->mu);
    return rc;
  }
  char *text = render(h, 0);
  pthread_mutex_lock(&h->metrics->mu);
  cJSON *counts = ab_metrics_to_json(h->metrics->m);
  pthread_mutex_unlock(&h->metrics->mu);
  if (text == NULL || counts == NULL) {
    free(text);
    cJSON_Delete(counts);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  cJSON_AddStringToObject(reply, "text", text);
  cJSON_AddItemToObject(reply, "counts", counts);
  free(text);
  return 0;
}

/* Replaces path with text atomically (a temporary file in the same
 * directory, then rename), so a scrape never reads half a file. */
static int write_atomically(const char *path, const char *text, ab_error *err) {
  char tmp[4096];
  if ((size_t) snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long) getpid()) >= sizeof(tmp)) {
    return ab_error_set(err, ENAMETOOLONG, "%s: path too long", path);
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return ab_error_set(err, errno, "cannot write %s: %s", tmp, strerror(errno));
  }
  size_t len = strlen(text), done = 0;
  while (done < len) {
    ssize_t n = write(fd, text + done, len - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      int e = errno;
      close(fd);
      unlink(tmp);
      return ab_error_set(err, e, "cannot write %s: %s", tmp, strerror(e));
    }
    done += (size_t) n;
  }
  if (close(fd) < 0 || rename(tmp, path) < 0) {
    int e = errno;
    unlink(tmp);
    return ab_error_set(err, e, "cannot replace %s: %s", path, strerror(e));
  }
  return 0;
}

void hub_metrics_tick(ab_hub *h) {
  const char *path = h->cfg->metrics_file;
  struct hub_metrics *hm = h->metrics;
  long long now = hub_mono_ms();
  if (path == NULL || hm == NULL || now < hm->next_write) {
    return;
  }
  int first = hm->next_write == 0;
  hm->next_write = now + WRITE_EVERY_MS;
  char *text = render(h, 1);
  ab_error err;
  if (text != NULL && write_atomically(path, text, &err) < 0) {
    hub_logf(h, AB_LOG_ERROR, "AltinnBrokerMetricsFile: %s", err.message);
    pthread_mutex_lock(&hm->mu);
    hm->dirty = 1;   /* try again next time */
    pthread_mutex_unlock(&hm->mu);
  } else if (text != NULL && first) {
    hub_logf(h, AB_LOG_INFO, "writing metrics to %s when they change", path);
  }
  free(text);
}
