/* cli.h - the admin CLI's commands. Each command lives in its own cli_*.c
 * file and is listed in the table in altinn_broker_cli.c. */
#ifndef AB_CLI_H
#define AB_CLI_H

#include <cjson/cJSON.h>

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
  cJSON *reports;         /* --json: the transfers' ab_reports (cli_output.c) */
} cli_context;

/* A progress line on stderr while a long transfer runs (cli_output.c);
 * drawn only when stderr is a terminal and --json is off. */
typedef struct cli_progress {
  int active, drawn;
  const char *label;
  long long total, done;
  long long request_sent;  /* upload: this request's body sent so far */
  double start, last_draw;
} cli_progress;

void cli_progress_start(cli_context *ctx, cli_progress *p, const char *label, long long total);
void cli_progress_update(cli_progress *p, long long done);
/* An ab_vfs_set_progress callback (ctx = the cli_progress). */
void cli_progress_upload(void *ctx, long long sent, long long total);
void cli_progress_end(cli_progress *p);

/* Collects the session's transfer reports into ctx->reports; then
 * cli_print_reports prints them as a JSON array when --json is on. */
void cli_watch(cli_context *ctx, ab_vfs *vfs);
void cli_print_reports(cli_context *ctx);

/* A command: argv[0] is the command name. Returns the process exit code
 * (0 ok, 1 failed, 2 usage). */
typedef int (*cli_command_fn)(cli_context *ctx, int argc, char **argv);

/* Opens a core session for the CLI, logged in as ctx->user. */
ab_vfs *cli_open_session(cli_context *ctx);

int cli_cmd_check(cli_context *ctx, int argc, char **argv);
int cli_cmd_metrics(cli_context *ctx, int argc, char **argv);
/* Runs the agent in the foreground until SIGTERM (cli_agent.c). */
int cli_cmd_agent(cli_context *ctx, int argc, char **argv);
int cli_cmd_status(cli_context *ctx, int argc, char **argv);
int cli_cmd_resource(cli_context *ctx, int argc, char **argv);

/* Step 5 of `check` for mount m, with the client's scope set and its
 * (already authenticated) ab_auth (cli_check_events.c). */
void cli_check_events(const ab_config *cfg, ab_http *http, ab_auth *auth, const char *scope,
                      const ab_mount_cfg *m, ab_step_result *out);
int cli_cmd_ls(cli_context *ctx, int argc, char **argv);
int cli_cmd_send(cli_context *ctx, int argc, char **argv);
int cli_cmd_get(cli_context *ctx, int argc, char **argv);
int cli_cmd_confirm(cli_context *ctx, int argc, char **argv);
int cli_cmd_events(cli_context *ctx, int argc, char **argv);

/* `events serve` (cli_events_serve.c), dispatched by cli_cmd_events. */
int cli_events_serve(cli_context *ctx, int argc, char **argv);

#endif
