/* emu_ratelimit.c - see emu_ratelimit.h. A bucket per (org, endpoint) holds
 * the timestamps of the requests inside the window in a ring buffer sized
 * to the limit; an over-limit request is refused and not recorded. */
#include "emu_ratelimit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_util.h"

#define WINDOW_MS 60000

typedef struct bucket {
  char key[96];
  int64_t *t;
  int cap, head, count;
} bucket;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static bucket *buckets;
static size_t nbuckets, capbuckets;

static bucket *find(const char *key, int limit)
{
  for (size_t i = 0; i < nbuckets; i++)
    if (strcmp(buckets[i].key, key) == 0)
      return &buckets[i];
  if (nbuckets == capbuckets) {
    size_t nc = capbuckets ? capbuckets * 2 : 16;
    bucket *nb = realloc(buckets, nc * sizeof *nb);
    if (!nb)
      return NULL;
    buckets = nb;
    capbuckets = nc;
  }
  bucket *b = &buckets[nbuckets++];
  memset(b, 0, sizeof *b);
  snprintf(b->key, sizeof b->key, "%s", key);
  b->cap = limit;
  b->t = calloc((size_t)limit, sizeof(int64_t));
  return b;
}

/* Limits can change at run time (knobs); rebuild the ring keeping the newest. */
static void resize(bucket *b, int limit)
{
  int64_t *nt = calloc((size_t)limit, sizeof(int64_t));
  int keep = b->count < limit ? b->count : limit;
  for (int i = 0; i < keep; i++)
    nt[i] = b->t[(b->head + b->count - keep + i) % b->cap];
  free(b->t);
  b->t = nt;
  b->cap = limit;
  b->head = 0;
  b->count = keep;
}

bool emu_ratelimit_allow(const char *org, const char *endpoint, int limit, int *retry_after_s)
{
  char key[96];
  snprintf(key, sizeof key, "%s|%s", org ? org : "", endpoint);
  int64_t now = emu_mono_ms();
  bool ok = true;
  pthread_mutex_lock(&mu);
  bucket *b = find(key, limit);
  if (b) {
    if (b->cap != limit)
      resize(b, limit);
    while (b->count > 0 && b->t[b->head] <= now - WINDOW_MS) {
      b->head = (b->head + 1) % b->cap;
      b->count--;
    }
    if (b->count >= b->cap) {
      int64_t wait = b->t[b->head] + WINDOW_MS - now;
      *retry_after_s = (int)((wait + 999) / 1000);
      if (*retry_after_s < 1)
        *retry_after_s = 1;
      ok = false;
    } else {
      b->t[(b->head + b->count) % b->cap] = now;
      b->count++;
    }
  }
  pthread_mutex_unlock(&mu);
  return ok;
}

void emu_ratelimit_reset(void)
{
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nbuckets; i++)
    free(buckets[i].t);
  free(buckets);
  buckets = NULL;
  nbuckets = capbuckets = 0;
  pthread_mutex_unlock(&mu);
}
