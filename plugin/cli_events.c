/* cli_events.c - `altinn-broker events subscribe|list|delete|serve`:
 * Altinn Events subscriptions for inbox mounts (auth-and-events.md §3) and
 * the background worker / webhook receiver (cli_events_serve.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ab_events.h"
#include "ab_inbox_admin.h"
#include "cli.h"

static void print_subscription(const ab_subscription *s) {
  printf("%ld  %s  %s  %s%s%s  %s\n", s->id, s->validated ? "validated    " : "not validated",
         s->resource_filter, s->subject_filter, s->type_filter[0] ? "  type=" : "",
         s->type_filter, s->endpoint);
}

static cJSON *subscription_json(const ab_subscription *s) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "id", (double) s->id);
  cJSON_AddStringToObject(o, "endPoint", s->endpoint);
  cJSON_AddStringToObject(o, "resourceFilter", s->resource_filter);
  cJSON_AddStringToObject(o, "subjectFilter", s->subject_filter);
  if (s->type_filter[0] != '\0') {
    cJSON_AddStringToObject(o, "typeFilter", s->type_filter);
  }
  cJSON_AddStringToObject(o, "created", s->created);
  cJSON_AddBoolToObject(o, "validated", s->validated);
  return o;
}

static void sleep_ms(long ms) {
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

/* events subscribe MOUNT URL [--type TYPE] [--no-wait] */
static int do_subscribe(cli_context *ctx, ab_vfs *vfs, int argc, char **argv) {
  const char *type = NULL;
  int wait = 1;
  if (argc < 4) {
    fprintf(stderr, "usage: altinn-broker events subscribe MOUNT URL [--type TYPE] [--no-wait]\n");
    return 2;
  }
  for (int i = 4; i < argc; i++) {
    if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
      type = argv[++i];
    } else if (strcmp(argv[i], "--no-wait") == 0) {
      wait = 0;
    } else {
      fprintf(stderr, "altinn-broker: events subscribe: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  ab_error err;
  ab_broker *b;
  const char *org, *res;
  ab_subscription s;
  if (ab_inbox_admin_target(vfs, argv[2], &b, &org, &res, &err) < 0 ||
      ab_events_subscribe(b, argv[3], res, org, type, &s, &err) < 0) {
    fprintf(stderr, "altinn-broker: events subscribe: %s\n", err.message);
    return 1;
  }
  /* Altinn validates the endpoint asynchronously (a validation event it
   * must answer with 2xx); wait a little to report the outcome. */
  for (int i = 0; wait && !s.validated && i < 20; i++) {
    sleep_ms(500);
    ab_subscription again;
    if (ab_events_subscription(b, s.id, &again, &err) == 0) {
      s = again;
    }
  }
  if (ctx->json) {
    cJSON *o = subscription_json(&s);
    char *text = cJSON_PrintUnformatted(o);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(o);
  } else {
    print_subscription(&s);
    if (!s.validated) {
      printf("not validated yet: Altinn sends a validation event to %s, which must answer 2xx "
             "(altinn-broker events serve does); events are delivered only after that\n",
             s.endpoint);
    }
  }
  return 0;
}

/* events list [MOUNT]: the subscriptions of each client behind the inbox mounts. */
static int do_list(cli_context *ctx, ab_vfs *vfs, int argc, char **argv) {
  if (argc > 3) {
    fprintf(stderr, "usage: altinn-broker events list [MOUNT]\n");
    return 2;
  }
  cJSON *all = ctx->json ? cJSON_CreateArray() : NULL;
  const char *orgs_done[64];
  size_t n_done = 0;
  int rc = 0;
  for (size_t i = 0; i < ab_vfs_mount_count(vfs); i++) {
    const char *path = ab_vfs_mount_path(vfs, i);
    if (argc == 3 && strcmp(path, argv[2]) != 0) {
      continue;
    }
    ab_error err;
    ab_broker *b;
    const char *org, *res;
    if (ab_inbox_admin_target(vfs, path, &b, &org, &res, &err) < 0) {
      if (argc == 3) {
        fprintf(stderr, "altinn-broker: events list: %s\n", err.message);
        rc = 1;
      }
      continue;
    }
    int seen = 0;
    for (size_t k = 0; k < n_done; k++) {
      seen |= strcmp(orgs_done[k], org) == 0;
    }
    if (!ctx->json) {
      char status[256];
      ab_inbox_admin_status(vfs, i, status, sizeof(status));
      printf("%s (org %s, resource %s): %s\n", path, org, res, status);
    }
    if (seen || n_done == sizeof(orgs_done) / sizeof(orgs_done[0])) {
      continue;
    }
    orgs_done[n_done++] = org;
    ab_subscription *subs = NULL;
    size_t n = 0;
    if (ab_events_subscriptions(b, &subs, &n, &err) < 0) {
      fprintf(stderr, "altinn-broker: events list: %s\n", err.message);
      rc = 1;
      continue;
    }
    for (size_t k = 0; k < n; k++) {
      if (all != NULL) {
        cJSON_AddItemToArray(all, subscription_json(&subs[k]));
      } else {
        printf("  ");
        print_subscription(&subs[k]);
      }
    }
    if (n == 0 && all == NULL) {
      printf("  no subscriptions (the inbox learns of new files by pulling events or by search)\n");
    }
    free(subs);
  }
  if (all != NULL) {
    char *text = cJSON_PrintUnformatted(all);
    printf("%s\n", text);
    cJSON_free(text);
    cJSON_Delete(all);
  }
  return rc;
}

/* events delete MOUNT ID */
static int do_delete(ab_vfs *vfs, int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: altinn-broker events delete MOUNT ID\n");
    return 2;
  }
  char *end = NULL;
  long id = strtol(argv[3], &end, 10);
  if (*argv[3] == '\0' || *end != '\0' || id <= 0) {
    fprintf(stderr, "altinn-broker: events delete: '%s' is not a subscription id\n", argv[3]);
    return 2;
  }
  ab_error err;
  ab_broker *b;
  const char *org, *res;
  if (ab_inbox_admin_target(vfs, argv[2], &b, &org, &res, &err) < 0 ||
      ab_events_unsubscribe(b, id, &err) < 0) {
    fprintf(stderr, "altinn-broker: events delete: %s\n", err.message);
    return 1;
  }
  printf("deleted subscription %ld\n", id);
  return 0;
}

int cli_cmd_events(cli_context *ctx, int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: altinn-broker events subscribe|list|delete|serve ...\n");
    return 2;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "serve") == 0) {
    return cli_events_serve(ctx, argc, argv);
  }
  if (strcmp(sub, "subscribe") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "delete") != 0) {
    fprintf(stderr, "altinn-broker: events: unknown subcommand '%s' "
            "(subscribe, list, delete, serve)\n", sub);
    return 2;
  }
  ab_vfs *vfs = cli_open_session(ctx);
  if (vfs == NULL) {
    return 1;
  }
  int rc = strcmp(sub, "subscribe") == 0 ? do_subscribe(ctx, vfs, argc, argv)
         : strcmp(sub, "list") == 0 ? do_list(ctx, vfs, argc, argv)
         : do_delete(vfs, argc, argv);
  ab_vfs_free(vfs);
  return rc;
}
