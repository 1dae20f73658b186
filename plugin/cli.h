/* cli.h - the admin CLI's commands. Each command lives in its own cli_*.c
 * file and is listed in the table in altinn_broker_cli.c. */
#ifndef AB_CLI_H
#define AB_CLI_H

#include "ab_config.h"
#include "ab_http.h"
#include "ab_onboarding.h"
#include "ab_vfs.h"

typedef struct cli_context {
  ab_config *cfg;         /* finished, secrets loaded */
  const char *user;       /* -u USER, or NULL */
  char **groups;          /* -g GROUP[,GROUP...] */
  size_t n_groups;        /* no -u and no -g: the admin, who sees every mount */
  int verbose;            /* -v */
  int json;               /* --json: machine-readable output */
} cli_context;

/* A command: argv[0] is the command name. Returns the process exit code
 * (0 ok, 1 failed, 2 usage). */
typedef int (*cli_command_fn)(cli_context *ctx, int argc, char **argv);

/* Opens a core session for the CLI, logged in as ctx->user. */
ab_vfs *cli_open_session(cli_context *ctx);

int cli_cmd_check(cli_context *ctx, int argc, char **argv);
int cli_cmd_metrics(cli_context *ctx, int argc, char **argv);

/* Step 5 of `check` for mount m, with the client's scope set and its
 * (already authenticated) ab_auth (cli_check_events.c). */
void cli_check_events(const ab_config *cfg, ab_http *http, ab_auth *auth, const char *scope,
                      const ab_mount_cfg *m, ab_step_result *out);
int cli_cmd_ls(cli_context *ctx, int argc, char **argv);
int cli_cmd_send(cli_context *ctx, int argc, char **argv);
int cli_cmd_get(cli_context *ctx, int argc, char **argv);

#endif
