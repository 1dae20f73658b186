/* ab_audience.c - users= and groups= of AltinnBrokerMount (see
 * ab_audience.h for the rules). */
#include "ab_audience.h"

#include <errno.h>
#include <string.h>

static int listed(char *const *items, size_t n, const char *name) {
  for (size_t i = 0; name != NULL && i < n; i++) {
    if (strcmp(items[i], name) == 0) {
      return 1;
    }
  }
  return 0;
}

static int unbound(const ab_mount_cfg *m) {
  return m->n_users == 0 && m->n_groups == 0;
}

int ab_mount_visible_to(const ab_mount_cfg *m, const ab_principal *who) {
  if (who == NULL || unbound(m)) {
    return 1;
  }
  if (listed(m->users, m->n_users, who->user)) {
    return 1;
  }
  for (size_t i = 0; i < who->n_groups; i++) {
    if (listed(m->groups, m->n_groups, who->groups[i])) {
      return 1;
    }
  }
  return 0;
}

int ab_audience_may_overlap(const ab_mount_cfg *a, const ab_mount_cfg *b) {
  if (unbound(a) || unbound(b)) {
    return 1;
  }
  for (size_t i = 0; i < a->n_users; i++) {
    if (listed(b->users, b->n_users, a->users[i])) {
      return 1;
    }
  }
  for (size_t i = 0; i < a->n_groups; i++) {
    if (listed(b->groups, b->n_groups, a->groups[i])) {
      return 1;
    }
  }
  return 0;
}

int ab_mount_paths_clash(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  const char *shorter = na <= nb ? a : b;
  const char *longer = na <= nb ? b : a;
  size_t n = na <= nb ? na : nb;
  return strncmp(shorter, longer, n) == 0 && (longer[n] == '\0' || longer[n] == '/');
}

int ab_audience_mounts(const ab_config *cfg, const ab_principal *who,
                       const ab_mount_cfg **out, size_t *n, ab_error *err) {
  *n = 0;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const ab_mount_cfg *m = &cfg->mounts[i];
    if (!ab_mount_visible_to(m, who)) {
      continue;
    }
    for (size_t j = 0; j < *n; j++) {
      if (ab_mount_paths_clash(out[j]->path, m->path)) {
        if (who == NULL) {
          return ab_error_set(err, EACCES, "AltinnBrokerMount %s (%s) and %s (%s) are bound to "
                              "different users; choose whose mounts to use with -u USER or -g GROUP",
                              out[j]->path, out[j]->source, m->path, m->source);
        }
        return ab_error_set(err, EACCES, "user %s would see two mounts at %s: %s (%s) and %s (%s); "
                            "bind them to users or groups that do not share members",
                            who->user ? who->user : "?", m->path, out[j]->path, out[j]->source,
                            m->path, m->source);
      }
    }
    out[(*n)++] = m;
  }
  return 0;
}
