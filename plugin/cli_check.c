/* cli_check.c - `altinn-broker check`: walks Altinn's onboarding steps for
 * every mount and says, per step, OK or what is wrong and what to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_auth.h"
#include "ab_broker.h"
#include "cli.h"

/* One line per onboarding step, "OK" or what is wrong and what to do. */
int cli_cmd_check(cli_context *ctx, int argc, char **argv) {
  (void) argv;
  if (argc != 1) {
    fprintf(stderr, "usage: altinn-broker check\n");
    return 2;
  }
  const ab_config *cfg = ctx->cfg;
  int failures = 0;
  ab_http_options hopts = { .ca_pem = cfg->ca_pem, .ca_pem_len = cfg->ca_pem_len };
  ab_http *http = ab_http_new(&hopts);
  for (size_t i = 0; i < cfg->n_mounts && http != NULL; i++) {
    const ab_mount_cfg *mc = &cfg->mounts[i];
    ab_error err;
    printf("mount %s (%s, resource %s, client %s, org %s)\n", mc->path,
           mc->direction == AB_OUTBOX ? "outbox" : "inbox", mc->resource_id,
           mc->client->name, mc->client->org);
    char *scope = ab_config_client_scope(cfg, mc->client);
    ab_auth_config ac;
    ab_config_auth(cfg, mc->client, scope, &ac);
    ab_auth *auth = ab_auth_new(&ac, &err);
    if (auth == NULL) {
      printf("  [FAIL] key of client %s: %s\n", mc->client->name, err.message);
      failures++;
      free(scope);
      continue;
    }
    printf("  [ OK ] key of client %s loads\n", mc->client->name);
    if (ab_auth_token(auth, http, &err) == NULL) {
      printf("  [FAIL] token for scope \"%s\": %s\n", scope, err.message);
      failures++;
    } else {
      printf("  [ OK ] Maskinporten token and Altinn token for scope \"%s\"\n", scope);
      ab_broker b = { .base_url = cfg->platform_url, .http = http, .auth = auth };
      ab_search q = { .resource_id = mc->resource_id,
                      .role = mc->direction == AB_OUTBOX ? "Sender" : "Recipient" };
      char (*ids)[AB_ID_LEN] = NULL;
      size_t n = 0;
      if (ab_broker_search(&b, &q, &ids, &n, &err) < 0) {
        if (strcmp(err.code, "BRO-00006") == 0) {
          printf("  [FAIL] access to resource %s: denied (BRO-00006). Ask the resource owner to "
                 "give organisation %s%s%s access to %s it\n", mc->resource_id, mc->client->org,
                 mc->client->systemuser_org ? " / system user for " : "",
                 mc->client->systemuser_org ? mc->client->systemuser_org : "",
                 mc->direction == AB_OUTBOX ? "send on (action write)" : "receive on (action read)");
        } else {
          printf("  [FAIL] access to resource %s: %s\n", mc->resource_id, err.message);
        }
        failures++;
      } else {
        printf("  [ OK ] resource %s is accessible (%zu transfer(s) found)\n", mc->resource_id, n);
      }
      free(ids);
    }
    ab_auth_free(auth);
    free(scope);
  }
  ab_http_free(http);
  printf("%s\n", failures == 0 ? "all checks passed" : "some checks failed");
  return failures == 0 ? 0 : 1;
}

