/* ab_ranges.c - see ab_ranges.h. Clients read mostly in order, so the set
 * stays one or two ranges long; a linear merge is all it needs. */
#include "ab_ranges.h"

#include <stdlib.h>
#include <string.h>

int ab_ranges_add(ab_ranges *s, long long start, long long end) {
  if (end < start) {
    return 0;
  }
  /* First range that ends at or after start (may touch it). */
  size_t i = 0;
  while (i < s->n && s->r[i][1] < start) {
    i++;
  }
  size_t j = i;
  while (j < s->n && s->r[j][0] <= end) {
    if (s->r[j][0] < start) start = s->r[j][0];
    if (s->r[j][1] > end) end = s->r[j][1];
    j++;
  }
  if (i == j) {                       /* nothing merged: insert at i */
    if (s->n == s->cap) {
      size_t ncap = s->cap ? s->cap * 2 : 4;
      long long (*nr)[2] = realloc(s->r, ncap * sizeof(*nr));
      if (nr == NULL) {
        return -1;
      }
      s->r = nr;
      s->cap = ncap;
    }
    memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
    s->n++;
  } else if (j > i + 1) {             /* ranges i..j-1 become one */
    memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
    s->n -= j - i - 1;
  }
  s->r[i][0] = start;
  s->r[i][1] = end;
  return 0;
}

int ab_ranges_complete(const ab_ranges *s, long long size) {
  return s->n > 0 && s->r[0][0] <= 0 && s->r[0][1] >= size;
}

void ab_ranges_free(ab_ranges *s) {
  free(s->r);
  memset(s, 0, sizeof(*s));
}
