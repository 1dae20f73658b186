/* ab_ranges.h - a set of byte ranges, to know when a file has been read
 * whole even when the client read it out of order or through several
 * handles (rclone and lftp read in parallel). */
#ifndef AB_RANGES_H
#define AB_RANGES_H

#include <stddef.h>

typedef struct ab_ranges {
  long long (*r)[2];     /* sorted, disjoint, non-adjacent [start, end) */
  size_t n, cap;
} ab_ranges;

/* Adds [start, end) (merging with what touches it). 0, or -1 on OOM. */
int ab_ranges_add(ab_ranges *s, long long start, long long end);

/* 1 when [0, size) is covered (an empty file is covered once anything,
 * even an empty range at 0, was added). */
int ab_ranges_complete(const ab_ranges *s, long long size);

void ab_ranges_free(ab_ranges *s);

#endif
