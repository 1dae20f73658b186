/* cli_metrics.c - `altinn-broker metrics`: the gateway's counters as the
 * agent keeps them (ab_metrics.h), in Prometheus text format, or as JSON
 * with --json. Sessions are separate processes and hand their counts to
 * the agent, so the agent of the running gateway is the one place that
 * has them all; without it there is nothing to show. */
#include <stdio.h>
#include <string.h>

#include "ab_agent.h"
#include "cli.h"

int cli_cmd_metrics(cli_context *ctx, int argc, char **argv) {
  (void) argv;
  if (argc != 1) {
    fprintf(stderr, "usage: altinn-broker [--json] metrics\n");
    return 2;
  }
  ab_error err;
  ab_shared *s = ab_shared_connect(ctx->cfg, &err);
  if (s == NULL) {
    fprintf(stderr, "altinn-broker: metrics: no gateway agent answers for %s (%s); the counts "
            "live in the agent of a running gateway\n", ctx->cfg->state_dir, err.message);
    return 1;
  }
  cJSON *req = cJSON_CreateObject();
  cJSON_AddStringToObject(req, "op", "metrics");
  cJSON *reply = ab_shared_call(s, req, &err);
  ab_shared_free(s);
  if (reply == NULL) {
    fprintf(stderr, "altinn-broker: metrics: %s\n", err.message);
    return 1;
  }
  if (ctx->json) {
    char *text = cJSON_Print(cJSON_GetObjectItemCaseSensitive(reply, "counts"));
    printf("%s\n", text ? text : "{}");
    cJSON_free(text);
  } else {
    const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply, "text"));
    fputs(text ? text : "", stdout);
  }
  cJSON_Delete(reply);
  return 0;
}
