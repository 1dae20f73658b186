/* ab_config_outbox.c - outbox mount options and AltinnBrokerUpload
 * (see ab_config_outbox.h for the syntax and defaults). */
#include "ab_config_outbox.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST 64

static const char *const default_temp_patterns[] = { "*.filepart", ".in.*" };

static void free_list(char **items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i]);
  }
  free(items);
}

/* Splits "a,b" into a malloc'ed list of non-empty items. */
static int split(const char *value, char ***out, size_t *n_out) {
  char **items = calloc(MAX_LIST, sizeof(char *));
  char *copy = strdup(value);
  size_t n = 0;
  if (items == NULL || copy == NULL) {
    free(items);
    free(copy);
    return -1;
  }
  char *save = NULL;
  for (char *tok = strtok_r(copy, ",", &save); tok != NULL && n < MAX_LIST;
       tok = strtok_r(NULL, ",", &save)) {
    if (*tok == '\0') continue;
    items[n] = strdup(tok);
    if (items[n++] == NULL) {
      free_list(items, n);
      free(copy);
      return -1;
    }
  }
  free(copy);
  *out = items;
  *n_out = n;
  return 0;
}

int ab_outbox_cfg_init(ab_outbox_cfg *o) {
  memset(o, 0, sizeof(*o));
  o->duplicate_window_s = 24 * 3600;
  o->duplicates = AB_DUPLICATES_SEND;
  o->receipts = 1;
  o->reference = strdup("sftp:%u:%t:%n");
  o->temp_patterns = calloc(2, sizeof(char *));
  if (o->reference == NULL || o->temp_patterns == NULL) {
    return -1;
  }
  for (size_t i = 0; i < 2; i++) {
    o->temp_patterns[i] = strdup(default_temp_patterns[i]);
    if (o->temp_patterns[i] == NULL) {
      return -1;
    }
    o->n_temp_patterns++;
  }
  return 0;
}

void ab_outbox_cfg_free(ab_outbox_cfg *o) {
  free_list(o->temp_patterns, o->n_temp_patterns);
  free_list(o->recipient_dir_orgs, o->n_recipient_dir_orgs);
  free(o->reference);
  memset(o, 0, sizeof(*o));
}

void ab_upload_cfg_init(ab_upload_cfg *u) {
  u->tus_above = 64LL << 20;
  u->chunk = 16LL << 20;
  u->parallel = 4;
  u->retries = 4;
  u->retry_delay_ms = 1000;
  u->retry_max_wait_ms = 60000;
  u->connect_timeout_ms = 10000;
  u->stall_timeout_ms = 60000;
}

long long ab_parse_size(const char *s) {
  if (s == NULL || !isdigit((unsigned char) *s)) {
    return -1;
  }
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0) {
    return -1;
  }
  int shift = 0;
  switch (*end) {
  case '\0': break;
  case 'k': case 'K': shift = 10; end++; break;
  case 'm': case 'M': shift = 20; end++; break;
  case 'g': case 'G': shift = 30; end++; break;
  case 't': case 'T': shift = 40; end++; break;
  default: return -1;
  }
  if (*end == 'B' || *end == 'b') {
    end++;
  }
  if (*end != '\0' || v > (0x7fffffffffffffffULL >> shift)) {
    return -1;
  }
  return (long long) (v << shift);
}

long long ab_parse_duration_ms(const char *s) {
  if (s == NULL || !isdigit((unsigned char) *s)) {
    return -1;
  }
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || v > 1000000000ULL) {
    return -1;
  }
  long long unit;
  if (strcmp(end, "ms") == 0) unit = 1;
  else if (*end == '\0' || strcmp(end, "s") == 0) unit = 1000;
  else if (strcmp(end, "m") == 0) unit = 60000;
  else if (strcmp(end, "h") == 0) unit = 3600000;
  else if (strcmp(end, "d") == 0) unit = 86400000;
  else return -1;
  return (long long) v * unit;
}

static int bad(ab_error *err, const char *source, const char *key, const char *value,
               const char *expected) {
  return ab_error_set(err, EINVAL, "%s%sAltinnBrokerMount: %s=%s is not valid (expected %s)",
                      source ? source : "", source ? ": " : "", key, value, expected);
}

static int is_org(const char *s) {
  if (strlen(s) != 9) return 0;
  for (int i = 0; i < 9; i++) {
    if (!isdigit((unsigned char) s[i])) return 0;
  }
  return 1;
}

static int yes_no(const char *v) {
  if (strcmp(v, "yes") == 0 || strcmp(v, "on") == 0) return 1;
  if (strcmp(v, "no") == 0 || strcmp(v, "off") == 0) return 0;
  return -1;
}

/* The template may only use the documented placeholders. */
static int reference_ok(const char *t) {
  if (*t == '\0' || strlen(t) > 400) return 0;
  for (const char *p = t; *p; p++) {
    if (*p == '%') {
      p++;
      if (strchr("unti%", *p) == NULL || *p == '\0') return 0;
    }
  }
  return 1;
}

int ab_outbox_cfg_option(ab_outbox_cfg *o, const char *key, const char *v,
                         const char *source, ab_error *err) {
  if (strcmp(key, "max-size") == 0) {
    long long n = ab_parse_size(v);
    if (n <= 0) return bad(err, source, key, v, "a size such as 500M or 2G");
    o->max_size = n;
  } else if (strcmp(key, "resend") == 0) {
    if (strcmp(v, "allow") == 0) o->resend = AB_RESEND_ALLOW;
    else if (strcmp(v, "refuse") == 0) o->resend = AB_RESEND_REFUSE;
    else return bad(err, source, key, v, "allow or refuse");
  } else if (strcmp(key, "duplicates") == 0) {
    if (strcmp(v, "refuse") == 0) o->duplicates = AB_DUPLICATES_REFUSE;
    else if (strcmp(v, "send") == 0) o->duplicates = AB_DUPLICATES_SEND;
    else return bad(err, source, key, v, "refuse or send");
  } else if (strcmp(key, "duplicate-window") == 0) {
    long long ms = ab_parse_duration_ms(v);
    if (ms < 0) return bad(err, source, key, v, "a duration such as 24h, 30m or 0");
    o->duplicate_window_s = ms / 1000;
  } else if (strcmp(key, "temp-names") == 0) {
    free_list(o->temp_patterns, o->n_temp_patterns);
    o->temp_patterns = NULL;
    o->n_temp_patterns = 0;
    if (strcmp(v, "none") != 0 && split(v, &o->temp_patterns, &o->n_temp_patterns) < 0) {
      return ab_error_set(err, ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < o->n_temp_patterns; i++) {
      if (strchr(o->temp_patterns[i], '/') != NULL) {
        return bad(err, source, key, v, "file name globs without '/', or none");
      }
    }
  } else if (strcmp(key, "recipient-dirs") == 0) {
    free_list(o->recipient_dir_orgs, o->n_recipient_dir_orgs);
    o->recipient_dir_orgs = NULL;
    o->n_recipient_dir_orgs = 0;
    if (strcmp(v, "no") == 0) {
      o->recipient_dirs = AB_RECIPIENT_DIRS_NO;
    } else if (strcmp(v, "any") == 0) {
      o->recipient_dirs = AB_RECIPIENT_DIRS_ANY;
    } else {
      if (split(v, &o->recipient_dir_orgs, &o->n_recipient_dir_orgs) < 0) {
        return ab_error_set(err, ENOMEM, "out of memory");
      }
      for (size_t i = 0; i < o->n_recipient_dir_orgs; i++) {
        char *org = o->recipient_dir_orgs[i];
        if (strncmp(org, "0192:", 5) == 0) {
          memmove(org, org + 5, strlen(org + 5) + 1);
        }
        if (!is_org(org)) {
          return bad(err, source, key, v, "no, any, or organisation numbers (9 digits) separated by commas");
        }
      }
      o->recipient_dirs = AB_RECIPIENT_DIRS_LISTED;
    }
  } else if (strcmp(key, "sidecars") == 0 || strcmp(key, "receipts") == 0) {
    int yn = yes_no(v);
    if (yn < 0) return bad(err, source, key, v, "yes or no");
    *(strcmp(key, "sidecars") == 0 ? &o->sidecars : &o->receipts) = yn;
  } else if (strcmp(key, "reference") == 0) {
    if (!reference_ok(v)) {
      return bad(err, source, key, v, "1-400 characters using only the placeholders "
                 "%u %n %t %i %%");
    }
    char *copy = strdup(v);
    if (copy == NULL) return ab_error_set(err, ENOMEM, "out of memory");
    free(o->reference);
    o->reference = copy;
  } else {
    return 0;
  }
  return 1;
}

int ab_upload_cfg_directive(ab_upload_cfg *u, int argc, const char *const *argv,
                            const char *source, ab_error *err) {
  const char *src = source ? source : "";
  const char *sep = source ? ": " : "";
  if (argc < 1) {
    return ab_error_set(err, EINVAL, "%s%sAltinnBrokerUpload needs key=value settings "
                        "(tus-above=, chunk=, parallel=, retries=, retry-delay=, "
                        "retry-max-wait=, connect-timeout=, stall-timeout=, pipeline=)", src, sep);
  }
  for (int i = 0; i < argc; i++) {
    const char *eq = strchr(argv[i], '=');
    char key[32];
    if (eq == NULL || eq == argv[i] || (size_t) (eq - argv[i]) >= sizeof(key)) {
      return ab_error_set(err, EINVAL, "%s%sAltinnBrokerUpload: expected key=value, got '%s'",
                          src, sep, argv[i]);
    }
    memcpy(key, argv[i], (size_t) (eq - argv[i]));
    key[eq - argv[i]] = '\0';
    const char *v = eq + 1;
    long long n;
    if (strcmp(key, "tus-above") == 0 || strcmp(key, "chunk") == 0) {
      n = ab_parse_size(v);
      /* A PATCH smaller than 64 KiB would be all overhead. */
      if (n < (strcmp(key, "chunk") == 0 ? 65536 : 0)) {
        return ab_error_set(err, EINVAL, "%s%sAltinnBrokerUpload: %s=%s is not a valid size%s",
                            src, sep, key, v, strcmp(key, "chunk") == 0 ? " (at least 64K)" : "");
      }
      *(strcmp(key, "chunk") == 0 ? &u->chunk : &u->tus_above) = n;
    } else if (strcmp(key, "parallel") == 0 || strcmp(key, "retries") == 0) {
      char *end = NULL;
      long x = strtol(v, &end, 10);
      int parallel = strcmp(key, "parallel") == 0;
      if (*v == '\0' || *end != '\0' || x < (parallel ? 1 : 0) || x > (parallel ? 16 : 20)) {
        return ab_error_set(err, EINVAL, "%s%sAltinnBrokerUpload: %s=%s must be a number from %d to %d",
                            src, sep, key, v, parallel ? 1 : 0, parallel ? 16 : 20);
      }
      *(parallel ? &u->parallel : &u->retries) = (int) x;
    } else if (strcmp(key, "retry-delay") == 0 || strcmp(key, "retry-max-wait") == 0 ||
               strcmp(key, "connect-timeout") == 0 || strcmp(key, "stall-timeout") == 0) {
      n = ab_parse_duration_ms(v);
      int timeout = strstr(key, "timeout") != NULL;
      if (n < 0 || (timeout && n < 1000)) {
        return ab_error_set(err, EINVAL, "%s%sAltinnBrokerUpload: %s=%s is not a valid duration%s",
                            src, sep, key, v, timeout ? " (at least 1s)" : "");
      }
      long long *slot = strcmp(key, "retry-delay") == 0 ? &u->retry_delay_ms
                      : strcmp(key, "retry-max-wait") == 0 ? &u->retry_max_wait_ms
                      : strcmp(key, "connect-timeout") == 0 ? &u->connect_timeout_ms
                      : &u->stall_timeout_ms;
      *slot = n;
    } else if (strcmp(key, "pipeline") == 0) {
      if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0) {
        return ab_error_set(err, EINVAL, "%s%sAltinnBrokerUpload: pipeline=%s must be on or off",
                            src, sep, v);
      }
      u->pipeline = strcmp(v, "on") == 0;
    } else {
      return ab_error_set(err, EINVAL, "%s%sAltinnBrokerUpload: unknown setting '%s' (known: "
                          "tus-above, chunk, parallel, retries, retry-delay, retry-max-wait, "
                          "connect-timeout, stall-timeout, pipeline)", src, sep, key);
    }
  }
  return 0;
}
