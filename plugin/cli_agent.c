/* cli_agent.c - `altinn-broker agent`: runs the gateway's agent in the
 * foreground, for setups where the ProFTPD daemon does not fork it itself:
 * ServerType inetd (every connection is its own daemon), or an agent kept
 * under systemd. Sessions find it at <AltinnBrokerStateDir>/agent.sock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ab_agent.h"
#include "cli.h"

static void stderr_log(void *ctx, int level, const char *message) {
  (void) ctx;
  static const char *names[] = { "error", "notice", "info", "debug" };
  if (level > AB_LOG_INFO) {
    return;
  }
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
  fprintf(stderr, "%s altinn-broker agent %s: %s\n", when,
          names[level < 0 || level > 3 ? 3 : level], message);
}

int cli_cmd_agent(cli_context *ctx, int argc, char **argv) {
  uid_t allowed = 0;
  for (int i = 1; i < argc; i++) {
    char *end = NULL;
    if (strcmp(argv[i], "--allow-uid") == 0 && i + 1 < argc &&
        (allowed = (uid_t) strtoul(argv[i + 1], &end, 10), *end == '\0')) {
      i++;
    } else {
      fprintf(stderr, "usage: altinn-broker agent [--allow-uid UID]\n");
      return 2;
    }
  }
  ab_agent_options o = { .cfg = ctx->cfg, .log = stderr_log, .allowed_uid = allowed,
                         .parent_fd = -1, .ready_fd = -1 };
  ab_error err;
  if (ab_agent_run(&o, &err) < 0) {
    fprintf(stderr, "altinn-broker agent: %s\n", err.message);
    return 1;
  }
  return 0;
}
