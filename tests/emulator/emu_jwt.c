/* emu_jwt.c - see emu_jwt.h. */
#include "emu_jwt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

char *emu_b64url_encode(const unsigned char *in, size_t len)
{
  unsigned char *buf = malloc(4 * ((len + 2) / 3) + 1);
  if (!buf)
    return NULL;
  int n = EVP_EncodeBlock(buf, in, (int)len);
  for (int i = 0; i < n; i++) {
    if (buf[i] == '+')
      buf[i] = '-';
    else if (buf[i] == '/')
      buf[i] = '_';
  }
  while (n > 0 && buf[n - 1] == '=')
    n--;
  buf[n] = '\0';
  return (char *)buf;
}

unsigned char *emu_b64_decode(const char *in, size_t len, bool url, size_t *outlen)
{
  size_t padded = (len + 3) / 4 * 4;
  char *tmp = malloc(padded + 1);
  unsigned char *out = malloc(padded / 4 * 3 + 1);
  if (!tmp || !out)
    goto fail;
  size_t pad = 0;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (url) {
      if (c == '-')
        c = '+';
      else if (c == '_')
        c = '/';
      else if (c == '+' || c == '/')
        goto fail; /* not base64url */
    }
    if (c == '=') {
      /* padding only at the end */
      for (size_t j = i; j < len; j++)
        if (in[j] != '=')
          goto fail;
    }
    tmp[i] = c;
  }
  for (size_t i = len; i < padded; i++)
    tmp[i] = '=';
  tmp[padded] = '\0';
  if (len % 4 == 1)
    goto fail;
  for (size_t i = padded; i > 0 && tmp[i - 1] == '='; i--)
    pad++;
  int n = padded ? EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded) : 0;
  if (n < 0 || (size_t)n < pad)
    goto fail;
  /* EVP_DecodeBlock counts padding as output bytes */
  n -= (int)pad;
  out[n] = '\0';
  free(tmp);
  *outlen = (size_t)n;
  return out;
fail:
  free(tmp);
  free(out);
  return NULL;
}

static cJSON *decode_json_part(const char *p, size_t len)
{
  size_t n;
  unsigned char *raw = emu_b64_decode(p, len, true, &n);
  if (!raw)
    return NULL;
  cJSON *j = cJSON_ParseWithLength((const char *)raw, n);
  free(raw);
  if (j && !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    j = NULL;
  }
  return j;
}

int emu_jwt_parse(const char *token, emu_jwt *out)
{
  memset(out, 0, sizeof *out);
  if (!token)
    return -1;
  const char *d1 = strchr(token, '.');
  const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
  if (!d1 || !d2 || strchr(d2 + 1, '.'))
    return -1;
  out->header = decode_json_part(token, (size_t)(d1 - token));
  out->payload = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1));
  out->signing_input = strndup(token, (size_t)(d2 - token));
  out->sig = emu_b64_decode(d2 + 1, strlen(d2 + 1), true, &out->siglen);
  if (!out->header || !out->payload || !out->signing_input || !out->sig || out->siglen == 0) {
    emu_jwt_free(out);
    return -1;
  }
  return 0;
}

void emu_jwt_free(emu_jwt *jwt)
{
  cJSON_Delete(jwt->header);
  cJSON_Delete(jwt->payload);
  free(jwt->signing_input);
  free(jwt->sig);
  memset(jwt, 0, sizeof *jwt);
}

const EVP_MD *emu_jwt_alg_md(const char *alg)
{
  if (!alg)
    return NULL;
  if (strcmp(alg, "RS256") == 0)
    return EVP_sha256();
  if (strcmp(alg, "RS384") == 0)
    return EVP_sha384();
  if (strcmp(alg, "RS512") == 0)
    return EVP_sha512();
  return NULL;
}

bool emu_jwt_verify(const emu_jwt *jwt, EVP_PKEY *key, const EVP_MD *md)
{
  if (!key || !md || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
    return false;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1 &&
            EVP_DigestVerify(ctx, jwt->sig, jwt->siglen, (const unsigned char *)jwt->signing_input,
                             strlen(jwt->signing_input)) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

char *emu_jwt_sign(const cJSON *payload, EVP_PKEY *key, const char *kid)
{
  cJSON *hdr = cJSON_CreateObject();
  cJSON_AddStringToObject(hdr, "alg", "RS256");
  cJSON_AddStringToObject(hdr, "typ", "JWT");
  if (kid)
    cJSON_AddStringToObject(hdr, "kid", kid);
  char *h = cJSON_PrintUnformatted(hdr);
  char *p = cJSON_PrintUnformatted(payload);
  cJSON_Delete(hdr);
  char *h64 = h ? emu_b64url_encode((unsigned char *)h, strlen(h)) : NULL;
  char *p64 = p ? emu_b64url_encode((unsigned char *)p, strlen(p)) : NULL;
  free(h);
  free(p);
  char *out = NULL, *si = NULL;
  unsigned char *sig = NULL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!h64 || !p64 || !ctx)
    goto done;
  size_t silen = strlen(h64) + strlen(p64) + 1;
  si = malloc(silen + 1);
  if (!si)
    goto done;
  snprintf(si, silen + 1, "%s.%s", h64, p64);
  size_t siglen = 0;
  if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
      EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *)si, silen) != 1)
    goto done;
  sig = malloc(siglen);
  if (!sig || EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)si, silen) != 1)
    goto done;
  char *s64 = emu_b64url_encode(sig, siglen);
  if (!s64)
    goto done;
  size_t n = silen + strlen(s64) + 2;
  out = malloc(n);
  if (out)
    snprintf(out, n, "%s.%s", si, s64);
  free(s64);
done:
  EVP_MD_CTX_free(ctx);
  free(sig);
  free(si);
  free(h64);
  free(p64);
  return out;
}
