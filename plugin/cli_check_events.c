/* cli_check_events.c - step 5 of `altinn-broker check`: can the mount learn
 * of new files from Altinn Events? For an inbox with events=pull: can
 * events be pulled; with events=webhook: is there a subscription for the
 * mount's resource, and is it validated?
 *
 * A client that requests the scope altinn:events.subscribe (scope= of its
 * AltinnBrokerClient) is taken to use events; its subscriptions are listed
 * (ab_events_subscriptions: only the caller's own come back,
 * auth-and-events.md §3.6) and matched on
 * resourceFilter = urn:altinn:resource:<id>. Events pushes nothing until a
 * subscription is validated (its webhook answered 2xx to the validation
 * event, §3.3). Without the scope the step is skipped: the inbox then finds
 * new files by search. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ab_events.h"
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

/* Judges our subscriptions for resource `urn`. */
static void judge(const ab_subscription *subs, size_t n, const char *urn, const ab_mount_cfg *m,
                  const char *org, ab_step_result *out) {
  const ab_subscription *pending = NULL;
  for (size_t i = 0; i < n; i++) {
    if (strcasecmp(subs[i].resource_filter, urn) != 0) {
      continue;
    }
    if (subs[i].validated) {
      ab_step_set(out, AB_VERDICT_OK, NULL, 0, NULL, "subscription %ld for %s delivers to %.200s "
                  "(validated)", subs[i].id, urn, subs[i].endpoint);
      return;
    }
    pending = pending != NULL ? pending : &subs[i];
  }
  char fix[AB_ERROR_MSG_MAX];
  if (pending != NULL) {
    snprintf(fix, sizeof(fix), "the webhook %.200s must answer 2xx to Altinn's "
             "platform.events.validatesubscription event (reachable from Altinn over https "
             "with a publicly trusted certificate); Events delivers nothing until then",
             pending->endpoint);
    ab_step_set(out, AB_VERDICT_FAIL, NULL, 0, fix, "subscription %ld for %s exists but is not "
                "validated", pending->id, urn);
    return;
  }
  snprintf(fix, sizeof(fix), "create one: altinn-broker events subscribe %s https://<public "
           "address of altinn-broker events serve> (resourceFilter %s, subjectFilter "
           "urn:altinn:organization:identifier-no:%s)", m->path, urn, org);
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
  ab_broker b = { .base_url = cfg->platform_url, .http = http, .auth = auth };
  ab_subscription *subs = NULL;
  size_t n = 0;
  ab_error err;
  char urn[300];
  snprintf(urn, sizeof(urn), "urn:altinn:resource:%s", m->resource_id);
  const char *org = c->systemuser_org ? c->systemuser_org : c->org;
  if (m->direction == AB_INBOX && m->events == 0) {
    /* events=pull: the gateway reads events itself; no webhook needed. */
    ab_event *ev = NULL;
    if (ab_events_pull(&b, m->resource_id, org, "0", 1, &ev, &n, &err) == 0) {
      ab_step_set(out, AB_VERDICT_OK, NULL, 0, NULL, "Altinn Events for %s can be pulled "
                  "(events=pull: no subscription needed)", urn);
    } else if (err.err_no == EIO) {
      ab_step_set(out, AB_VERDICT_UNAVAILABLE, err.code, err.http_status, "check that this host "
                  "reaches Altinn Events and try again later", "%s", err.message);
    } else {
      char fix[AB_ERROR_MSG_MAX];
      snprintf(fix, sizeof(fix), "Events needs an Altinn token with %s, and the owner of %s must "
               "allow the action subscribe for organisation %s; or set events=off on the mount "
               "(new files are then found by search, within about 10 s)", EVENTS_SCOPE,
               m->resource_id, org);
      ab_step_set(out, AB_VERDICT_FAIL, err.code, err.http_status, fix, "%s", err.message);
    }
    free(ev);
    return;
  }
  if (ab_events_subscriptions(&b, &subs, &n, &err) == 0) {
    judge(subs, n, urn, m, org, out);
  } else if (err.err_no == EIO && err.http_status != 200) {
    ab_step_set(out, AB_VERDICT_UNAVAILABLE, err.code, err.http_status, "check that this host "
                "reaches Altinn Events and try again later", "%s", err.message);
  } else {
    char fix[AB_ERROR_MSG_MAX];
    snprintf(fix, sizeof(fix), "Events needs an Altinn token with %s, and the owner of %s must "
             "allow the action subscribe for organisation %s", EVENTS_SCOPE, m->resource_id, org);
    ab_step_set(out, AB_VERDICT_FAIL, err.code, err.http_status, fix, "%s", err.message);
  }
  free(subs);
}
