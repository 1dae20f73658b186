/* ab_base64.c - base64url encode/decode (see ab_base64.h).
 *
 * Written by hand rather than with EVP_EncodeBlock/EVP_DecodeBlock: those use
 * the standard alphabet and count padding as output, which would need two
 * translation passes and length fix-ups anyway.
 */
#include "ab_base64.h"

#include <stdint.h>
#include <stdlib.h>

static const char b64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *ab_base64url_encode(const void *in, size_t len) {
  const unsigned char *p = in;
  if (len > (SIZE_MAX - 4) / 4 * 3) {
    return NULL;
  }
  char *out = malloc((len + 2) / 3 * 4 + 1);
  if (out == NULL) {
    return NULL;
  }
  size_t o = 0;
  size_t i = 0;
  for (; i + 3 <= len; i += 3) {
    uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
    out[o++] = b64url_alphabet[(v >> 18) & 63];
    out[o++] = b64url_alphabet[(v >> 12) & 63];
    out[o++] = b64url_alphabet[(v >> 6) & 63];
    out[o++] = b64url_alphabet[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    out[o++] = b64url_alphabet[(v >> 18) & 63];
    out[o++] = b64url_alphabet[(v >> 12) & 63];
  } else if (len - i == 2) {
    uint32_t v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8);
    out[o++] = b64url_alphabet[(v >> 18) & 63];
    out[o++] = b64url_alphabet[(v >> 12) & 63];
    out[o++] = b64url_alphabet[(v >> 6) & 63];
  }
  out[o] = '\0';
  return out;
}

/* Value of one alphabet character, or -1. */
static int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

unsigned char *ab_base64url_decode(const char *in, size_t len, size_t *out_len) {
  /* Padding is only allowed at the end, at most two characters. */
  size_t pad = 0;
  while (len > 0 && in[len - 1] == '=' && pad < 2) {
    len--;
    pad++;
  }
  if (len % 4 == 1) {
    return NULL; /* a single trailing character cannot encode a byte */
  }
  if (pad > 0 && (len + pad) % 4 != 0) {
    return NULL;
  }
  unsigned char *out = malloc(len / 4 * 3 + 3);
  if (out == NULL) {
    return NULL;
  }
  size_t o = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; i++) {
    int v = b64_value(in[i]);
    if (v < 0) {
      free(out);
      return NULL;
    }
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  out[o] = '\0';
  if (out_len != NULL) {
    *out_len = o;
  }
  return out;
}
