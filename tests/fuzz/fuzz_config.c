/* fuzz_config.c - the AltinnBroker* configuration (ab_config.c), both ways
 * it is read: a whole file as the admin CLI reads it
 * (ab_config_load_file, Include lines and all), and one directive at a time with
 * ProFTPD's argv split (ab_config_directive + ab_config_finish).
 *
 * Invariants: a refused line yields an errno and a one-line printable
 * message; an accepted configuration has canonical absolute mount paths
 * (no ".", "..", "//" or trailing '/'), no nesting within one audience, every mount resolved to
 * a client, outboxes with recipients in "0192:<9 digits>" form. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ab_config.h"
#include "fuzz_fake_http.h"

static void check_path(const char *p) {
  size_t n = strlen(p);
  if (p[0] != '/' || n < 2 || p[n - 1] == '/' || strstr(p, "//") != NULL) {
    fprintf(stderr, "mount path \"%s\" is not canonical\n", p);
    abort();
  }
  for (const char *c = p; c != NULL && *c != '\0'; c = strchr(c + 1, '/')) {
    const char *seg = c + 1;
    size_t len = strcspn(seg, "/");
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
      fprintf(stderr, "mount path \"%s\" has a dot segment\n", p);
      abort();
    }
  }
}

/* True when one name is in both lists. */
static int shares_name(char **a, size_t na, char **b, size_t nb) {
  for (size_t x = 0; x < na; x++) {
    for (size_t y = 0; y < nb; y++) {
      if (strcmp(a[x], b[y]) == 0) {
        return 1;
      }
    }
  }
  return 0;
}

/* True when the configuration alone shows one user seeing both mounts:
 * either is bound to nobody (every user sees it), or both name the same
 * user or the same group. Mounts at one path for disjoint audiences are how
 * one gateway serves several organisations, so only these may not nest.
 * Written out here rather than calling ab_audience_may_overlap: an oracle
 * that shares the code under test could not catch its mistakes. */
static int same_audience(const ab_mount_cfg *a, const ab_mount_cfg *b) {
  if ((a->n_users == 0 && a->n_groups == 0) || (b->n_users == 0 && b->n_groups == 0)) {
    return 1;
  }
  return shares_name(a->users, a->n_users, b->users, b->n_users) ||
         shares_name(a->groups, a->n_groups, b->groups, b->n_groups);
}

static void check_config(const ab_config *cfg) {
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    const ab_mount_cfg *m = &cfg->mounts[i];
    check_path(m->path);
    if (m->client == NULL || m->resource_id == NULL || m->resource_id[0] == '\0') {
      abort();
    }
    if (m->direction == AB_OUTBOX && m->n_recipients == 0) {
      abort();
    }
    for (size_t r = 0; r < m->n_recipients; r++) {
      const char *s = m->recipients[r];
      if (strlen(s) != 14 || strncmp(s, "0192:", 5) != 0) {
        abort();
      }
      for (int k = 5; k < 14; k++) {
        if (!isdigit((unsigned char) s[k])) {
          abort();
        }
      }
    }
    for (size_t j = 0; j < cfg->n_mounts; j++) {
      size_t a = strlen(cfg->mounts[j].path);
      if (j != i && strncmp(cfg->mounts[j].path, m->path, a) == 0 &&
          (m->path[a] == '/' || m->path[a] == '\0') && same_audience(m, &cfg->mounts[j])) {
        fprintf(stderr, "mount %s lies in %s\n", m->path, cfg->mounts[j].path);
        abort();
      }
    }
  }
  if (strncmp(cfg->platform_url, "https://", 8) != 0 ||
      strncmp(cfg->token_url, "https://", 8) != 0) {
    abort();
  }
}

/* The file way follows Include lines as in production, but sandboxed: the
 * target is linked with -Wl,--wrap for open, stat and glob, and while
 * `sandboxed` is set those only reach "/fuzz.conf" and fixtures under
 * "/inc/" (both mapped into a scratch directory); anything else is ENOENT.
 * So an input can Include a directory, a pattern, itself or a FIFO, but
 * never /proc/kmsg or a terminal that would block the fuzzer. */
static char scratch[4096]; /* $TMPDIR/ab-fuzz-config.XXXXXX (test-fuzz.sh cleans it) */
static int sandboxed = 0;

int __real_open(const char *path, int flags, ...);
int __real_stat(const char *path, struct stat *st);
int __real_glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g);

/* The real path for `path` inside the sandbox, or NULL when out of reach. */
static const char *sandbox_path(const char *path, char *buf, size_t len) {
  size_t sl = strlen(scratch);
  if (strncmp(path, scratch, sl) == 0 && (path[sl] == '/' || path[sl] == '\0') &&
      strstr(path, "/..") == NULL) {
    return path; /* already mapped (a glob result) */
  }
  if ((strcmp(path, "/fuzz.conf") == 0 || strncmp(path, "/inc/", 5) == 0 ||
       strcmp(path, "/inc") == 0) && strstr(path, "/..") == NULL) {
    snprintf(buf, len, "%s%s", scratch, path);
    return buf;
  }
  return NULL;
}

int __wrap_open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  mode_t mode = (mode_t) va_arg(ap, int);
  va_end(ap);
  char buf[4096];
  if (sandboxed && (path = sandbox_path(path, buf, sizeof(buf))) == NULL) {
    errno = ENOENT;
    return -1;
  }
  return __real_open(path, flags, mode);
}

int __wrap_stat(const char *path, struct stat *st) {
  char buf[4096];
  if (sandboxed && (path = sandbox_path(path, buf, sizeof(buf))) == NULL) {
    errno = ENOENT;
    return -1;
  }
  return __real_stat(path, st);
}

int __wrap_glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g) {
  char buf[4096];
  if (sandboxed && (pattern = sandbox_path(pattern, buf, sizeof(buf))) == NULL) {
    memset(g, 0, sizeof(*g));
    return GLOB_NOMATCH;
  }
  return __real_glob(pattern, flags, errfunc, g);
}

static void put(const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", scratch, name);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    abort();
  }
  fputs(text, f);
  fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void) argc; (void) argv;
  char path[256];
  const char *tmp = getenv("TMPDIR");
  snprintf(scratch, sizeof(scratch), "%s/ab-fuzz-config.XXXXXX", tmp != NULL ? tmp : "/tmp");
  if (strlen(scratch) > 200 || mkdtemp(scratch) == NULL) {
    abort();
  }
  snprintf(path, sizeof(path), "%s/inc", scratch);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/inc/dir", scratch);
  mkdir(path, 0755);
  put("inc/client.conf", "AltinnBrokerClient c client-id=x org=999888777 key=/k kid=k\n");
  put("inc/dir/a.conf", "AltinnBrokerEnvironment tt02\n");
  put("inc/dir/b.conf", "AltinnBrokerMount /in client=c resource=r direction=inbox\n");
  put("inc/dir/b.conf~", "AltinnBrokerEnvironment production\n");
  put("inc/self.conf", "Include /inc/self.conf\n");
  snprintf(path, sizeof(path), "%s/inc/fifo", scratch);
  mkfifo(path, 0600);
  return 0;
}

static void fuzz_file(const uint8_t *data, size_t size) {
  put("fuzz.conf", "");
  char path[256];
  snprintf(path, sizeof(path), "%s/fuzz.conf", scratch);
  FILE *f = fopen(path, "w");
  if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    abort();
  }
  ab_config *cfg = ab_config_new();
  ab_error err;
  sandboxed = 1;
  int rc = ab_config_load_file(cfg, "/fuzz.conf", &err);
  sandboxed = 0;
  if (rc == 0) {
    check_config(cfg);
  } else {
    fuzz_check_error(&err);
  }
  ab_config_free(cfg);
}

/* The ProFTPD way: each line is one directive, words split on blanks. */
static void fuzz_directives(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) {
    abort();
  }
  memcpy(text, data, size);
  text[size] = '\0';
  ab_config *cfg = ab_config_new();
  ab_error err;
  int ok = 1;
  char *save_line = NULL;
  for (char *line = strtok_r(text, "\n", &save_line); line != NULL && ok;
       line = strtok_r(NULL, "\n", &save_line)) {
    const char *words[16];
    int n = 0;
    char *save_word = NULL;
    for (char *w = strtok_r(line, " \t", &save_word); w != NULL && n < 16;
         w = strtok_r(NULL, " \t", &save_word)) {
      words[n++] = w;
    }
    if (n == 0) {
      continue;
    }
    if (ab_config_directive(cfg, words[0], n - 1, words + 1, "fuzz:1", &err) < 0) {
      fuzz_check_error(&err);
      ok = 0;
    }
  }
  if (ok) {
    if (ab_config_finish(cfg, &err) == 0) {
      check_config(cfg);
    } else {
      fuzz_check_error(&err);
    }
  }
  ab_config_free(cfg);
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  if (data[0] & 1) {
    fuzz_file(data + 1, size - 1);
  } else {
    fuzz_directives(data + 1, size - 1);
  }
  return 0;
}
