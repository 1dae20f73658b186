/* ab_inbox_wire.c - the inbox listing as lines (see ab_inbox_wire.h). */
#include "ab_inbox_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_broker.h"

typedef struct text {
  char *p;
  size_t len, cap;
  int failed;
} text;

static void put(text *t, const char *s, size_t n) {
  if (t->failed) {
    return;
  }
  if (t->len + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 65536;
    while (cap < t->len + n + 1) {
      cap *= 2;
    }
    char *grown = realloc(t->p, cap);
    if (grown == NULL) {
      t->failed = 1;
      return;
    }
    t->p = grown;
    t->cap = cap;
  }
  memcpy(t->p + t->len, s, n);
  t->len += n;
  t->p[t->len] = '\0';
}

/* A field that could be sent as is: no separator inside. */
static int plain(const char *s) {
  return s != NULL && s[strcspn(s, "\t\n")] == '\0';
}

char *ab_inbox_wire_encode(const ab_listing *l) {
  text t = { 0 };
  put(&t, "", 0);                 /* an empty listing is "", not NULL */
  for (size_t i = 0; i < ab_listing_size(l); i++) {
    const ab_listing_entry *e = ab_listing_at(l, i);
    if (!e->shown || e->state == AB_ENTRY_GONE || !plain(e->name) || !plain(e->gname) ||
        !plain(e->dir)) {
      continue;
    }
    const char *fields[] = { e->id, e->name, e->gname, e->dir };
    for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
      put(&t, fields[k], strlen(fields[k]));
      put(&t, "\t", 1);
    }
    char nums[64];
    int n = snprintf(nums, sizeof(nums), "%lld\t%lld\n", e->size,
                     e->published_us / 1000000);
    put(&t, nums, (size_t) n);
  }
  if (t.failed) {
    free(t.p);
    return NULL;
  }
  return t.p;
}

/* The next TAB-separated field of line (in place), or NULL when none. */
static char *field(char **line) {
  if (*line == NULL) {
    return NULL;
  }
  char *start = *line;
  char *tab = strchr(start, '\t');
  if (tab != NULL) {
    *tab = '\0';
    *line = tab + 1;
  } else {
    *line = NULL;
  }
  return start;
}

static int number(const char *s, long long *out) {
  char *end;
  if (s == NULL || *s == '\0') {
    return 0;
  }
  *out = strtoll(s, &end, 10);
  return *end == '\0';
}

int ab_inbox_wire_next(char **cursor, ab_inbox_wire_row *row) {
  while (*cursor != NULL && **cursor != '\0') {
    char *line = *cursor;
    char *nl = strchr(line, '\n');
    if (nl != NULL) {
      *nl = '\0';
      *cursor = nl + 1;
    } else {
      *cursor = line + strlen(line);
    }
    char *rest = line;
    long long size, mtime;
    row->id = field(&rest);
    row->name = field(&rest);
    row->gname = field(&rest);
    row->dir = field(&rest);
    const char *size_s = field(&rest);
    const char *mtime_s = field(&rest);
    if (rest == NULL && mtime_s != NULL && strlen(row->id) == AB_ID_LEN - 1 &&
        number(size_s, &size) && size >= 0 && number(mtime_s, &mtime)) {
      row->size = size;
      row->mtime = (time_t) mtime;
      return 1;
    }
  }
  return 0;
}
