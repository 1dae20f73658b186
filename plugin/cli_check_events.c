/* cli_check_events.c - step 5 of `altinn-broker check`: is there an Altinn
 * Events subscription for the mount's resource, and is it validated?
 *
 * A client that requests the scope altinn:events.subscribe (scope= of its
 * AltinnBrokerClient) is taken to use events; its subscriptions are listed
 * with GET {platform}/events/api/v1/subscriptions (only the caller's own
 * come back, auth-and-events.md §3.6) and matched on
 * resourceFilter = urn:altinn:resource:<id>. Events pushes nothing until a
 * subscription is validated (its webhook answered 2xx to the validation
 * event, §3.3). Without the scope the step is skipped: the inbox then finds
 * new files by search. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "ab_maskinporten.h"
#include "cli.h"

#define EVENTS_SCOPE "altinn:events.subscribe"

static int has_scope(const char *scopes, const char *want) {
  size_t n = strlen(want);
  for (const char *p = strstr(scopes, want); p != NULL; p = strstr(p + 1, want)) {
    if ((p == scopes || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ')) {
      return 1;
    }
  }
  return 0;
}

/* Judges the subscription list for resource `urn`. */
static void judge(const cJSON *subs, const char *urn, const ab_mount_cfg *m, const char *org,
                  ab_step_result *out) {
  const cJSON *s;
  const cJSON *pending = NULL;
  cJSON_ArrayForEach(s, subs) {
    const cJSON *rf = cJSON_GetObjectItemCaseSensitive(s, "resourceFilter");
    if (!cJSON_IsString(rf) || strcasecmp(rf->valuestring, urn) != 0) {
      continue;
    }
    const cJSON *validated = cJSON_GetObjectItemCaseSensitive(s, "validated");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(s, "id");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(s, "endPoint");
    if (cJSON_IsTrue(validated)) {
      ab_step_set(out, AB_VERDICT_OK, NULL, 0, NULL, "subscription %.0f for %s delivers to %s "
                  "(validated)", cJSON_IsNumber(id) ? id->valuedouble : 0.0, urn,
                  cJSON_IsString(ep) ? ep->valuestring : "?");
      return;
    }
    pending = pending != NULL ? pending : s;
  }
  char fix[AB_ERROR_MSG_MAX];
  if (pending != NULL) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(pending, "id");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(pending, "endPoint");
    snprintf(fix, sizeof(fix), "the webhook %s must answer 2xx to Altinn's "
             "platform.events.validatesubscription event (reachable from Altinn over https "
             "with a publicly trusted certificate); Events delivers nothing until then",
             cJSON_IsString(ep) ? ep->valuestring : "?");
    ab_step_set(out, AB_VERDICT_FAIL, NULL, 0, fix, "subscription %.0f for %s exists but is not "
                "validated", cJSON_IsNumber(id) ? id->valuedouble : 0.0, urn);
    return;
  }
  snprintf(fix, sizeof(fix), "create one: POST /events/api/v1/subscriptions with endPoint "
           "(https), resourceFilter %s and subjectFilter "
           "urn:altinn:organization:identifier-no:%s (no sourceFilter)", urn, org);
  ab_step_set(out, AB_VERDICT_WARN, NULL, 0, fix, "the client requests %s but has no "
              "subscription for %s (mount %s finds new files by search)", EVENTS_SCOPE, urn,
              m->path);
}

void cli_check_events(const ab_config *cfg, ab_http *http, ab_auth *auth, const char *scope,
                      const ab_mount_cfg *m, ab_step_result *out) {
  const ab_client_cfg *c = m->client;
  if (!has_scope(scope, EVENTS_SCOPE)) {
    ab_step_set(out, AB_VERDICT_SKIP, NULL, 0, NULL, "no event subscription configured (client "
                "%s does not request %s)", c->name, EVENTS_SCOPE);
    return;
  }
  ab_error err;
  const char *token = ab_auth_token(auth, http, &err);
  char *bearer = NULL;
  char url[1024];
  snprintf(url, sizeof(url), "%s/events/api/v1/subscriptions", cfg->platform_url);
  if (token == NULL || asprintf(&bearer, "Authorization: Bearer %s", token) < 0) {
    ab_step_set(out, AB_VERDICT_UNAVAILABLE, err.code, err.http_status, "try again later",
                "no Altinn token for Events: %s", token == NULL ? err.message : "out of memory");
    return;
  }
  const char *headers[] = { bearer, "Accept: application/json", NULL };
  ab_http_response resp;
  int rc = ab_http_request(http, "GET", url, headers, NULL, 0, &resp, &err);
  ab_secret_free(bearer);
  char urn[300];
  snprintf(urn, sizeof(urn), "urn:altinn:resource:%s", m->resource_id);
  const char *org = c->systemuser_org ? c->systemuser_org : c->org;
  char fix[AB_ERROR_MSG_MAX];
  if (rc != 0) {
    ab_step_set(out, AB_VERDICT_UNAVAILABLE, NULL, 0, "check that this host reaches Altinn "
                "Events and try again later", "Events: %s", err.message);
    return;
  }
  if (resp.status == 200) {
    cJSON *root = cJSON_ParseWithLength(resp.body, resp.body_len);
    const cJSON *subs = cJSON_GetObjectItemCaseSensitive(root, "subscriptions");
    if (cJSON_IsArray(subs)) {
      judge(subs, urn, m, org, out);
    } else {
      ab_step_set(out, AB_VERDICT_FAIL, NULL, 200, "check AltinnBrokerPlatformURL",
                  "Events answered %s with something that is not a subscription list", url);
    }
    cJSON_Delete(root);
  } else if (resp.status == 401 || resp.status == 403) {
    snprintf(fix, sizeof(fix), "Events needs an Altinn token with %s, and the owner of %s must "
             "allow the action subscribe for organisation %s", EVENTS_SCOPE, m->resource_id, org);
    ab_step_set(out, AB_VERDICT_FAIL, NULL, (int) resp.status, fix, "Events refused to list "
                "subscriptions (HTTP %ld)", resp.status);
  } else {
    ab_step_set(out, resp.status == 429 || resp.status >= 500 ? AB_VERDICT_UNAVAILABLE
                                                              : AB_VERDICT_FAIL,
                NULL, (int) resp.status, "try again later", "Events answered HTTP %ld to %s",
                resp.status, url);
  }
  ab_http_response_clear(&resp);
}
