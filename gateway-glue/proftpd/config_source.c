/* config_source.c - "file:line" of the directive ProFTPD is parsing.
 *
 * ProFTPD 1.3.8 tells a directive handler its line number
 * (pr_parser_get_lineno) but not which file it is in, and with `Include`
 * (Debian's /etc/proftpd/conf.d/) a line number alone sends an admin to the
 * wrong file. Errors found only after parsing (a mount naming an unknown
 * client, two mounts one user would both see) must still point at the
 * right file, so each directive's source is worked out while it is parsed:
 * the parser keeps every file of the Include chain open, so the file is the
 * one among this process's open regular files whose line N holds this
 * directive (or starts it, for a line continued with a backslash). */
#include "mod_altinn_broker.h"

#include <dirent.h>
#include <stdio.h>

/* Does physical line `lineno` of path end a logical line that starts with
 * `directive`? */
static int directive_ends_at(const char *path, const char *directive, unsigned int lineno) {
  FILE *f = fopen(path, "re");
  if (f == NULL) {
    return 0;
  }
  char line[4096];
  char first[256] = "";
  unsigned int n = 0;
  int continued = 0, found = 0;
  while (n < lineno && fgets(line, sizeof(line), f) != NULL) {
    n++;
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
      line[--len] = '\0';
    }
    if (!continued) {
      const char *p = line;
      while (*p == ' ' || *p == '\t') p++;
      size_t w = strcspn(p, " \t");
      snprintf(first, sizeof(first), "%.*s", (int) (w < sizeof(first) - 1 ? w : sizeof(first) - 1), p);
    }
    continued = len > 0 && line[len - 1] == '\\';
  }
  found = n == lineno && strcasecmp(first, directive) == 0;
  fclose(f);
  return found;
}

const char *abp_config_source(pool *p, const char *directive) {
  unsigned int lineno = pr_parser_get_lineno();
  const char *found = NULL;
  DIR *d = opendir("/proc/self/fd");
  struct dirent *de;
  while (d != NULL && (de = readdir(d)) != NULL) {
    char link[300], target[PR_TUNABLE_PATH_MAX + 1];
    if (de->d_name[0] == '.') {
      continue;
    }
    snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0 || target[0] != '/') {
      continue;
    }
    target[n] = '\0';
    struct stat st;
    if (stat(target, &st) == 0 && S_ISREG(st.st_mode) &&
        directive_ends_at(target, directive, lineno)) {
      /* Nested Includes open later files on higher descriptors; the
       * innermost file is the one being parsed. */
      found = pstrdup(p, target);
    }
  }
  if (d != NULL) {
    closedir(d);
  }
  char num[16];
  snprintf(num, sizeof(num), "%u", lineno);
  if (found == NULL) {
    return pstrcat(p, "line ", num, NULL);
  }
  return pstrcat(p, found, ":", num, NULL);
}
