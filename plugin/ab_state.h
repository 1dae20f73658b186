/* ab_state.h - state shared by all sessions of a gateway (embedded store).
 *
 * ProFTPD runs each session in its own process, chrooted and as the user's
 * uid, so what one session learns must be kept outside the process: here,
 * as small files in the state directory (AltinnBrokerStateDir), opened
 * before chroot and reached with *at() calls. The directory is mode 1733:
 * sessions can create entries and test names they know, but cannot list
 * it. Today it records which transfers were read whole, so that `rm` in a
 * later session may confirm them. */
#ifndef AB_STATE_H
#define AB_STATE_H

#include "ab_error.h"

typedef struct ab_state ab_state;

/* Opens the store in dir (which must exist). */
ab_state *ab_state_open(const char *dir, ab_error *err);
void ab_state_close(ab_state *s);

/* Records that transfer `id` was read whole by organisation `org`. */
int ab_state_mark_read(ab_state *s, const char *org, const char *id, ab_error *err);

/* 1 when ab_state_mark_read was recorded for (org, id), 0 when not. */
int ab_state_was_read(ab_state *s, const char *org, const char *id);

#endif
