/* cli_status.c - `altinn-broker status ID`: what became of one transfer, as
 * the Broker sees it now (for support: "was my file delivered?", and for
 * scripts with --json). Exit 0 when the Broker knows the transfer, 1 when
 * it does not or cannot be asked. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ab_status.h"
#include "cli.h"

static void iso_time(time_t t, char *out, size_t size) {
  if (t == 0) {
    snprintf(out, size, "-");
    return;
  }
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_json(const ab_transfer *t, const char *org) {
  cJSON *o = cJSON_CreateObject();
  char ts[32];
  cJSON_AddStringToObject(o, "fileTransferId", t->id);
  cJSON_AddStringToObject(o, "fileName", t->file_name);
  cJSON_AddStringToObject(o, "resourceId", t->resource_id);
  cJSON_AddStringToObject(o, "sender", t->sender);
  cJSON_AddStringToObject(o, "sendersFileTransferReference", t->senders_reference);
  cJSON_AddStringToObject(o, "status", t->status);
  cJSON_AddStringToObject(o, "statusText", t->status_text);
  cJSON_AddNumberToObject(o, "size", (double) t->size);
  cJSON_AddStringToObject(o, "checksum", t->checksum);
  iso_time(t->created, ts, sizeof(ts));
  cJSON_AddStringToObject(o, "created", ts);
  iso_time(t->published, ts, sizeof(ts));
  cJSON_AddStringToObject(o, "published", ts);
  iso_time(t->expires, ts, sizeof(ts));
  cJSON_AddStringToObject(o, "expires", ts);
  cJSON *rs = cJSON_AddArrayToObject(o, "recipients");
  for (size_t i = 0; i < t->n_recipients; i++) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "recipient", t->recipients[i].recipient);
    cJSON_AddStringToObject(r, "status", t->recipients[i].status);
    cJSON_AddItemToArray(rs, r);
  }
  cJSON *ps = cJSON_AddObjectToObject(o, "propertyList");
  for (size_t i = 0; i < t->n_properties; i++) {
    cJSON_AddStringToObject(ps, t->properties[i].key, t->properties[i].value);
  }
  cJSON_AddStringToObject(o, "askedAs", org);
  char *text = cJSON_Print(o);
  printf("%s\n", text ? text : "{}");
  cJSON_free(text);
  cJSON_Delete(o);
}

static void print_human(const ab_transfer *t, const char *org) {
  char created[32], published[32], expires[32], changed[32];
  iso_time(t->created, created, sizeof(created));
  iso_time(t->published, published, sizeof(published));
  iso_time(t->expires, expires, sizeof(expires));
  iso_time(t->status_changed, changed, sizeof(changed));
  printf("fileTransferId  %s\n", t->id);
  printf("file            %s (%lld bytes%s%s)\n", t->file_name, t->size,
         t->checksum[0] ? ", MD5 " : "", t->checksum);
  printf("resource        %s\n", t->resource_id);
  printf("sender          %s\n", t->sender);
  if (t->senders_reference[0]) {
    printf("reference       %s\n", t->senders_reference);
  }
  printf("status          %s since %s%s%s%s\n", t->status, changed,
         t->status_text[0] ? " (" : "", t->status_text, t->status_text[0] ? ")" : "");
  printf("created         %s\npublished       %s\nexpires         %s\n", created, published, expires);
  for (size_t i = 0; i < t->n_recipients; i++) {
    printf("%s %-20s %s\n", i == 0 ? "recipients     " : "               ",
           t->recipients[i].recipient, t->recipients[i].status);
  }
  for (size_t i = 0; i < t->n_properties; i++) {
    printf("%s %s=%s\n", i == 0 ? "properties     " : "               ",
           t->properties[i].key, t->properties[i].value);
  }
  printf("asked as        organisation %s\n", org);
}

int cli_cmd_status(cli_context *ctx, int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: altinn-broker [-u USER] [-g GROUP] [--json] status FILE-TRANSFER-ID\n");
    return 2;
  }
  ab_vfs *vfs = cli_open_session(ctx);
  if (vfs == NULL) {
    return 1;
  }
  ab_transfer t;
  ab_error err;
  const char *org = NULL;
  int rc = 0;
  if (ab_vfs_transfer_status(vfs, argv[1], &t, &org, &err) < 0) {
    fprintf(stderr, "altinn-broker: status: %s\n", err.message);
    rc = 1;
  } else {
    if (ctx->json) {
      print_json(&t, org);
    } else {
      print_human(&t, org);
    }
    ab_transfer_clear(&t);
  }
  ab_vfs_free(vfs);
  return rc;
}
