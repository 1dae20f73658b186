/* ab_addressing.c - temporary names, recipient directories, sidecars and
 * reference templates (see ab_addressing.h). */
#include "ab_addressing.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int ab_is_temp_name(const ab_outbox_cfg *o, const char *name) {
  for (size_t i = 0; i < o->n_temp_patterns; i++) {
    /* FNM_PERIOD off: ".in.*" must match names that start with a dot. */
    if (fnmatch(o->temp_patterns[i], name, 0) == 0) {
      return 1;
    }
  }
  return 0;
}

int ab_is_sidecar_name(const ab_outbox_cfg *o, const char *name, size_t *base_len) {
  static const char suffix[] = ".properties";
  size_t n = strlen(name), s = sizeof(suffix) - 1;
  if (!o->sidecars || n <= s || strcmp(name + n - s, suffix) != 0) {
    return 0;
  }
  *base_len = n - s;
  return 1;
}

int ab_recipient_dir(const ab_outbox_cfg *o, const char *dir, char out[16], ab_error *err) {
  size_t n = strlen(dir);
  int digits = n == 9;
  for (size_t i = 0; digits && i < n; i++) {
    digits = isdigit((unsigned char) dir[i]) != 0;
  }
  if (o->recipient_dirs == AB_RECIPIENT_DIRS_NO || !digits) {
    return ab_error_set(err, ENOENT, "no such directory %s (only %s)", dir,
                        o->recipient_dirs == AB_RECIPIENT_DIRS_NO
                          ? "the outbox itself takes files here"
                          : "organisation numbers of 9 digits name recipient directories");
  }
  if (o->recipient_dirs == AB_RECIPIENT_DIRS_LISTED) {
    int allowed = 0;
    for (size_t i = 0; i < o->n_recipient_dir_orgs; i++) {
      allowed |= strcmp(o->recipient_dir_orgs[i], dir) == 0;
    }
    if (!allowed) {
      return ab_error_set(err, EACCES, "sending to organisation %s is not allowed from this "
                          "outbox (recipient-dirs lists the allowed ones)", dir);
    }
  }
  snprintf(out, 16, "0192:%s", dir);
  return 0;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = '\0';
  return s;
}

/* Characters, not bytes: the Broker counts UTF-16 code units, which for
 * text outside the astral planes is one per character. */
static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++) {
    n += ((unsigned char) *s & 0xc0) != 0x80;
  }
  return n;
}

static int valid_utf8_text(const char *s) {
  const unsigned char *p = (const unsigned char *) s;
  while (*p) {
    if (*p < 0x20 || *p == 0x7f) {
      if (*p != '\t') return 0;
      p++;
    } else if (*p < 0x80) {
      p++;
    } else {
      int len = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
      if (len == 0 || (len == 2 && *p < 0xc2)) return 0;
      for (int i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
      }
      p += len;
    }
  }
  return 1;
}

int ab_sidecar_parse(const char *data, size_t len, ab_sidecar *out, ab_error *err) {
  memset(out, 0, sizeof(*out));
  if (len > AB_MAX_SIDECAR) {
    return ab_error_set(err, EINVAL, "a .properties sidecar may be at most %d bytes", AB_MAX_SIDECAR);
  }
  if (memchr(data, '\0', len) != NULL) {
    return ab_error_set(err, EINVAL, "a .properties sidecar must be text (it contains NUL bytes)");
  }
  out->text = malloc(len + 1);
  if (out->text == NULL) {
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  memcpy(out->text, data, len);
  out->text[len] = '\0';
  int lineno = 0;
  for (char *line = out->text, *next; line != NULL; line = next) {
    lineno++;
    next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    char *l = trim(line);
    if (*l == '\0' || *l == '#') {
      continue;
    }
    char *eq = strchr(l, '=');
    if (eq == NULL) {
      ab_error_set(err, EINVAL, "line %d of the .properties sidecar is not key=value", lineno);
      ab_sidecar_free(out);
      return -1;
    }
    *eq = '\0';
    char *key = trim(l), *value = trim(eq + 1);
    if (!valid_utf8_text(key) || !valid_utf8_text(value)) {
      ab_error_set(err, EINVAL, "line %d of the .properties sidecar is not valid UTF-8 text",
                   lineno);
      ab_sidecar_free(out);
      return -1;
    }
    if (strcasecmp(key, "sendersFileTransferReference") == 0) {
      if (*value == '\0' || utf8_chars(value) > AB_MAX_REFERENCE) {
        ab_error_set(err, EINVAL, "line %d: sendersFileTransferReference must be 1 to %d "
                     "characters", lineno, AB_MAX_REFERENCE);
        ab_sidecar_free(out);
        return -1;
      }
      out->reference = value;
      continue;
    }
    if (*key == '\0' || utf8_chars(key) > AB_MAX_PROPERTY_KEY ||
        utf8_chars(value) > AB_MAX_PROPERTY_VALUE) {
      ab_error_set(err, EINVAL, "line %d: a property key must be 1 to %d characters and "
                   "its value at most %d", lineno, AB_MAX_PROPERTY_KEY, AB_MAX_PROPERTY_VALUE);
      ab_sidecar_free(out);
      return -1;
    }
    for (size_t i = 0; i < out->n_props; i++) {
      if (strcmp(out->props[i].key, key) == 0) {
        ab_error_set(err, EINVAL, "line %d: property \"%s\" is given twice", lineno, key);
        ab_sidecar_free(out); /* only now: the message quotes the key */
        return -1;
      }
    }
    if (out->n_props == AB_MAX_PROPERTIES) {
      ab_error_set(err, EINVAL, "line %d: the Broker takes at most %d properties",
                   lineno, AB_MAX_PROPERTIES);
      ab_sidecar_free(out);
      return -1;
    }
    out->props[out->n_props].key = key;
    out->props[out->n_props].value = value;
    out->n_props++;
  }
  return 0;
}

void ab_sidecar_free(ab_sidecar *s) {
  free(s->text);
  memset(s, 0, sizeof(*s));
}

void ab_reference_expand(const char *tmpl, const char *user, const char *name,
                         time_t when, const char *upload_id, char *out, size_t outsz) {
  char stamp[32];
  struct tm tm;
  gmtime_r(&when, &tm);
  strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
  size_t limit = outsz - 1 < AB_MAX_REFERENCE ? outsz - 1 : AB_MAX_REFERENCE;
  size_t o = 0;
  for (const char *p = tmpl; *p && o < limit; p++) {
    const char *insert = NULL;
    char one[2] = { *p, '\0' };
    if (*p == '%' && p[1] != '\0') {
      p++;
      insert = *p == 'u' ? user : *p == 'n' ? name : *p == 't' ? stamp
             : *p == 'i' ? upload_id : *p == '%' ? "%" : "";
    } else {
      insert = one;
    }
    for (; *insert && o < limit; insert++) {
      out[o++] = *insert;
    }
  }
  /* Do not end in the middle of a UTF-8 sequence. */
  if (o > 0 && (unsigned char) out[o - 1] >= 0x80) {
    size_t start = o - 1;
    while (start > 0 && ((unsigned char) out[start] & 0xc0) == 0x80) start--;
    unsigned char lead = (unsigned char) out[start];
    size_t need = (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : (lead & 0xf8) == 0xf0 ? 4 : 1;
    if (o - start < need) {
      o = start;
    }
  }
  out[o] = '\0';
}
