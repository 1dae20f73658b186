/* ab_state.c - the embedded state store (see ab_state.h). */
#include "ab_state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ab_state {
  int dirfd;
};

ab_state *ab_state_open(const char *dir, ab_error *err) {
  ab_state *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    ab_error_set(err, ENOMEM, "out of memory");
    return NULL;
  }
  s->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (s->dirfd < 0) {
    ab_error_set(err, EIO, "cannot open state directory %s: %s", dir, strerror(errno));
    free(s);
    return NULL;
  }
  return s;
}

void ab_state_close(ab_state *s) {
  if (s != NULL) {
    close(s->dirfd);
    free(s);
  }
}

/* Entry names are built only from digits, hex and '-', so an id from the
 * Broker can never name a path outside the directory. */
static int entry_name(char *out, size_t outsz, const char *kind, const char *org,
                      const char *id) {
  for (const char *p = org; *p; p++) {
    if (!isdigit((unsigned char) *p)) return -1;
  }
  for (const char *p = id; *p; p++) {
    if (!isxdigit((unsigned char) *p) && *p != '-') return -1;
  }
  int n = snprintf(out, outsz, "%s.%s.%s", kind, org, id);
  return n > 0 && (size_t) n < outsz ? 0 : -1;
}

int ab_state_mark_read(ab_state *s, const char *org, const char *id, ab_error *err) {
  char name[128];
  if (entry_name(name, sizeof(name), "read", org, id) < 0) {
    return ab_error_set(err, EINVAL, "transfer id '%.40s' is not a GUID", id);
  }
  int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return ab_error_set(err, EIO, "cannot record the read of %s in the state directory: %s",
                        id, strerror(errno));
  }
  close(fd);
  return 0;
}

int ab_state_was_read(ab_state *s, const char *org, const char *id) {
  char name[128];
  struct stat st;
  if (entry_name(name, sizeof(name), "read", org, id) < 0) {
    return 0;
  }
  return fstatat(s->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}
