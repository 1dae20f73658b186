/* ab_audience.h - who sees which mount.
 *
 * One gateway serves many organisations: each AltinnBrokerMount may be bound
 * to SFTP users (users=) and groups (groups=), and a session sees only the
 * mounts bound to its user or to one of its groups (a mount bound to nobody
 * is seen by every user). Several organisations may use the same path
 * ("/outbox") for different audiences; the one rule is that no session may
 * see two mounts at the same or nested paths, because a path must name
 * exactly one organisation's files. ab_config_finish refuses overlaps it can
 * prove from the configuration (a user or group named by both mounts, an
 * unbound mount); overlaps that depend on group membership are refused at
 * login by ab_audience_mounts, so such a user cannot log in at all rather
 * than see another organisation's files.
 */
#ifndef AB_AUDIENCE_H
#define AB_AUDIENCE_H

#include <stddef.h>

#include "ab_config.h"
#include "ab_error.h"

/* The identity a session acts for. */
typedef struct ab_principal {
  const char *user;             /* SFTP user name */
  const char *const *groups;    /* every group the user is in (primary too) */
  size_t n_groups;
} ab_principal;

/* True when m is visible to who. who NULL is the admin CLI without -u/-g:
 * it sees every mount. */
int ab_mount_visible_to(const ab_mount_cfg *m, const ab_principal *who);

/* True when some user could see both a and b according to the
 * configuration alone: either is unbound, or both name the same user or the
 * same group. (A user named in one and a group named in the other may
 * overlap too, which only login can tell.) */
int ab_audience_may_overlap(const ab_mount_cfg *a, const ab_mount_cfg *b);

/* True when paths a and b are equal or one lies inside the other. */
int ab_mount_paths_clash(const char *a, const char *b);

/* Fills out[] (cfg->n_mounts slots) with the mounts who sees, in
 * configuration order, and *n with their number. Fails (EACCES) when two of
 * them clash: the message names both directives and says how to fix it. */
int ab_audience_mounts(const ab_config *cfg, const ab_principal *who,
                       const ab_mount_cfg **out, size_t *n, ab_error *err);

#endif
