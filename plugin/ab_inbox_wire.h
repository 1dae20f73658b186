/* ab_inbox_wire.h - the inbox listing as the agent sends it to sessions.
 *
 * A new session's first READDIR needs the whole listing; at 10,000
 * transfers an array of JSON objects is 1.4 MB and 60,000 cJSON nodes to
 * build, print, parse and free, which took longer than ProFTPD's own work
 * for the READDIR. So the listing travels as one string of lines, built
 * once per listing version in the agent and split in place by the session:
 *
 *   <id> TAB <name> TAB <gname> TAB <dir> TAB <size> TAB <mtime> LF
 *
 * Names never hold TAB or LF (ab_name_sanitize turns control characters
 * into '_'); an entry that did would be left out, not misread. */
#ifndef AB_INBOX_WIRE_H
#define AB_INBOX_WIRE_H

#include <stddef.h>
#include <time.h>

#include "ab_listing.h"

/* The shown entries of l as lines (malloc'ed, NUL-terminated), or NULL on OOM. */
char *ab_inbox_wire_encode(const ab_listing *l);

typedef struct ab_inbox_wire_row {
  const char *id;
  const char *name;       /* flat view name */
  const char *gname;      /* name in its sender's directory */
  const char *dir;        /* sender's directory */
  long long size;
  time_t mtime;
} ab_inbox_wire_row;

/* Splits the next well-formed line at *cursor (in place: fields are
 * NUL-terminated within the text) into row; malformed lines are skipped.
 * 1 with row set, 0 at the end. */
int ab_inbox_wire_next(char **cursor, ab_inbox_wire_row *row);

#endif
