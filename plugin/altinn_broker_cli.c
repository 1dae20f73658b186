/* altinn_broker_cli.c - `altinn-broker`, the admin CLI.
 *
 * Reads the same AltinnBroker* directives as the ProFTPD module (from the
 * ProFTPD config file) and drives the same core through the same
 * ab_vfs_methods seam the module uses, so what works here works over SFTP.
 *
 * This file parses the global options, loads the configuration and
 * dispatches to the commands in cli_*.c (table below). */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define DEFAULT_CONFIG "/etc/proftpd/proftpd.conf"

static void cli_log(void *ctx, int level, const char *message) {
  const cli_context *c = ctx;
  if (level <= AB_LOG_NOTICE || c->verbose) {
    fprintf(stderr, "altinn-broker: %s\n", message);
  }
}

ab_vfs *cli_open_session(cli_context *ctx) {
  ab_error err;
  ab_principal who = {
    .user = ctx->user, .groups = (const char *const *) ctx->groups, .n_groups = ctx->n_groups,
  };
  int admin = ctx->user == NULL && ctx->n_groups == 0;
  ab_vfs *vfs = ab_vfs_new_admin(ctx->cfg, cli_log, ctx, &err);
  if (vfs == NULL || ab_vfs_login(vfs, admin ? NULL : &who, &err) < 0) {
    fprintf(stderr, "altinn-broker: %s\n", err.message);
    ab_vfs_free(vfs);
    return NULL;
  }
  return vfs;
}

static const struct {
  const char *name;
  cli_command_fn fn;
  int reports_keys;     /* loads keys itself: a bad key is its finding, not a fatal error */
  const char *help;
} commands[] = {
  { "check", cli_cmd_check, 1, "check [--timeout S]             walk each mount through Altinn's onboarding steps\n"
    "                                  (key, Maskinporten, exchange, resource, events);\n"
    "                                  exit 0 ok, 3-7 first failing step, 8 service down" },
  { "ls",    cli_cmd_ls,    0, "ls MOUNT                        list the files in a mount (e.g. /inbox)" },
  { "send",  cli_cmd_send,  0, "send MOUNT FILE [NAME]          send FILE through an outbox mount" },
  { "get",   cli_cmd_get,   0, "get MOUNT NAME DEST [--confirm] download NAME from an inbox; --confirm confirms it" },
  { "status", cli_cmd_status, 0, "status FILE-TRANSFER-ID         a transfer as the Broker sees it now (status, recipients)" },
  { "resource", cli_cmd_resource, 0, "resource show|configure RESOURCE [--client NAME] [name=value...]\n"
    "                                  a service owner's settings for a resource (size cap, TTL, purge)" },
  { "agent", cli_cmd_agent, 0, "agent [--allow-uid UID]         run the gateway's agent in the foreground (inetd setups,\n"
    "                                  systemd); root (and UID) may connect; stop with SIGTERM" },
  { "metrics", cli_cmd_metrics, 0, "metrics                         the running gateway's counters (Prometheus text; --json)" },
  { "confirm", cli_cmd_confirm, 0, "confirm MOUNT NAME              confirm the download of NAME (read whole before)" },
  { "events", cli_cmd_events, 0, "events subscribe MOUNT URL [--type T] | list [MOUNT] | delete MOUNT ID\n"
    "                                  manage Altinn Events webhook subscriptions of an inbox\n"
    "  events serve [--listen ADDR:PORT [--path P] [--tls-cert F --tls-key F]]\n"
    "                                  receive Altinn Events webhooks for the inboxes" },
};

/* -g a,b -g c: appends each group to ctx->groups. */
static int add_groups(cli_context *ctx, const char *arg) {
  char *copy = strdup(arg);
  char *save = NULL;
  for (char *g = copy ? strtok_r(copy, ",", &save) : NULL; g != NULL; g = strtok_r(NULL, ",", &save)) {
    char **grown = realloc(ctx->groups, (ctx->n_groups + 1) * sizeof(char *));
    if (grown == NULL) {
      free(copy);
      return -1;
    }
    ctx->groups = grown;
    if ((ctx->groups[ctx->n_groups] = strdup(g)) == NULL) {
      free(copy);
      return -1;
    }
    ctx->n_groups++;
  }
  int rc = copy == NULL ? -1 : 0;
  free(copy);
  return rc;
}

static void free_groups(cli_context *ctx) {
  for (size_t i = 0; i < ctx->n_groups; i++) {
    free(ctx->groups[i]);
  }
  free(ctx->groups);
}

static void usage(FILE *out) {
  fprintf(out, "usage: altinn-broker [-c CONFIG] [-u USER] [-g GROUP[,GROUP]] [-v] [--json] COMMAND ...\n");
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    fprintf(out, "  %s\n", commands[i].help);
  }
  fprintf(out, "CONFIG is the ProFTPD configuration with the AltinnBroker* directives\n"
               "(default " DEFAULT_CONFIG "); USER and GROUP select the mounts an SFTP user\n"
               "with those groups sees (default: every mount).\n");
}

int main(int argc, char **argv) {
  const char *config_path = DEFAULT_CONFIG;
  cli_context ctx = { 0 };
  int opt;
  static const struct option longopts[] = {
    { "config", required_argument, NULL, 'c' }, { "user", required_argument, NULL, 'u' },
    { "group", required_argument, NULL, 'g' },
    { "verbose", no_argument, NULL, 'v' }, { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
  };
  while ((opt = getopt_long(argc, argv, "+c:u:g:vh", longopts, NULL)) != -1) {
    switch (opt) {
    case 'c': config_path = optarg; break;
    case 'u': ctx.user = optarg; break;
    case 'g':
      if (add_groups(&ctx, optarg) < 0) {
        fprintf(stderr, "altinn-broker: out of memory\n");
        return 2;
      }
      break;
    case 'v': ctx.verbose = 1; break;
    case 'j': ctx.json = 1; break;
    case 'h': usage(stdout); free_groups(&ctx); return 0;
    default: usage(stderr); free_groups(&ctx); return 2;
    }
  }
  if (optind >= argc) {
    usage(stderr);
    free_groups(&ctx);
    return 2;
  }
  cli_command_fn fn = NULL;
  int reports_keys = 0;
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(argv[optind], commands[i].name) == 0) {
      fn = commands[i].fn;
      reports_keys = commands[i].reports_keys;
    }
  }
  if (fn == NULL) {
    fprintf(stderr, "altinn-broker: unknown command '%s'\n", argv[optind]);
    usage(stderr);
    free_groups(&ctx);
    return 2;
  }
  ab_error err;
  ctx.cfg = ab_config_new();
  if (ctx.cfg == NULL || ab_config_load_file(ctx.cfg, config_path, &err) < 0 ||
      (reports_keys ? ab_config_load_ca(ctx.cfg, &err) : ab_config_load_secrets(ctx.cfg, &err)) < 0) {
    fprintf(stderr, "altinn-broker: %s\n", ctx.cfg ? err.message : "out of memory");
    ab_config_free(ctx.cfg);
    free_groups(&ctx);
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = fn(&ctx, argc - optind, argv + optind);
  ab_config_free(ctx.cfg);
  free_groups(&ctx);
  curl_global_cleanup();
  return rc;
}
