/* fuzz_config.c - the AltinnBroker* configuration (ab_config.c), both ways
 * it is read: a whole file as the admin CLI reads it
 * (ab_config_load_file, through a memfd), and one directive at a time with
 * ProFTPD's argv split (ab_config_directive + ab_config_finish).
 *
 * Invariants: a refused line yields an errno and a one-line printable
 * message; an accepted configuration has canonical absolute mount paths
 * (no ".", "..", "//" or trailing '/'), no nesting, every mount resolved to
 * a client, outboxes with recipients in "0192:<9 digits>" form. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
          (m->path[a] == '/' || m->path[a] == '\0')) {
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

/* The file way: write the input to a memfd and load it by path. Include
 * lines may name other files; they are followed as in production. */
static void fuzz_file(const uint8_t *data, size_t size) {
  int fd = memfd_create("fuzz-config", MFD_CLOEXEC);
  if (fd < 0) {
    abort();
  }
  if (size > 0 && write(fd, data, size) != (ssize_t) size) {
    abort();
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ab_config *cfg = ab_config_new();
  ab_error err;
  if (ab_config_load_file(cfg, path, &err) == 0) {
    check_config(cfg);
  } else {
    fuzz_check_error(&err);
  }
  ab_config_free(cfg);
  close(fd);
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
