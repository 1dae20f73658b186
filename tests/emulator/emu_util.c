/* emu_util.c - see emu_util.h. */
#include "emu_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

void emu_hex(const unsigned char *in, size_t n, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 0xf];
  }
  out[2 * n] = '\0';
}

void emu_uuid4(char out[37])
{
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    /* RAND_bytes only fails when the OS entropy source is broken; ids would
     * then collide, so refusing to continue is the honest answer. */
    fprintf(stderr, "altinn-emulator: RAND_bytes failed\n");
    abort();
  }
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  char hex[33];
  emu_hex(b, 16, hex);
  snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

void emu_random_hex(char *out, size_t nbytes)
{
  unsigned char b[64];
  if (nbytes > sizeof b)
    nbytes = sizeof b;
  if (RAND_bytes(b, (int)nbytes) != 1)
    abort();
  emu_hex(b, nbytes, out);
}

bool emu_is_guid(const char *s)
{
  if (!s || strlen(s) != 36)
    return false;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return false;
    } else if (!isxdigit((unsigned char)s[i])) {
      return false;
    }
  }
  return true;
}

char *emu_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap + 1);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap)
      break;
    cap *= 2;
    char *nb = realloc(buf, cap + 1);
    if (!nb) {
      free(buf);
      buf = NULL;
    } else {
      buf = nb;
    }
  }
  int err = ferror(f) ? EIO : 0;
  fclose(f);
  if (!buf || err) {
    free(buf);
    errno = err ? err : ENOMEM;
    return NULL;
  }
  buf[n] = '\0';
  if (len)
    *len = n;
  return buf;
}

char *emu_path_join(const char *dir, const char *rel)
{
  if (!rel)
    return NULL;
  if (rel[0] == '/' || !dir || !*dir)
    return strdup(rel);
  size_t n = strlen(dir) + strlen(rel) + 2;
  char *p = malloc(n);
  if (p)
    snprintf(p, n, "%s/%s", dir, rel);
  return p;
}

int64_t emu_real_now_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t emu_mono_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void emu_sleep_ms(long ms)
{
  if (ms <= 0)
    return;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

bool emu_starts_with_ci(const char *s, const char *prefix)
{
  return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}
