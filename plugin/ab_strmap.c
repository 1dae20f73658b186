/* ab_strmap.c - see ab_strmap.h. Linear probing with backward-shift
 * deletion, so there are no tombstones and lookups stay short. */
#include "ab_strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct slot {
  char *key;     /* NULL = empty */
  size_t value;
} slot;

struct ab_strmap {
  slot *slots;
  size_t cap;    /* power of two */
  size_t count;
};

/* FNV-1a: short keys, no adversary that sees the table. Keys here are
 * GUIDs and folded names chosen by other organisations, so the table is
 * kept at most half full to bound probe lengths anyway. */
static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char) *s;
    h *= 1099511628211ULL;
  }
  return (size_t) (h ^ (h >> 29));
}

ab_strmap *ab_strmap_new(void) {
  ab_strmap *m = calloc(1, sizeof(*m));
  if (m == NULL) {
    return NULL;
  }
  m->cap = 64;
  m->slots = calloc(m->cap, sizeof(slot));
  if (m->slots == NULL) {
    free(m);
    return NULL;
  }
  return m;
}

void ab_strmap_clear(ab_strmap *m) {
  for (size_t i = 0; i < m->cap; i++) {
    free(m->slots[i].key);
    m->slots[i].key = NULL;
  }
  m->count = 0;
}

void ab_strmap_free(ab_strmap *m) {
  if (m == NULL) {
    return;
  }
  ab_strmap_clear(m);
  free(m->slots);
  free(m);
}

static size_t find(const ab_strmap *m, const char *key) {
  size_t i = hash(key) & (m->cap - 1);
  while (m->slots[i].key != NULL && strcmp(m->slots[i].key, key) != 0) {
    i = (i + 1) & (m->cap - 1);
  }
  return i;
}

static int grow(ab_strmap *m) {
  size_t ncap = m->cap * 2;
  slot *ns = calloc(ncap, sizeof(slot));
  if (ns == NULL) {
    return -1;
  }
  slot *old = m->slots;
  size_t ocap = m->cap;
  m->slots = ns;
  m->cap = ncap;
  for (size_t i = 0; i < ocap; i++) {
    if (old[i].key != NULL) {
      m->slots[find(m, old[i].key)] = old[i];
    }
  }
  free(old);
  return 0;
}

int ab_strmap_put(ab_strmap *m, const char *key, size_t value) {
  if ((m->count + 1) * 2 > m->cap && grow(m) < 0) {
    return -1;
  }
  size_t i = find(m, key);
  if (m->slots[i].key == NULL) {
    m->slots[i].key = strdup(key);
    if (m->slots[i].key == NULL) {
      return -1;
    }
    m->count++;
  }
  m->slots[i].value = value;
  return 0;
}

int ab_strmap_get(const ab_strmap *m, const char *key, size_t *value) {
  size_t i = find(m, key);
  if (m->slots[i].key == NULL) {
    return 0;
  }
  if (value != NULL) {
    *value = m->slots[i].value;
  }
  return 1;
}

void ab_strmap_del(ab_strmap *m, const char *key) {
  size_t i = find(m, key);
  if (m->slots[i].key == NULL) {
    return;
  }
  free(m->slots[i].key);
  m->slots[i].key = NULL;
  m->count--;
  /* Backward shift: move later members of the probe run into the hole. */
  size_t mask = m->cap - 1;
  size_t hole = i;
  for (size_t j = (i + 1) & mask; m->slots[j].key != NULL; j = (j + 1) & mask) {
    size_t home = hash(m->slots[j].key) & mask;
    /* j may move to the hole when its home is not in (hole, j]. */
    int between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!between) {
      m->slots[hole] = m->slots[j];
      m->slots[j].key = NULL;
      hole = j;
    }
  }
}

size_t ab_strmap_count(const ab_strmap *m) {
  return m->count;
}
