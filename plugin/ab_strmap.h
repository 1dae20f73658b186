/* ab_strmap.h - a string -> index hash map (open addressing).
 *
 * The inbox listing holds thousands of transfers and looks them up by id
 * and by name on every event, search page and READDIR; a linear scan would
 * make merging quadratic. Keys are copied; values are plain indexes. */
#ifndef AB_STRMAP_H
#define AB_STRMAP_H

#include <stddef.h>

typedef struct ab_strmap ab_strmap;

/* A new empty map, or NULL on OOM. */
ab_strmap *ab_strmap_new(void);
void ab_strmap_free(ab_strmap *m);

/* Sets key -> value (replacing an existing value). 0, or -1 on OOM. */
int ab_strmap_put(ab_strmap *m, const char *key, size_t value);

/* 1 and *value when key is present, else 0. value may be NULL. */
int ab_strmap_get(const ab_strmap *m, const char *key, size_t *value);

/* Removes key if present. */
void ab_strmap_del(ab_strmap *m, const char *key);

/* Removes every key. */
void ab_strmap_clear(ab_strmap *m);

/* Number of keys. */
size_t ab_strmap_count(const ab_strmap *m);

#endif
