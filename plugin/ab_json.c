/* ab_json.c - lenient readers for untrusted JSON (see ab_json.h). */
#include "ab_json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void ab_json_copy_text(char *dst, size_t dst_len, const char *src) {
  if (dst_len == 0) {
    return;
  }
  size_t n = strlen(src);
  if (n >= dst_len) {
    n = dst_len - 1;
    /* Back off over UTF-8 continuation bytes so the copy stays valid text. */
    while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80) {
      n--;
    }
  }
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int ab_json_copy_string(const cJSON *obj, const char *name, char *dst,
                        size_t dst_len) {
  if (dst_len > 0) {
    dst[0] = '\0';
  }
  const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItem(obj, name) : NULL;
  if (!cJSON_IsString(item) || item->valuestring == NULL) {
    return 0;
  }
  ab_json_copy_text(dst, dst_len, item->valuestring);
  return 1;
}

int ab_json_get_int64(const cJSON *obj, const char *name, long long *out) {
  const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItem(obj, name) : NULL;
  if (!cJSON_IsNumber(item)) {
    return 0;
  }
  double v = item->valuedouble;
  /* 2^63 is exactly representable; anything at or beyond it is out of range. */
  if (!isfinite(v) || v >= 9223372036854775808.0 || v < -9223372036854775808.0) {
    return 0;
  }
  *out = (long long)v;
  return 1;
}

/* Reads exactly n digits at *p into *out and advances. */
static int read_digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i])) {
      return -1;
    }
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int ab_json_parse_time(const char *iso, time_t *out) {
  long long us = 0;
  if (ab_json_parse_time_us(iso, &us) != 0) {
    return -1;
  }
  /* Whole seconds, rounding toward the past like the text does. */
  *out = (time_t) (us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
  return 0;
}

int ab_json_parse_time_us(const char *iso, long long *us) {
  const char *p = iso;
  long frac = 0;
  int y, mo, d, h, mi, s;
  if (read_digits(&p, 4, &y) || *p++ != '-' || read_digits(&p, 2, &mo) ||
      *p++ != '-' || read_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' ')) {
    return -1;
  }
  p++;
  if (read_digits(&p, 2, &h) || *p++ != ':' || read_digits(&p, 2, &mi) ||
      *p++ != ':' || read_digits(&p, 2, &s)) {
    return -1;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return -1;
  }
  if (*p == '.' || *p == ',') {
    p++;
    if (!isdigit((unsigned char)*p)) {
      return -1;
    }
    int digits = 0;
    for (; isdigit((unsigned char)*p); digits++, p++) {
      if (digits < 6) {
        frac = frac * 10 + (*p - '0');
      }
    }
    for (; digits < 6; digits++) {
      frac *= 10;
    }
  }
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = (*p == '-') ? -1 : 1;
    int oh, om;
    p++;
    if (read_digits(&p, 2, &oh)) {
      return -1;
    }
    if (*p == ':') {
      p++;
    }
    if (read_digits(&p, 2, &om) || oh > 23 || om > 59) {
      return -1;
    }
    offset = sign * (oh * 3600L + om * 60L);
  }
  if (*p != '\0') {
    return -1;
  }
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  time_t t = timegm(&tm);
  if (t == (time_t)-1) {
    return -1;
  }
  *us = ((long long)t - offset) * 1000000LL + frac;
  return 0;
}

void ab_json_format_time_us(long long us, char *out, size_t outsz) {
  long long secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
  long frac = (long)(us - secs * 1000000LL);
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  char date[24];
  strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, outsz, "%s.%06ldZ", date, frac);
}

int ab_json_get_time(const cJSON *obj, const char *name, time_t *out) {
  *out = 0;
  const cJSON *item = cJSON_IsObject(obj) ? cJSON_GetObjectItem(obj, name) : NULL;
  if (!cJSON_IsString(item) || item->valuestring == NULL) {
    return 0;
  }
  return ab_json_parse_time(item->valuestring, out) == 0;
}
