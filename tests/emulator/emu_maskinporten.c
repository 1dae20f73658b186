/* emu_maskinporten.c - Maskinporten's token endpoint (auth-and-events.md §1).
 *
 * POST /token takes an RFC 7523 JWT grant and answers like Maskinporten:
 * 200 with a signed access token, or 400 {"error","error_description"}
 * whose description ends in the MP-xxx code a client would see in real
 * life. Checks, in order: form, JWT shape, header (alg, exactly one of
 * kid/x5c), only documented claims, client (iss), key, signature, aud,
 * lifetime and clock, jti replay, scopes, consumer_org, system user.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "emu_auth.h"
#include "emu_endpoints.h"
#include "emu_jwt.h"
#include "emu_stats.h"
#include "emu_tokens.h"
#include "emu_util.h"
#include "emu_x5c.h"

#define GRANT_TYPE "urn:ietf:params:oauth:grant-type:jwt-bearer"
#define MAX_GRANT_LIFETIME 120 /* exp - iat */
#define IAT_SKEW 10            /* Maskinporten's tolerance on iat */

/* ---- jti replay cache ---- */

typedef struct seen_jti {
  char *jti;
  double expires;
} seen_jti;

static pthread_mutex_t jti_mu = PTHREAD_MUTEX_INITIALIZER;
static seen_jti *seen;
static size_t nseen, capseen;

/* Records jti; false if it was used before. Entries are dropped once their
 * grant has expired, since an expired grant is refused anyway. */
static bool jti_fresh(const char *jti, double exp, double now)
{
  bool fresh = true;
  pthread_mutex_lock(&jti_mu);
  size_t w = 0;
  for (size_t i = 0; i < nseen; i++) {
    if (seen[i].expires + IAT_SKEW < now) {
      free(seen[i].jti);
      continue;
    }
    if (strcmp(seen[i].jti, jti) == 0)
      fresh = false;
    seen[w++] = seen[i];
  }
  nseen = w;
  if (fresh) {
    if (nseen == capseen) {
      size_t nc = capseen ? capseen * 2 : 64;
      seen_jti *ns = realloc(seen, nc * sizeof *ns);
      if (ns) {
        seen = ns;
        capseen = nc;
      }
    }
    if (nseen < capseen)
      seen[nseen++] = (seen_jti){strdup(jti), exp};
  }
  pthread_mutex_unlock(&jti_mu);
  return fresh;
}

/* ---- helpers ---- */

static void mp_error(emu_request *r, unsigned status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void mp_error(emu_request *r, unsigned status, const char *error, const char *fmt, ...)
{
  char desc[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(desc, sizeof desc, fmt, ap);
  va_end(ap);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "error", error);
  cJSON_AddStringToObject(j, "error_description", desc);
  emu_reply_json(r, status, j);
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c = tolower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Value of name in an application/x-www-form-urlencoded body, decoded;
 * malloc'ed or NULL when absent. */
static char *form_value(const char *body, const char *name)
{
  size_t nlen = strlen(name);
  const char *p = body;
  while (p && *p) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > nlen && p[nlen] == '=' && strncmp(p, name, nlen) == 0) {
      const char *v = p + nlen + 1;
      size_t vlen = len - nlen - 1;
      char *out = malloc(vlen + 1), *o = out;
      for (size_t i = 0; out && i < vlen; i++) {
        if (v[i] == '+') {
          *o++ = ' ';
        } else if (v[i] == '%' && i + 2 < vlen && hexval(v[i + 1]) >= 0 &&
                   hexval(v[i + 2]) >= 0) {
          *o++ = (char)(hexval(v[i + 1]) * 16 + hexval(v[i + 2]));
          i += 2;
        } else {
          *o++ = v[i];
        }
      }
      if (out)
        *o = '\0';
      return out;
    }
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
}

static bool client_has_scope(const emu_client *c, const char *scope)
{
  for (size_t i = 0; i < c->nscopes; i++)
    if (strcmp(c->scopes[i], scope) == 0)
      return true;
  return false;
}

static bool in_list(char **list, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i], s) == 0)
      return true;
  return false;
}

static const char *allowed_claims[] = {
    "aud", "iss", "scope", "iat", "exp", "jti", "resource", "pid",
    "consumer_org", "iss_onbehalfof", "authorization_details", NULL,
};

static bool is_allowed_claim(const char *name)
{
  for (int i = 0; allowed_claims[i]; i++)
    if (strcmp(allowed_claims[i], name) == 0)
      return true;
  return false;
}

static bool is_org_number(const char *s)
{
  if (!s || strlen(s) != 9)
    return false;
  for (int i = 0; i < 9; i++)
    if (!isdigit((unsigned char)s[i]))
      return false;
  return true;
}

/* Checks the system-user RAR; on success sets *org to the customer org
 * (pointer into j). Returns false after replying. */
static bool check_authorization_details(emu_request *r, const emu_client *client, const cJSON *ad,
                                        const char **org)
{
  *org = NULL;
  if (!cJSON_IsArray(ad) || cJSON_GetArraySize(ad) != 1) {
    mp_error(r, 400, "invalid_authorization_details",
             "authorization_details must be an array with one element (MP-302)");
    return false;
  }
  const cJSON *d = cJSON_GetArrayItem(ad, 0);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(d, "type");
  if (!cJSON_IsString(type) || strcmp(type->valuestring, "urn:altinn:systemuser") != 0) {
    mp_error(r, 400, "invalid_authorization_details", "Unknown authorization_details type (MP-301)");
    return false;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, d)
  {
    if (strcmp(it->string, "type") != 0 && strcmp(it->string, "systemuser_org") != 0 &&
        strcmp(it->string, "externalRef") != 0) {
      mp_error(r, 400, "invalid_authorization_details",
               "Unknown field '%s' in authorization_details (MP-302)", it->string);
      return false;
    }
  }
  const cJSON *so = cJSON_GetObjectItemCaseSensitive(d, "systemuser_org");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(so, "ID");
  const cJSON *auth = cJSON_GetObjectItemCaseSensitive(so, "authority");
  if (!cJSON_IsString(id) || strncmp(id->valuestring, "0192:", 5) != 0 ||
      !is_org_number(id->valuestring + 5) || !cJSON_IsString(auth) ||
      strcmp(auth->valuestring, "iso6523-actorid-upis") != 0) {
    mp_error(r, 400, "invalid_altinn_customer_configuration",
             "systemuser_org must be {\"authority\":\"iso6523-actorid-upis\",\"ID\":\"0192:<orgnr>\"} "
             "(MP-303)");
    return false;
  }
  if (!in_list(client->system_user_orgs, client->nsystem_user_orgs, id->valuestring + 5)) {
    mp_error(r, 400, "invalid_altinn_customer_configuration",
             "No system user for customer %s on this client (MP-303)", id->valuestring + 5);
    return false;
  }
  *org = id->valuestring + 5;
  return true;
}

/* Resolves the verification key from kid or x5c. Returns NULL after replying. */
static EVP_PKEY *grant_key(emu_request *r, const emu_client *client, const emu_jwt *jwt,
                           bool *via_cert)
{
  const cJSON *kid = cJSON_GetObjectItemCaseSensitive(jwt->header, "kid");
  const cJSON *x5c = cJSON_GetObjectItemCaseSensitive(jwt->header, "x5c");
  *via_cert = false;
  if ((kid && x5c) || (!kid && !x5c)) {
    mp_error(r, 400, "invalid_request",
             "Invalid assertion. The JWT header must contain exactly one of kid and x5c (MP-011)");
    return NULL;
  }
  if (kid) {
    for (size_t i = 0; cJSON_IsString(kid) && i < client->nkeys; i++)
      if (strcmp(client->keys[i].kid, kid->valuestring) == 0) {
        EVP_PKEY_up_ref(client->keys[i].pub);
        return client->keys[i].pub;
      }
    mp_error(r, 400, "invalid_grant",
             "Invalid assertion. Client authentication failed. Unknown kid for client (MP-124)");
    return NULL;
  }
  char err[300];
  EVP_PKEY *k = emu_x5c_key(r->cfg, client, x5c, err, sizeof err);
  if (!k) {
    mp_error(r, 400, "invalid_grant", "%s", err);
    return NULL;
  }
  *via_cert = true;
  return k;
}

static void token_finish(emu_request *r)
{
  const emu_config *cfg = r->cfg;
  const char *ctype = emu_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!ctype || !emu_starts_with_ci(ctype, "application/x-www-form-urlencoded")) {
    mp_error(r, 400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded");
    return;
  }
  const char *body = r->body ? r->body : "";
  char *grant_type = form_value(body, "grant_type");
  char *assertion = form_value(body, "assertion");
  emu_jwt jwt = {0};
  EVP_PKEY *key = NULL;
  char *access_token = NULL;
  cJSON *claims = NULL;

  if (!grant_type || strcmp(grant_type, GRANT_TYPE) != 0) {
    mp_error(r, 400, "unsupported_grant_type", "grant_type must be " GRANT_TYPE);
    goto out;
  }
  if (!assertion || !*assertion) {
    mp_error(r, 400, "invalid_request", "Missing assertion (MP-011)");
    goto out;
  }
  if (emu_jwt_parse(assertion, &jwt) != 0) {
    mp_error(r, 400, "invalid_request", "Invalid assertion. Invalid parameter value (MP-011)");
    goto out;
  }
  const cJSON *alg = cJSON_GetObjectItemCaseSensitive(jwt.header, "alg");
  const EVP_MD *md = cJSON_IsString(alg) ? emu_jwt_alg_md(alg->valuestring) : NULL;
  if (!md) {
    mp_error(r, 400, "invalid_grant", "Invalid assertion. Unsupported JWT alg, use RS256 (MP-124)");
    goto out;
  }
  const cJSON *c;
  cJSON_ArrayForEach(c, jwt.payload)
  {
    if (!is_allowed_claim(c->string)) {
      mp_error(r, 400, "invalid_grant",
               "Invalid assertion. Client authentication failed. Unknown claim '%s' (MP-011)",
               c->string);
      goto out;
    }
  }
  const cJSON *iss = cJSON_GetObjectItemCaseSensitive(jwt.payload, "iss");
  const emu_client *client = cJSON_IsString(iss) ? emu_config_client(cfg, iss->valuestring) : NULL;
  if (!client) {
    mp_error(r, 400, "invalid_grant",
             "Invalid assertion. Client authentication failed. Client not found (MP-100)");
    goto out;
  }
  bool via_cert;
  key = grant_key(r, client, &jwt, &via_cert);
  if (!key)
    goto out;
  if (!emu_jwt_verify(&jwt, key, md)) {
    mp_error(r, 400, "invalid_grant", "Invalid assertion. Invalid JWT signature (MP-124)");
    goto out;
  }
  const cJSON *aud = cJSON_GetObjectItemCaseSensitive(jwt.payload, "aud");
  if (!cJSON_IsString(aud) || strcmp(aud->valuestring, cfg->mp_issuer) != 0) {
    mp_error(r, 400, "invalid_grant",
             "Invalid assertion. Client authentication failed. Invalid JWT claim aud: expected "
             "'%s' (MP-110)",
             cfg->mp_issuer);
    goto out;
  }
  const cJSON *iat = cJSON_GetObjectItemCaseSensitive(jwt.payload, "iat");
  const cJSON *exp = cJSON_GetObjectItemCaseSensitive(jwt.payload, "exp");
  double now = emu_token_now();
  if (!cJSON_IsNumber(iat) || !cJSON_IsNumber(exp)) {
    mp_error(r, 400, "invalid_grant", "Invalid assertion. iat and exp are required (MP-011)");
    goto out;
  }
  if (exp->valuedouble - iat->valuedouble > MAX_GRANT_LIFETIME || exp->valuedouble <= iat->valuedouble) {
    mp_error(r, 400, "invalid_grant",
             "Invalid assertion. Invalid JWT claim exp: exp must be after iat and at most 120 "
             "seconds later (MP-011)");
    goto out;
  }
  if (iat->valuedouble > now + IAT_SKEW) {
    mp_error(r, 400, "invalid_grant", "Issue time is after now (MP-130)");
    goto out;
  }
  if (exp->valuedouble <= now || iat->valuedouble < now - IAT_SKEW) {
    mp_error(r, 400, "invalid_grant", "JWT is expired (MP-130)");
    goto out;
  }
  /* Replay: by jti, or by the signature when the grant has no jti. */
  const cJSON *jti = cJSON_GetObjectItemCaseSensitive(jwt.payload, "jti");
  char sigkey[80];
  if (cJSON_IsString(jti)) {
    snprintf(sigkey, sizeof sigkey, "jti:%.70s", jti->valuestring);
  } else {
    unsigned char h[32];
    unsigned int hl = 0;
    EVP_Digest(jwt.sig, jwt.siglen, h, &hl, EVP_sha256(), NULL);
    char hex[65];
    emu_hex(h, 32, hex);
    snprintf(sigkey, sizeof sigkey, "sig:%s", hex);
  }
  char fullkey[256];
  snprintf(fullkey, sizeof fullkey, "%s|%s", client->client_id, sigkey);
  if (!jti_fresh(fullkey, exp->valuedouble, now)) {
    mp_error(r, 400, "invalid_grant", "Invalid assertion. Grant is used before (MP-012)");
    goto out;
  }
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(jwt.payload, "scope");
  if (!cJSON_IsString(scope) || !*scope->valuestring) {
    mp_error(r, 400, "invalid_scope", "Missing scope claim (MP-200)");
    goto out;
  }
  char *scopes = strdup(scope->valuestring);
  char *save = NULL;
  for (char *s = strtok_r(scopes, " ", &save); s; s = strtok_r(NULL, " ", &save)) {
    if (!client_has_scope(client, s)) {
      mp_error(r, 400, "invalid_scope",
               "Token request contains invalid scopes for client: %s (MP-200)", s);
      free(scopes);
      goto out;
    }
  }
  free(scopes);

  const char *consumer = client->org, *supplier = NULL;
  const cJSON *corg = cJSON_GetObjectItemCaseSensitive(jwt.payload, "consumer_org");
  if (corg) {
    if (!cJSON_IsString(corg) || strcmp(corg->valuestring, client->org) == 0) {
      mp_error(r, 400, "invalid_request",
               "combination consumer_org in claim and delegation scope on client is invalid");
      goto out;
    }
    if (!in_list(client->consumer_orgs, client->nconsumer_orgs, corg->valuestring)) {
      mp_error(r, 400, "access_denied",
               "Consumer %s has not delegated access to the scope to supplier %s (MP-251)",
               corg->valuestring, client->org);
      goto out;
    }
    consumer = corg->valuestring;
    supplier = client->org;
  }
  const char *sysuser_org = NULL;
  const cJSON *ad = cJSON_GetObjectItemCaseSensitive(jwt.payload, "authorization_details");
  if (ad && !check_authorization_details(r, client, ad, &sysuser_org))
    goto out;

  /* The access token, with the claims Maskinporten puts in (§1.6). */
  char jti_out[37], idbuf[32];
  emu_uuid4(jti_out);
  claims = cJSON_CreateObject();
  cJSON_AddStringToObject(claims, "iss", cfg->mp_issuer);
  cJSON_AddStringToObject(claims, "client_amr", via_cert ? "virksomhetssertifikat" : "private_key_jwt");
  cJSON_AddStringToObject(claims, "token_type", "Bearer");
  cJSON_AddStringToObject(claims, "client_id", client->client_id);
  cJSON *cons = cJSON_AddObjectToObject(claims, "consumer");
  cJSON_AddStringToObject(cons, "authority", "iso6523-actorid-upis");
  snprintf(idbuf, sizeof idbuf, "0192:%s", consumer);
  cJSON_AddStringToObject(cons, "ID", idbuf);
  if (supplier) {
    cJSON *sup = cJSON_AddObjectToObject(claims, "supplier");
    cJSON_AddStringToObject(sup, "authority", "iso6523-actorid-upis");
    snprintf(idbuf, sizeof idbuf, "0192:%s", supplier);
    cJSON_AddStringToObject(sup, "ID", idbuf);
  }
  if (sysuser_org) {
    cJSON *arr = cJSON_AddArrayToObject(claims, "authorization_details");
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "type", "urn:altinn:systemuser");
    /* a stable system user id per (client, customer) */
    unsigned char h[32];
    unsigned int hl = 0;
    char seed[256], hex[65], suid[37];
    snprintf(seed, sizeof seed, "%s|%s", client->client_id, sysuser_org);
    EVP_Digest(seed, strlen(seed), h, &hl, EVP_sha256(), NULL);
    emu_hex(h, 16, hex);
    snprintf(suid, sizeof suid, "%.8s-%.4s-4%.3s-8%.3s-%.12s", hex, hex + 8, hex + 13, hex + 17,
             hex + 20);
    cJSON *ids = cJSON_AddArrayToObject(d, "systemuser_id");
    cJSON_AddItemToArray(ids, cJSON_CreateString(suid));
    cJSON *so = cJSON_AddObjectToObject(d, "systemuser_org");
    cJSON_AddStringToObject(so, "authority", "iso6523-actorid-upis");
    snprintf(idbuf, sizeof idbuf, "0192:%s", sysuser_org);
    cJSON_AddStringToObject(so, "ID", idbuf);
    char sysid[64];
    snprintf(sysid, sizeof sysid, "%s_altinn_emulator", client->org);
    cJSON_AddStringToObject(d, "system_id", sysid);
    cJSON_AddItemToArray(arr, d);
  }
  cJSON_AddStringToObject(claims, "scope", scope->valuestring);
  double issued = emu_token_issue_time();
  cJSON_AddNumberToObject(claims, "iat", issued);
  cJSON_AddNumberToObject(claims, "exp", issued + client->token_lifetime_s);
  cJSON_AddStringToObject(claims, "jti", jti_out);
  access_token = emu_auth_sign(claims);
  if (!access_token) {
    mp_error(r, 500, "server_error", "signing failed");
    goto out;
  }
  emu_stats_grant(client->client_id);
  cJSON *resp = cJSON_CreateObject();
  cJSON_AddStringToObject(resp, "access_token", access_token);
  cJSON_AddStringToObject(resp, "token_type", "Bearer");
  cJSON_AddNumberToObject(resp, "expires_in", client->token_lifetime_s);
  cJSON_AddStringToObject(resp, "scope", scope->valuestring);
  emu_reply_json(r, 200, resp);
out:
  cJSON_Delete(claims);
  free(access_token);
  EVP_PKEY_free(key);
  emu_jwt_free(&jwt);
  free(grant_type);
  free(assertion);
}

const emu_endpoint emu_ep_token = {
    .name = "token", .method = "POST", .finish = token_finish,
};

static void mp_metadata_finish(emu_request *r)
{
  const emu_config *cfg = r->cfg;
  char buf[512];
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "issuer", cfg->mp_issuer);
  snprintf(buf, sizeof buf, "%s/token", cfg->base_url);
  cJSON_AddStringToObject(j, "token_endpoint", buf);
  snprintf(buf, sizeof buf, "%s/jwk", cfg->base_url);
  cJSON_AddStringToObject(j, "jwks_uri", buf);
  cJSON *a = cJSON_AddArrayToObject(j, "token_endpoint_auth_methods_supported");
  cJSON_AddItemToArray(a, cJSON_CreateString("private_key_jwt"));
  a = cJSON_AddArrayToObject(j, "grant_types_supported");
  cJSON_AddItemToArray(a, cJSON_CreateString(GRANT_TYPE));
  a = cJSON_AddArrayToObject(j, "token_endpoint_auth_signing_alg_values_supported");
  cJSON_AddItemToArray(a, cJSON_CreateString("RS256"));
  cJSON_AddItemToArray(a, cJSON_CreateString("RS384"));
  cJSON_AddItemToArray(a, cJSON_CreateString("RS512"));
  emu_reply_json(r, 200, j);
}

const emu_endpoint emu_ep_mp_metadata = {
    .name = "metadata", .method = "GET", .flags = EMU_F_NOCOUNT, .finish = mp_metadata_finish,
};

static void jwks_finish(emu_request *r) { emu_reply_json(r, 200, emu_auth_jwks()); }

const emu_endpoint emu_ep_jwks = {
    .name = "jwks", .method = "GET", .flags = EMU_F_NOCOUNT, .finish = jwks_finish,
};
