/* ab_names.c - untrusted file names in both directions (see ab_names.h). */
#include "ab_names.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* Code point of a valid sequence of length len at s. */
static uint32_t utf8_decode(const unsigned char *s, size_t len) {
  switch (len) {
  case 1: return s[0];
  case 2: return ((uint32_t) (s[0] & 0x1F) << 6) | (s[1] & 0x3F);
  case 3: return ((uint32_t) (s[0] & 0x0F) << 12) | ((uint32_t) (s[1] & 0x3F) << 6) | (s[2] & 0x3F);
  default:
    return ((uint32_t) (s[0] & 0x07) << 18) | ((uint32_t) (s[1] & 0x3F) << 12) |
           ((uint32_t) (s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  }
}

/* Writes cp as UTF-8 into out (room for 4 bytes); returns the length. */
static size_t utf8_encode(uint32_t cp, char *out) {
  if (cp < 0x80) {
    out[0] = (char) cp;
    return 1;
  }
  if (cp < 0x800) {
    out[0] = (char) (0xC0 | (cp >> 6));
    out[1] = (char) (0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char) (0xE0 | (cp >> 12));
    out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char) (0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char) (0xF0 | (cp >> 18));
  out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
  out[3] = (char) (0x80 | (cp & 0x3F));
  return 4;
}

/* C0 and C1 control characters (U+0080..U+009F arrive as C2 80..C2 9F). */
static int is_control(const unsigned char *s, size_t len) {
  if (len == 1) return s[0] < 0x20 || s[0] == 0x7F;
  return len == 2 && s[0] == 0xC2 && s[1] < 0xA0;
}

/* Bidirectional controls: marks, embeddings, overrides, isolates. */
static int is_bidi_control(uint32_t c) {
  return c == 0x061C || c == 0x200E || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
         (c >= 0x2066 && c <= 0x2069);
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
    uint32_t c = utf8_decode(p, len);
    if (is_bidi_control(c) || c == 0x2028 || c == 0x2029) {
      /* The recipient would see another name than the one sent:
       * "invoice\u202Efdp.exe" displays as "invoiceexe.pdf". */
      return ab_error_set(err, EINVAL, "file name contains the invisible %s U+%04X at offset %zu",
                          is_bidi_control(c) ? "bidirectional control" : "line separator",
                          (unsigned) c, (size_t) (p - (const unsigned char *) name));
    }
    if (*p == '/' || *p == '\\') {
      return ab_error_set(err, EINVAL, "file name may not contain '%c'", *p);
    }
    p += len;
  }
  return 0;
}

/* ---- classification of untrusted code points ---- */

enum cp_class { CP_KEEP, CP_DROP, CP_UNDERSCORE, CP_SPACE };

/* Invisible format characters: removed so that what is shown is what the
 * name is (bidi overrides can reverse the visible extension). */
static int is_invisible(uint32_t c) {
  return c == 0x00AD || c == 0x034F || c == 0x061C || c == 0x115F || c == 0x1160 ||
         c == 0x17B4 || c == 0x17B5 || c == 0x180E ||
         (c >= 0x200B && c <= 0x200F) ||            /* zero width, LRM, RLM */
         (c >= 0x202A && c <= 0x202E) ||            /* bidi embeddings/overrides */
         (c >= 0x2060 && c <= 0x206F) ||            /* word joiner, isolates, ... */
         c == 0x3164 || c == 0xFEFF || c == 0xFFA0 ||
         (c >= 0xFE00 && c <= 0xFE0F) ||            /* variation selectors */
         (c >= 0xFFF9 && c <= 0xFFFB) ||            /* interlinear annotation */
         (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0000 && c <= 0xE0FFF);            /* tags, variation selectors sup. */
}

/* Path separators, their look-alikes, and what Windows forbids. */
static int is_separator_like(uint32_t c) {
  switch (c) {
  case '/': case '\\': case ':': case '*': case '?': case '"': case '<': case '>': case '|':
  case 0x2044: /* FRACTION SLASH */
  case 0x2215: /* DIVISION SLASH */
  case 0x2216: /* SET MINUS */
  case 0x2571: case 0x2572: /* box drawings diagonals */
  case 0x29F5: case 0x29F8: case 0x29F9: /* reverse solidus operator, big (reverse) solidus */
  case 0x3033: case 0x3035: /* vertical kana repeat marks */
  case 0xFE68: /* SMALL REVERSE SOLIDUS */
  case 0xFF0F: case 0xFF3C: /* FULLWIDTH SOLIDUS / REVERSE SOLIDUS */
  case 0x1735: /* PHILIPPINE SINGLE PUNCTUATION */
  case 0x2028: case 0x2029: /* line / paragraph separator */
    return 1;
  default:
    return 0;
  }
}

static int is_unicode_space(uint32_t c) {
  return c == 0x00A0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

static int is_private_or_nonchar(uint32_t c) {
  return (c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000) || (c >= 0xFDD0 && c <= 0xFDEF) ||
         (c & 0xFFFE) == 0xFFFE;
}

/* Characters that look like '.' (a name starting with "‥" reads as ".."). */
static int is_dot_like(uint32_t c) {
  return c == '.' || c == 0x2024 || c == 0x2025 || c == 0x2026 || c == 0xFE52 ||
         c == 0xFF0E || c == 0x0701 || c == 0x0702 || c == 0xA4F8;
}

static enum cp_class classify(uint32_t c) {
  if (c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) return CP_UNDERSCORE;
  if (is_invisible(c)) return CP_DROP;
  if (is_separator_like(c) || is_private_or_nonchar(c)) return CP_UNDERSCORE;
  if (is_unicode_space(c)) return CP_SPACE;
  return CP_KEEP;
}

static int is_device_name(const uint32_t *cp, size_t n) {
  static const char *const devices[] = { "CON", "PRN", "AUX", "NUL" };
  size_t stem = 0;
  while (stem < n && cp[stem] != '.') stem++;
  while (stem > 0 && cp[stem - 1] == ' ') stem--;
  char up[5] = "";
  if (stem < 3 || stem > 4) return 0;
  for (size_t i = 0; i < stem; i++) {
    if (cp[i] >= 0x80) return 0;
    char ch = (char) cp[i];
    up[i] = (ch >= 'a' && ch <= 'z') ? (char) (ch - 32) : ch;
  }
  up[stem] = '\0';
  for (size_t i = 0; i < 4; i++) {
    if (strcmp(up, devices[i]) == 0) return 1;
  }
  return stem == 4 && (strncmp(up, "COM", 3) == 0 || strncmp(up, "LPT", 3) == 0) &&
         up[3] >= '1' && up[3] <= '9';
}

#define MAX_CP 1024   /* code points looked at; Broker names are <= 255 chars */
#define EXT_KEEP 16   /* bytes of extension kept when a long name is cut */

void ab_name_sanitize(const char *untrusted, char *out, size_t outsz) {
  uint32_t cp[MAX_CP + 1];
  size_t n = 0;
  const unsigned char *p = (const unsigned char *) (untrusted ? untrusted : "");
  while (*p != '\0' && n < MAX_CP) {
    size_t len = utf8_len(p);
    if (len == 0) {
      cp[n++] = '_';
      p++;
      continue;
    }
    uint32_t c = utf8_decode(p, len);
    p += len;
    switch (classify(c)) {
    case CP_DROP: break;
    case CP_UNDERSCORE: cp[n++] = '_'; break;
    case CP_SPACE: cp[n++] = ' '; break;
    case CP_KEEP: cp[n++] = c; break;
    }
  }
  size_t start = 0;
  while (start < n && cp[start] == ' ') start++;
  while (n > start && (cp[n - 1] == ' ' || cp[n - 1] == '.')) n--;
  uint32_t *c = cp + start;
  n -= start;
  if (n > 0 && (is_dot_like(c[0]) || c[0] == '-')) {
    c[0] = '_';
  }
  int device = n > 0 && is_device_name(c, n);

  /* Encode, keeping the extension when the name has to be cut. */
  size_t limit = outsz - 1 < AB_NAME_BASE_MAX ? outsz - 1 : AB_NAME_BASE_MAX;
  char ext[EXT_KEEP + 1] = "";
  size_t ext_len = 0, stem_n = n;
  for (size_t i = n; i > 1; i--) {
    if (c[i - 1] == '.') {
      size_t bytes = 0;
      char tmp[4];
      for (size_t j = i - 1; j < n; j++) bytes += utf8_encode(c[j], tmp);
      if (bytes <= EXT_KEEP && bytes < limit / 2) {
        for (size_t j = i - 1; j < n; j++) ext_len += utf8_encode(c[j], ext + ext_len);
        stem_n = i - 1;
      }
      break;
    }
  }
  size_t o = 0;
  if (device) {
    out[o++] = '_';
  }
  int cut = 0;
  for (size_t i = 0; i < stem_n; i++) {
    char buf[4];
    size_t len = utf8_encode(c[i], buf);
    if (o + len + ext_len > limit) {        /* never cut a character in half */
      cut = 1;
      break;
    }
    memcpy(out + o, buf, len);
    o += len;
  }
  /* A cut can end the stem in a space or dot again ("report." when only
   * seven bytes fit); those go, as they did at the end of the whole name. */
  while (cut && o > (size_t) device + 1 && (out[o - 1] == ' ' || out[o - 1] == '.')) {
    o--;
  }
  if (o + ext_len <= limit) {
    memcpy(out + o, ext, ext_len);
    o += ext_len;
  }
  out[o] = '\0';
  if (o == 0) {
    snprintf(out, outsz, "unnamed");
  }
}

/* ---- the "same name" key ---- */

/* Latin-1 letters U+00C0..U+00FF folded to a base letter (0 = keep, but
 * lower-cased). */
static const char latin1_base[64] = {
  'a','a','a','a','a','a', 0 ,'c','e','e','e','e','i','i','i','i',  /* C0-CF */
   0 ,'n','o','o','o','o','o', 0 , 0 ,'u','u','u','u','y', 0 , 0 ,   /* D0-DF */
  'a','a','a','a','a','a', 0 ,'c','e','e','e','e','i','i','i','i',  /* E0-EF */
   0 ,'n','o','o','o','o','o', 0 , 0 ,'u','u','u','u','y', 0 ,'y'    /* F0-FF */
};

/* Cyrillic and Greek letters commonly used as look-alikes of Latin ones. */
static const struct { uint32_t cp; char latin; } confusables[] = {
  {0x0391,'a'},{0x0392,'b'},{0x0395,'e'},{0x0396,'z'},{0x0397,'h'},{0x0399,'i'},
  {0x039A,'k'},{0x039C,'m'},{0x039D,'n'},{0x039F,'o'},{0x03A1,'p'},{0x03A4,'t'},
  {0x03A5,'y'},{0x03A7,'x'},{0x03B1,'a'},{0x03B9,'i'},{0x03BA,'k'},{0x03BD,'v'},
  {0x03BF,'o'},{0x03C1,'p'},{0x03C5,'u'},{0x03C7,'x'},
  {0x0405,'s'},{0x0406,'i'},{0x0408,'j'},{0x0410,'a'},{0x0412,'b'},{0x0415,'e'},
  {0x041A,'k'},{0x041C,'m'},{0x041D,'h'},{0x041E,'o'},{0x0420,'p'},{0x0421,'c'},
  {0x0422,'t'},{0x0423,'y'},{0x0425,'x'},{0x0430,'a'},{0x0435,'e'},{0x043E,'o'},
  {0x0440,'p'},{0x0441,'c'},{0x0443,'y'},{0x0445,'x'},{0x0455,'s'},{0x0456,'i'},
  {0x0458,'j'},{0x04BB,'h'},{0x04C0,'l'},{0x04CF,'l'},{0x0501,'d'},{0x051B,'q'},
  {0x051D,'w'},
};

static uint32_t fold_cp(uint32_t c) {
  if (c >= 0xFF01 && c <= 0xFF5E) {
    c -= 0xFEE0;                                   /* fullwidth ASCII */
  }
  if (c >= 'A' && c <= 'Z') {
    return c + 32;
  }
  if (c >= 0xC0 && c <= 0xFF) {
    if (latin1_base[c - 0xC0] != 0) {
      return (uint32_t) latin1_base[c - 0xC0];
    }
    if (c <= 0xDE && c != 0xD7) {
      return c + 32;                               /* Æ->æ, Ø->ø, Þ->þ, Ð->ð */
    }
    return c;
  }
  for (size_t i = 0; i < sizeof(confusables) / sizeof(confusables[0]); i++) {
    if (confusables[i].cp == c) {
      return (uint32_t) confusables[i].latin;
    }
  }
  return c;
}

void ab_name_fold(const char *name, char *out, size_t outsz) {
  const unsigned char *p = (const unsigned char *) (name ? name : "");
  size_t o = 0;
  while (*p != '\0') {
    size_t len = utf8_len(p);
    uint32_t c = len ? utf8_decode(p, len) : '_';
    p += len ? len : 1;
    if ((c >= 0x0300 && c <= 0x036F) || is_invisible(c)) {
      continue;                                    /* combining marks */
    }
    char buf[4];
    size_t blen = utf8_encode(fold_cp(c), buf);
    if (o + blen >= outsz) break;
    memcpy(out + o, buf, blen);
    o += blen;
  }
  out[o] = '\0';
}

void ab_name_with_id(const char *name, const char *id, size_t idlen, char *out,
                     size_t outsz) {
  size_t have = strlen(id);
  int n = (int) (idlen < have ? idlen : have);
  const char *dot = strrchr(name, '.');
  if (dot == NULL || dot == name) {
    snprintf(out, outsz, "%s~%.*s", name, n, id);
  } else {
    snprintf(out, outsz, "%.*s~%.*s%s", (int) (dot - name), name, n, id, dot);
  }
}
