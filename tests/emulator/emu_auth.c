/* emu_auth.c - see emu_auth.h. */
#include "emu_auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "emu_jwt.h"
#include "emu_tokens.h"
#include "emu_util.h"

static EVP_PKEY *signing_key;

int emu_auth_init(const emu_config *cfg)
{
  if (cfg->signing_key_path) {
    FILE *f = fopen(cfg->signing_key_path, "r");
    if (f) {
      signing_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
      fclose(f);
    }
    if (!signing_key) {
      fprintf(stderr, "altinn-emulator: cannot read signing key %s\n", cfg->signing_key_path);
      return -1;
    }
    return 0;
  }
  /* A fresh key per run: tokens from an earlier run are then invalid, as
   * they would be after a real key rotation. */
  signing_key = EVP_RSA_gen(2048);
  return signing_key ? 0 : -1;
}

void emu_auth_shutdown(void)
{
  EVP_PKEY_free(signing_key);
  signing_key = NULL;
}

char *emu_auth_sign(const cJSON *payload)
{
  return emu_jwt_sign(payload, signing_key, EMU_SIGNING_KID);
}

static char *bn_b64url(const char *param)
{
  BIGNUM *bn = NULL;
  if (!EVP_PKEY_get_bn_param(signing_key, param, &bn))
    return NULL;
  int n = BN_num_bytes(bn);
  unsigned char *buf = malloc((size_t)n + 1);
  BN_bn2bin(bn, buf);
  char *s = emu_b64url_encode(buf, (size_t)n);
  free(buf);
  BN_free(bn);
  return s;
}

cJSON *emu_auth_jwks(void)
{
  cJSON *jwks = cJSON_CreateObject();
  cJSON *keys = cJSON_AddArrayToObject(jwks, "keys");
  cJSON *k = cJSON_CreateObject();
  char *n = bn_b64url(OSSL_PKEY_PARAM_RSA_N), *e = bn_b64url(OSSL_PKEY_PARAM_RSA_E);
  cJSON_AddStringToObject(k, "kty", "RSA");
  cJSON_AddStringToObject(k, "use", "sig");
  cJSON_AddStringToObject(k, "alg", "RS256");
  cJSON_AddStringToObject(k, "kid", EMU_SIGNING_KID);
  cJSON_AddStringToObject(k, "n", n ? n : "");
  cJSON_AddStringToObject(k, "e", e ? e : "");
  free(n);
  free(e);
  cJSON_AddItemToArray(keys, k);
  return jwks;
}

const char *emu_strip_prefix(const char *id)
{
  if (!id)
    return NULL;
  const char *c = strrchr(id, ':');
  return c ? c + 1 : id;
}

static void copy(char *dst, size_t cap, const char *src)
{
  snprintf(dst, cap, "%s", src ? src : "");
}

/* Caller organisation, first match wins: system user org, Altinn org number,
 * Maskinporten consumer (broker-api.md §1.4). */
static void caller_org(const cJSON *claims, emu_caller *out)
{
  const cJSON *vendor = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(claims, "consumer"), "ID");
  if (cJSON_IsString(vendor))
    copy(out->vendor, sizeof out->vendor, emu_strip_prefix(vendor->valuestring));
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(claims, "urn:altinn:org");
  if (cJSON_IsString(code))
    copy(out->org_code, sizeof out->org_code, code->valuestring);
  const cJSON *ad = cJSON_GetObjectItemCaseSensitive(claims, "authorization_details");
  if (cJSON_IsArray(ad))
    ad = cJSON_GetArrayItem(ad, 0); /* MP form is an array; exchanged form an object */
  if (cJSON_IsObject(ad)) {
    const cJSON *so = cJSON_GetObjectItemCaseSensitive(ad, "systemuser_org");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(so, "ID");
    if (cJSON_IsString(id)) {
      copy(out->org, sizeof out->org, emu_strip_prefix(id->valuestring));
      out->system_user = true;
      const cJSON *suid =
          cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ad, "systemuser_id"), 0);
      if (cJSON_IsString(suid))
        copy(out->system_user_id, sizeof out->system_user_id, suid->valuestring);
      return;
    }
  }
  const cJSON *on = cJSON_GetObjectItemCaseSensitive(claims, "urn:altinn:orgNumber");
  if (cJSON_IsString(on)) {
    copy(out->org, sizeof out->org, emu_strip_prefix(on->valuestring));
    return;
  }
  const cJSON *cons = cJSON_GetObjectItemCaseSensitive(claims, "consumer");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(cons, "ID");
  if (cJSON_IsString(id))
    copy(out->org, sizeof out->org, emu_strip_prefix(id->valuestring));
}

bool emu_auth_bearer(const emu_config *cfg, const char *authorization, bool accept_mp,
                     bool accept_altinn, int skew_s, emu_caller *out, cJSON **claims_out)
{
  memset(out, 0, sizeof *out);
  if (claims_out)
    *claims_out = NULL;
  if (!authorization || !emu_starts_with_ci(authorization, "Bearer "))
    return false;
  const char *tok = authorization + 7;
  while (*tok == ' ')
    tok++;
  emu_jwt jwt;
  if (emu_jwt_parse(tok, &jwt) != 0)
    return false;
  bool ok = false;
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwt.header, "alg");
  if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0 ||
      !emu_jwt_verify(&jwt, signing_key, EVP_sha256()))
    goto done;
  const cJSON *iss = cJSON_GetObjectItemCaseSensitive(jwt.payload, "iss");
  if (!cJSON_IsString(iss))
    goto done;
  bool is_mp = strcmp(iss->valuestring, cfg->mp_issuer) == 0;
  bool is_altinn = strcmp(iss->valuestring, cfg->altinn_issuer) == 0;
  if (!((is_mp && accept_mp) || (is_altinn && accept_altinn)))
    goto done;
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(jwt.payload, "exp");
  const cJSON *iat = cJSON_GetObjectItemCaseSensitive(jwt.payload, "iat");
  double now = emu_token_now();
  if (!cJSON_IsNumber(exp) || exp->valuedouble + skew_s <= now)
    goto done;
  if (!cJSON_IsNumber(iat) || emu_token_revoked(iat->valuedouble))
    goto done;
  out->altinn = is_altinn;
  caller_org(jwt.payload, out);
  const cJSON *cid = cJSON_GetObjectItemCaseSensitive(jwt.payload, "client_id");
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(jwt.payload, "scope");
  copy(out->client_id, sizeof out->client_id, cJSON_IsString(cid) ? cid->valuestring : NULL);
  copy(out->scope, sizeof out->scope, cJSON_IsString(scope) ? scope->valuestring : NULL);
  out->valid = true;
  ok = true;
  if (claims_out) {
    *claims_out = jwt.payload;
    jwt.payload = NULL;
  }
done:
  emu_jwt_free(&jwt);
  return ok;
}

bool emu_caller_has_scope(const emu_caller *c, const char *scope)
{
  size_t n = strlen(scope);
  const char *p = c->scope;
  while ((p = strstr(p, scope)) != NULL) {
    bool start = p == c->scope || p[-1] == ' ';
    bool end = p[n] == '\0' || p[n] == ' ';
    if (start && end)
      return true;
    p += n;
  }
  return false;
}
