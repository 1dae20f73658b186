/* ab_names.c - untrusted file names in both directions (see ab_names.h). */
#include "ab_names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid.
 * Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_len(const unsigned char *s) {
  if (s[0] < 0x80) return 1;
  if (s[0] >= 0xC2 && s[0] <= 0xDF) {
    return (s[1] & 0xC0) == 0x80 ? 2 : 0;
  }
  if (s[0] >= 0xE0 && s[0] <= 0xEF) {
    if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) return 0;
    if (s[0] == 0xE0 && s[1] < 0xA0) return 0;         /* overlong */
    if (s[0] == 0xED && s[1] >= 0xA0) return 0;        /* surrogates */
    return 3;
  }
  if (s[0] >= 0xF0 && s[0] <= 0xF4) {
    if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 0;
    if (s[0] == 0xF0 && s[1] < 0x90) return 0;         /* overlong */
    if (s[0] == 0xF4 && s[1] >= 0x90) return 0;        /* > U+10FFFF */
    return 4;
  }
  return 0;
}

/* C0 and C1 control characters (U+0080..U+009F arrive as C2 80..C2 9F). */
static int is_control(const unsigned char *s, size_t len) {
  if (len == 1) return s[0] < 0x20 || s[0] == 0x7F;
  return len == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

int ab_name_check_upload(const char *name, ab_error *err) {
  size_t n = strlen(name);
  if (n == 0) {
    return ab_error_set(err, EINVAL, "empty file name");
  }
  if (n > 255) {
    return ab_error_set(err, ENAMETOOLONG, "file name is %zu bytes; the Broker allows at most 255", n);
  }
  if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
    return ab_error_set(err, EINVAL, "'%s' is not a file name", name);
  }
  const unsigned char *p = (const unsigned char *) name;
  while (*p != '\0') {
    size_t len = utf8_len(p);
    if (len == 0) {
      return ab_error_set(err, EINVAL, "file name is not valid UTF-8 (byte 0x%02x at offset %zu)",
                          *p, (size_t) (p - (const unsigned char *) name));
    }
    if (is_control(p, len)) {
      return ab_error_set(err, EINVAL, "file name contains a control character at offset %zu",
                          (size_t) (p - (const unsigned char *) name));
    }
    if (*p == '/' || *p == '\\') {
      return ab_error_set(err, EINVAL, "file name may not contain '%c'", *p);
    }
    p += len;
  }
  return 0;
}

void ab_name_sanitize(const char *untrusted, char *out, size_t outsz) {
  const size_t limit = outsz - 1 < 200 ? outsz - 1 : 200;
  const unsigned char *p = (const unsigned char *) (untrusted ? untrusted : "");
  size_t o = 0;
  while (*p != '\0') {
    size_t len = utf8_len(p);
    if (len == 0 || is_control(p, len) || *p == '/' || *p == '\\') {
      if (o + 1 > limit) break;
      out[o++] = '_';
      p += len ? len : 1;
      continue;
    }
    if (o + len > limit) break;        /* never cut a character in half */
    memcpy(out + o, p, len);
    o += len;
    p += len;
  }
  out[o] = '\0';
  if (out[0] == '.') {
    out[0] = '_';                      /* no hidden files, no "." or ".." */
  }
  if (o == 0) {
    snprintf(out, outsz, "unnamed");
  }
}

void ab_name_with_id(const char *name, const char *id, char *out, size_t outsz) {
  const char *dot = strrchr(name, '.');
  if (dot == NULL || dot == name) {
    snprintf(out, outsz, "%s~%.8s", name, id);
  } else {
    snprintf(out, outsz, "%.*s~%.8s%s", (int) (dot - name), name, id, dot);
  }
}
