/* emu_exchange.c - Altinn Authentication's Maskinporten token exchange
 * (auth-and-events.md §2).
 *
 * GET /authentication/api/v1/exchange/maskinporten with an emulator-issued
 * Maskinporten token answers with a raw Altinn JWT as text/plain (or as a
 * JSON string when the client asks for application/json, as ASP.NET does).
 * The Maskinporten token is checked with Altinn's 10 s clock skew. A token
 * with altinn:serviceowner of an organisation with an "orgCode" also gets
 * urn:altinn:org (Events then names the subscriber "/org/<code>").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_auth.h"
#include "emu_endpoints.h"
#include "emu_stats.h"
#include "emu_tokens.h"
#include "emu_util.h"

#define EXCHANGE_SKEW 10

static void exchange_finish(emu_request *r)
{
  const emu_config *cfg = r->cfg;
  emu_caller caller;
  cJSON *mp = NULL;
  if (emu_header(r, "X-Altinn-EnterpriseUser-Authentication")) {
    emu_reply_empty(r, 410); /* enterprise users (virksomhetsbruker) are discontinued */
    return;
  }
  if (!emu_auth_bearer(cfg, emu_header(r, MHD_HTTP_HEADER_AUTHORIZATION), true, false,
                       EXCHANGE_SKEW, &caller, &mp) ||
      !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
          cJSON_GetObjectItemCaseSensitive(mp, "consumer"), "ID"))) {
    cJSON_Delete(mp);
    emu_reply_empty(r, 401);
    MHD_add_response_header(r->resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return;
  }
  /* Copy every claim except those Altinn replaces, then add Altinn's. */
  cJSON *claims = cJSON_CreateObject();
  const cJSON *c;
  cJSON_ArrayForEach(c, mp)
  {
    if (strcmp(c->string, "aud") == 0 || strcmp(c->string, "iss") == 0 ||
        strcmp(c->string, "client_amr") == 0 || strcmp(c->string, "sid") == 0 ||
        strcmp(c->string, "exp") == 0 || strcmp(c->string, "iat") == 0)
      continue;
    cJSON *copy;
    const cJSON *first = cJSON_GetArrayItem(c, 0);
    if (strcmp(c->string, "authorization_details") == 0 && cJSON_IsArray(c) &&
        cJSON_GetArraySize(c) == 1 && first)
      copy = cJSON_Duplicate(first, 1); /* .NET writes a one-element array back as an object */
    else
      copy = cJSON_Duplicate(c, 1);
    cJSON_AddItemToObject(claims, c->string, copy);
  }
  char orgnum[16], sid[37];
  snprintf(orgnum, sizeof orgnum, "%s",
           emu_strip_prefix(cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(mp, "consumer"), "ID")
                                ->valuestring));
  emu_knobs k;
  emu_knobs_get(&k);
  double now = emu_token_issue_time();
  emu_uuid4(sid);
  cJSON_AddStringToObject(claims, "urn:altinn:orgNumber", orgnum);
  cJSON_AddStringToObject(claims, "urn:altinn:authenticatemethod", "maskinporten");
  cJSON_AddNumberToObject(claims, "urn:altinn:authlevel", 3);
  const char *code = emu_config_org_code(cfg, orgnum);
  if (code && emu_caller_has_scope(&caller, "altinn:serviceowner"))
    cJSON_AddStringToObject(claims, "urn:altinn:org", code); /* only for service-owner tokens */
  cJSON_AddStringToObject(claims, "sid", sid);
  cJSON_AddStringToObject(claims, "iss", cfg->altinn_issuer);
  cJSON_AddNumberToObject(claims, "nbf", now);
  cJSON_AddNumberToObject(claims, "iat", now);
  cJSON_AddNumberToObject(claims, "exp", now + k.altinn_token_lifetime_s);
  char *tok = emu_auth_sign(claims);
  cJSON_Delete(claims);
  cJSON_Delete(mp);
  if (!tok) {
    emu_reply_empty(r, 500);
    return;
  }
  emu_stats_exchange(caller.client_id);
  const char *accept = emu_header(r, MHD_HTTP_HEADER_ACCEPT);
  if (accept && strcasestr(accept, "application/json") && !strcasestr(accept, "text/plain")) {
    size_t n = strlen(tok) + 3;
    char *q = malloc(n);
    snprintf(q, n, "\"%s\"", tok);
    emu_reply(r, 200, "application/json; charset=utf-8", q, strlen(q));
    free(q);
  } else {
    emu_reply(r, 200, "text/plain; charset=utf-8", tok, strlen(tok));
  }
  free(tok);
}

const emu_endpoint emu_ep_exchange = {
    .name = "exchange", .method = "GET", .finish = exchange_finish,
};

static void openid_finish(emu_request *r)
{
  char buf[512];
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "issuer", r->cfg->altinn_issuer);
  snprintf(buf, sizeof buf, "%s/jwk", r->cfg->base_url);
  cJSON_AddStringToObject(j, "jwks_uri", buf);
  emu_reply_json(r, 200, j);
}

const emu_endpoint emu_ep_openid_metadata = {
    .name = "openid", .method = "GET", .flags = EMU_F_NOCOUNT, .finish = openid_finish,
};
