/* emu_clock.c - see emu_clock.h. */
#include "emu_clock.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "emu_util.h"

static pthread_mutex_t clock_mu = PTHREAD_MUTEX_INITIALIZER;
/* Emulated time = anchor_emu + (real - anchor_real) * speed. Re-anchoring on
 * every speed change keeps emulated time continuous. */
static int64_t anchor_real, anchor_emu;
static double clock_speed = 1.0;

void emu_clock_init(double speed)
{
  pthread_mutex_lock(&clock_mu);
  anchor_real = anchor_emu = emu_real_now_us();
  clock_speed = speed > 0 ? speed : 1.0;
  pthread_mutex_unlock(&clock_mu);
}

static int64_t now_locked(void)
{
  int64_t real = emu_real_now_us();
  return anchor_emu + (int64_t)((double)(real - anchor_real) * clock_speed);
}

int64_t emu_clock_now_us(void)
{
  pthread_mutex_lock(&clock_mu);
  int64_t t = now_locked();
  pthread_mutex_unlock(&clock_mu);
  return t;
}

void emu_clock_set_speed(double speed)
{
  if (speed <= 0)
    return;
  pthread_mutex_lock(&clock_mu);
  anchor_emu = now_locked();
  anchor_real = emu_real_now_us();
  clock_speed = speed;
  pthread_mutex_unlock(&clock_mu);
}

double emu_clock_speed(void)
{
  pthread_mutex_lock(&clock_mu);
  double s = clock_speed;
  pthread_mutex_unlock(&clock_mu);
  return s;
}

void emu_clock_advance(int64_t us)
{
  if (us <= 0)
    return;
  pthread_mutex_lock(&clock_mu);
  anchor_emu += us;
  pthread_mutex_unlock(&clock_mu);
}

void emu_clock_iso(int64_t us, char out[EMU_ISO_LEN])
{
  time_t secs = (time_t)(us / 1000000);
  long frac = (long)(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    secs--;
  }
  struct tm tm;
  gmtime_r(&secs, &tm);
  /* strftime bounds the date part itself; the fraction is always 6 digits */
  size_t n = strftime(out, EMU_ISO_LEN - 16, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, EMU_ISO_LEN - n, ".%06ld+00:00", frac);
}

static bool digits(const char **p, int n, int *out)
{
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (!isdigit((unsigned char)(*p)[i]))
      return false;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return true;
}

bool emu_clock_parse_iso(const char *s, int64_t *us)
{
  const char *p = s;
  int Y, M, D, h = 0, m = 0, sec = 0;
  if (!digits(&p, 4, &Y) || *p++ != '-' || !digits(&p, 2, &M) || *p++ != '-' || !digits(&p, 2, &D))
    return false;
  long frac_us = 0;
  if (*p == 'T' || *p == 't' || *p == ' ') {
    p++;
    if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &m))
      return false;
    if (*p == ':') {
      p++;
      if (!digits(&p, 2, &sec))
        return false;
      if (*p == '.' || *p == ',') {
        p++;
        long scale = 100000;
        if (!isdigit((unsigned char)*p))
          return false;
        while (isdigit((unsigned char)*p)) {
          frac_us += (*p - '0') * scale;
          scale /= 10;
          p++;
        }
      }
    }
  }
  int offset_min = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-' || *p == ' ') {
    int sign = *p == '-' ? -1 : 1;
    p++;
    int oh, om = 0;
    if (!digits(&p, 2, &oh))
      return false;
    if (*p == ':')
      p++;
    if (*p && !digits(&p, 2, &om))
      return false;
    offset_min = sign * (oh * 60 + om);
  }
  if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
    return false;
  struct tm tm = {0};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = sec;
  time_t t = timegm(&tm);
  *us = ((int64_t)t - (int64_t)offset_min * 60) * 1000000 + frac_us;
  return true;
}

bool emu_duration_parse(const char *s, int64_t *us)
{
  if (!s || (*s != 'P' && *s != 'p'))
    return false;
  const char *p = s + 1;
  bool in_time = false, any = false;
  double total_s = 0;
  while (*p) {
    if (*p == 'T' || *p == 't') {
      if (in_time)
        return false;
      in_time = true;
      p++;
      continue;
    }
    char *end;
    double v = strtod(p, &end);
    if (end == p || v < 0)
      return false;
    char unit = (char)toupper((unsigned char)*end);
    if (!in_time && unit == 'D')
      total_s += v * 86400;
    else if (!in_time && unit == 'W')
      total_s += v * 7 * 86400;
    else if (in_time && unit == 'H')
      total_s += v * 3600;
    else if (in_time && unit == 'M')
      total_s += v * 60;
    else if (in_time && unit == 'S')
      total_s += v;
    else
      return false; /* Y, month-M, or junk */
    any = true;
    p = end + 1;
  }
  if (!any)
    return false;
  *us = (int64_t)(total_s * 1e6);
  return true;
}

bool emu_duration_parse_xs(const char *s, int64_t *us)
{
  /* units in order, with their size in seconds; 'T' separates date and time */
  static const struct {
    char unit;
    bool time;
    int64_t seconds;
  } units[] = {{'Y', false, 365 * 86400}, {'M', false, 30 * 86400}, {'D', false, 86400},
               {'H', true, 3600},         {'M', true, 60},          {'S', true, 1}};
  if (!s)
    return false;
  const char *p = s;
  bool neg = *p == '-';
  if (neg)
    p++;
  if (*p++ != 'P')
    return false;
  size_t u = 0;
  bool in_time = false, any = false, time_any = false;
  int64_t total_us = 0;
  while (*p) {
    if (*p == 'T') {
      if (in_time)
        return false;
      in_time = true;
      p++;
      continue;
    }
    const char *d = p;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9' && v < 1000000000000000LL)
      v = v * 10 + (*p++ - '0');
    if (p == d)
      return false;
    int64_t frac_us = 0;
    if (*p == '.') {
      p++;
      int64_t scale = 100000;
      const char *f = p;
      while (*p >= '0' && *p <= '9') {
        frac_us += (*p++ - '0') * scale;
        scale /= 10;
      }
      if (p == f || *p != 'S' || !in_time)
        return false; /* only seconds take a fraction */
    }
    while (u < sizeof units / sizeof units[0] &&
           (units[u].unit != *p || units[u].time != in_time))
      u++;
    if (u == sizeof units / sizeof units[0])
      return false; /* unknown or out of order */
    /* TimeSpan.MaxValue is about 9.2e11 s; larger values overflow in .NET too */
    const int64_t max_s = 922337203685LL;
    if (v > max_s / units[u].seconds || total_us / 1000000 + v * units[u].seconds > max_s)
      return false;
    total_us += v * units[u].seconds * 1000000 + frac_us;
    u++;
    p++;
    any = true;
    time_any = time_any || in_time;
  }
  if (!any || (in_time && !time_any))
    return false;
  *us = neg ? -total_us : total_us;
  return true;
}

void emu_duration_timespan(int64_t us, char *out, int outlen)
{
  /* TimeSpan.ToString(): [-][d.]hh:mm:ss[.fffffff] */
  const char *sign = us < 0 ? "-" : "";
  uint64_t a = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;
  uint64_t s = a / 1000000, frac = a % 1000000;
  uint64_t d = s / 86400;
  s %= 86400;
  char days[32] = "", fraction[16] = "";
  if (d > 0)
    snprintf(days, sizeof days, "%llu.", (unsigned long long)d);
  if (frac > 0)
    snprintf(fraction, sizeof fraction, ".%07llu", (unsigned long long)frac * 10);
  snprintf(out, (size_t)outlen, "%s%s%02llu:%02llu:%02llu%s", sign, days,
           (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60),
           (unsigned long long)(s % 60), fraction);
}
