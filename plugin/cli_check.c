/* cli_check.c - `altinn-broker check [--timeout SECONDS]`: walks Altinn's
 * onboarding steps for every mount (ab_onboarding.h) and says, per step,
 * OK or what is wrong and what to do; --json (global) prints the same as one
 * JSON document for monitoring. The exit code names the first failing step
 * (ab_check_exit_code).
 *
 * Work shared by the mounts of one client (loading the key, the token) is
 * done once per client; the resource and events steps run per mount. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ab_audience.h"
#include "ab_auth.h"
#include "ab_broker.h"
#include "ab_onboarding.h"
#include "cli.h"

/* What the first three steps found for one client. */
typedef struct client_check {
  int done;
  char *scope;
  ab_auth *auth;             /* holds the Altinn token when steps 1-3 passed */
  ab_auth_report rep;
  ab_step_result steps[3];   /* key, maskinporten, exchange */
  int failed_step;           /* 0, or the step that failed (1-3) */
  int token_failed;          /* the token fetch failed with token_err: each mount
                              * words it for itself (whose scope is refused?) */
  ab_error token_err;
  char refused[256];         /* scopes Maskinporten refuses, when that was the cause */
} client_check;

typedef struct mount_check {
  const ab_mount_cfg *mount;
  ab_step_result steps[AB_STEP_COUNT];
} mount_check;

static void skip_after(ab_step_result *steps, int from, int to, int failed) {
  for (int i = from; i <= to; i++) {
    ab_step_set(&steps[i - 1], AB_VERDICT_SKIP, NULL, 0, NULL, "not checked: step %d (%s) "
                "did not pass", failed, ab_step_name((ab_step) failed));
  }
}

/* The scopes of `scope` Maskinporten refuses for this client, found by
 * asking for each alone (Maskinporten's message need not name them). */
static void find_refused_scopes(const ab_config *cfg, const ab_client_cfg *c, ab_http *http,
                                long timeout_ms, const char *scope, char *out, size_t len) {
  out[0] = '\0';
  char copy[512];
  snprintf(copy, sizeof(copy), "%s", scope);
  char *save = NULL;
  for (char *w = strtok_r(copy, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
    ab_auth_config ac;
    ab_config_auth(cfg, c, w, &ac);
    ac.timeout_ms = timeout_ms;
    ab_error err;
    ab_auth *a = ab_auth_new(&ac, &err);
    ab_auth_report rep;
    if (a != NULL && ab_auth_refresh(a, http, &rep, &err) == NULL &&
        rep.stage == AB_AUTH_STAGE_GRANT &&
        (strcmp(err.code, "MP-200") == 0 || strcmp(err.code, "invalid_scope") == 0)) {
      size_t n = strlen(out);
      snprintf(out + n, len - n, "%s%s", n ? " " : "", w);
    }
    ab_auth_free(a);
  }
}

static void check_client(cli_context *ctx, ab_http *http, long timeout_ms, ab_client_cfg *c,
                         const ab_mount_cfg *m, client_check *cc) {
  const ab_config *cfg = ctx->cfg;
  cc->done = 1;
  cc->scope = ab_config_client_scope(cfg, c);
  ab_onboarding_subject s = { cfg, c, m, cc->scope };
  ab_error err;
  /* 1: the key loads (here, not at startup, so a bad key is a finding) */
  if (ab_config_load_client_key(c, &err) < 0) {
    ab_step_set(&cc->steps[0], AB_VERDICT_FAIL, NULL, 0, "fix the file or setting named above "
                "(README: AltinnBrokerClient)", "%s", err.message);
    cc->failed_step = 1;
    skip_after(cc->steps, 2, 3, 1);
    return;
  }
  ab_onboarding_key(&s, time(NULL), &cc->steps[0]);
  if (cc->steps[0].verdict == AB_VERDICT_FAIL) {
    cc->failed_step = 1;
    skip_after(cc->steps, 2, 3, 1);
    return;
  }
  /* 2 and 3: a token, as the gateway gets it */
  ab_auth_config ac;
  ab_config_auth(cfg, c, cc->scope, &ac);
  ac.timeout_ms = timeout_ms;
  cc->auth = ab_auth_new(&ac, &err);
  if (cc->auth == NULL) {
    ab_step_set(&cc->steps[1], AB_VERDICT_FAIL, NULL, 0, "", "%s", err.message);
    cc->failed_step = 2;
    skip_after(cc->steps, 3, 3, 2);
    return;
  }
  if (ab_auth_refresh(cc->auth, http, &cc->rep, &cc->token_err) == NULL) {
    if (cc->rep.stage == AB_AUTH_STAGE_GRANT && (strcmp(cc->token_err.code, "MP-200") == 0 ||
                                                 strcmp(cc->token_err.code, "invalid_scope") == 0)) {
      find_refused_scopes(cfg, c, http, timeout_ms, cc->scope, cc->refused, sizeof(cc->refused));
    }
    cc->token_failed = 1;
    return;
  }
  ab_onboarding_token_ok(&s, &cc->rep, &cc->steps[1]);
  if (cc->steps[1].verdict == AB_VERDICT_FAIL) {
    cc->failed_step = 2;
  }
  ab_step_set(&cc->steps[2], AB_VERDICT_OK, NULL, 0, NULL, "Altinn token for %s %s, valid "
              "%ld s (%.2f s)", c->systemuser_org ? "system user for" : "organisation",
              c->systemuser_org ? c->systemuser_org : c->org, cc->rep.altinn_lifetime,
              (double) cc->rep.exchange_ms / 1000.0);
}

static void check_mount(cli_context *ctx, ab_http *http, long timeout_ms, size_t index,
                        client_check *clients, mount_check *mc) {
  const ab_config *cfg = ctx->cfg;
  const ab_mount_cfg *m = &cfg->mounts[index];
  mc->mount = m;
  size_t ci = (size_t) (m->client - cfg->clients);
  client_check *cc = &clients[ci];
  if (!cc->done) {
    check_client(ctx, http, timeout_ms, &cfg->clients[ci], m, cc);
  }
  memcpy(mc->steps, cc->steps, sizeof(cc->steps));
  ab_onboarding_subject s = { cfg, m->client, m, cc->scope };
  if (cc->token_failed) {
    ab_step_result r;
    ab_step step = ab_onboarding_token_failure(&s, &cc->rep, &cc->token_err, cc->refused, &r);
    mc->steps[step - 1] = r;
    skip_after(mc->steps, (int) step + 1, AB_STEP_COUNT, (int) step);
    return;
  }
  if (cc->failed_step != 0) {
    skip_after(mc->steps, 4, AB_STEP_COUNT, cc->failed_step);
    return;
  }
  ab_broker b = { .base_url = cfg->platform_url, .http = http, .auth = cc->auth };
  ab_search q = { .resource_id = m->resource_id,
                  .role = m->direction == AB_OUTBOX ? "Sender" : "Recipient" };
  char (*ids)[AB_ID_LEN] = NULL;
  size_t n = 0;
  ab_error err;
  int rc = ab_broker_search(&b, &q, &ids, &n, &err);
  free(ids);
  ab_onboarding_resource(&s, rc == 0 ? NULL : &err, &mc->steps[3]);
  cli_check_events(cfg, http, cc->auth, cc->scope, m, &mc->steps[4]);
}

/* ---- output ---- */

static const char *tag(ab_verdict v) {
  static const char *tags[] = { "[ OK ]", "[WARN]", "[SKIP]", "[FAIL]", "[DOWN]" };
  return tags[v];
}

static void print_text(const ab_config *cfg, const mount_check *mcs, size_t n, int exit_code,
                       const mount_check *first) {
  printf("altinn-broker check: environment %s, Maskinporten %s, Altinn %s\n",
         cfg->environment ? cfg->environment : "custom", cfg->maskinporten_issuer,
         cfg->platform_url);
  for (size_t i = 0; i < n; i++) {
    const ab_mount_cfg *m = mcs[i].mount;
    printf("\nmount %s: %s on resource %s, client %s (org %s%s%s)\n", m->path,
           m->direction == AB_OUTBOX ? "outbox" : "inbox", m->resource_id, m->client->name,
           m->client->org, m->client->systemuser_org ? ", system user for " : "",
           m->client->systemuser_org ? m->client->systemuser_org : "");
    for (int s = 0; s < AB_STEP_COUNT; s++) {
      const ab_step_result *r = &mcs[i].steps[s];
      printf("  %s %d %-12s %s\n", tag(r->verdict), s + 1, ab_step_name((ab_step) (s + 1)),
             r->finding);
      if (r->fix[0] != '\0' && r->verdict != AB_VERDICT_OK && r->verdict != AB_VERDICT_SKIP) {
        printf("         %-14s fix: %s\n", "", r->fix);
      }
    }
  }
  if (exit_code == AB_CHECK_EXIT_OK) {
    printf("\nresult: every step passed (exit 0)\n");
  } else if (exit_code == AB_CHECK_EXIT_UNAVAILABLE) {
    printf("\nresult: a service could not be reached; nothing else failed (exit %d)\n", exit_code);
  } else {
    printf("\nresult: step %d (%s) failed for mount %s (exit %d)\n", exit_code - 2,
           ab_step_name((ab_step) (exit_code - 2)), first->mount->path, exit_code);
  }
}

static void print_json(const ab_config *cfg, const mount_check *mcs, size_t n, int exit_code) {
  cJSON *root = cJSON_CreateObject();
  cJSON_AddStringToObject(root, "result", exit_code == AB_CHECK_EXIT_OK ? "ok"
                          : exit_code == AB_CHECK_EXIT_UNAVAILABLE ? "unavailable" : "fail");
  cJSON_AddNumberToObject(root, "exitCode", exit_code);
  cJSON_AddStringToObject(root, "environment", cfg->environment ? cfg->environment : "custom");
  cJSON_AddStringToObject(root, "maskinporten", cfg->maskinporten_issuer);
  cJSON_AddStringToObject(root, "platform", cfg->platform_url);
  cJSON *mounts = cJSON_AddArrayToObject(root, "mounts");
  for (size_t i = 0; i < n; i++) {
    const ab_mount_cfg *m = mcs[i].mount;
    cJSON *jm = cJSON_CreateObject();
    cJSON_AddItemToArray(mounts, jm);
    cJSON_AddStringToObject(jm, "path", m->path);
    cJSON_AddStringToObject(jm, "direction", m->direction == AB_OUTBOX ? "outbox" : "inbox");
    cJSON_AddStringToObject(jm, "resource", m->resource_id);
    cJSON_AddStringToObject(jm, "client", m->client->name);
    cJSON_AddStringToObject(jm, "clientId", m->client->client_id);
    cJSON_AddStringToObject(jm, "org", m->client->org);
    if (m->client->systemuser_org != NULL) {
      cJSON_AddStringToObject(jm, "systemUserOrg", m->client->systemuser_org);
    } else {
      cJSON_AddNullToObject(jm, "systemUserOrg");
    }
    cJSON *steps = cJSON_AddArrayToObject(jm, "steps");
    for (int s = 0; s < AB_STEP_COUNT; s++) {
      const ab_step_result *r = &mcs[i].steps[s];
      cJSON *js = cJSON_CreateObject();
      cJSON_AddItemToArray(steps, js);
      cJSON_AddNumberToObject(js, "step", s + 1);
      cJSON_AddStringToObject(js, "name", ab_step_name((ab_step) (s + 1)));
      cJSON_AddStringToObject(js, "status", ab_verdict_name(r->verdict));
      cJSON_AddStringToObject(js, "finding", r->finding);
      if (r->fix[0] != '\0' && r->verdict != AB_VERDICT_OK) {
        cJSON_AddStringToObject(js, "fix", r->fix);
      } else {
        cJSON_AddNullToObject(js, "fix");
      }
      if (r->code[0] != '\0') {
        cJSON_AddStringToObject(js, "code", r->code);
      } else {
        cJSON_AddNullToObject(js, "code");
      }
      if (r->http_status != 0) {
        cJSON_AddNumberToObject(js, "httpStatus", r->http_status);
      } else {
        cJSON_AddNullToObject(js, "httpStatus");
      }
    }
  }
  char *text = cJSON_Print(root);
  if (text != NULL) {
    printf("%s\n", text);
  }
  cJSON_free(text);
  cJSON_Delete(root);
}

int cli_cmd_check(cli_context *ctx, int argc, char **argv) {
  long timeout_ms = 0;
  if (argc == 3 && strcmp(argv[1], "--timeout") == 0) {
    char *end = NULL;
    double secs = strtod(argv[2], &end);
    if (end == argv[2] || *end != '\0' || secs <= 0 || secs > 600) {
      fprintf(stderr, "altinn-broker: --timeout takes seconds (0 < s <= 600)\n");
      return AB_CHECK_EXIT_USAGE;
    }
    timeout_ms = (long) (secs * 1000);
  } else if (argc != 1) {
    fprintf(stderr, "usage: altinn-broker check [--timeout SECONDS]\n");
    return AB_CHECK_EXIT_USAGE;
  }
  ab_config *cfg = ctx->cfg;
  ab_http_options hopts = { .ca_pem = cfg->ca_pem, .ca_pem_len = cfg->ca_pem_len };
  ab_http *http = ab_http_new(&hopts);
  client_check *clients = calloc(cfg->n_clients ? cfg->n_clients : 1, sizeof(*clients));
  mount_check *mcs = calloc(cfg->n_mounts ? cfg->n_mounts : 1, sizeof(*mcs));
  if (http == NULL || clients == NULL || mcs == NULL) {
    fprintf(stderr, "altinn-broker: out of memory\n");
    ab_http_free(http);
    free(clients);
    free(mcs);
    return 1;
  }
  size_t n = 0;
  int exit_code = AB_CHECK_EXIT_OK;
  const mount_check *first = NULL;
  ab_principal who = {
    .user = ctx->user, .groups = (const char *const *) ctx->groups, .n_groups = ctx->n_groups,
  };
  int admin = ctx->user == NULL && ctx->n_groups == 0;
  for (size_t i = 0; i < cfg->n_mounts; i++) {
    if (!ab_mount_visible_to(&cfg->mounts[i], admin ? NULL : &who)) {
      continue;
    }
    check_mount(ctx, http, timeout_ms, i, clients, &mcs[n]);
    for (int s = 0; s < AB_STEP_COUNT; s++) {
      ab_verdict v = mcs[n].steps[s].verdict;
      int code = v == AB_VERDICT_FAIL ? ab_check_exit_code((ab_step) (s + 1))
               : v == AB_VERDICT_UNAVAILABLE ? AB_CHECK_EXIT_UNAVAILABLE : AB_CHECK_EXIT_OK;
      /* the earliest failing step wins; "unavailable" only when nothing failed */
      if (code != AB_CHECK_EXIT_OK &&
          (exit_code == AB_CHECK_EXIT_OK || code < exit_code)) {
        exit_code = code;
        first = &mcs[n];
      }
    }
    n++;
  }
  if (ctx->json) {
    print_json(cfg, mcs, n, exit_code);
  } else {
    print_text(cfg, mcs, n, exit_code, first);
  }
  for (size_t i = 0; i < cfg->n_clients; i++) {
    ab_auth_free(clients[i].auth);
    free(clients[i].scope);
  }
  free(clients);
  free(mcs);
  ab_http_free(http);
  return exit_code;
}
