/* ab_receipts.c - receipt names, content and freshness (see ab_receipts.h). */
#include "ab_receipts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static int is_final(const char *status) {
  return strcmp(status, "Failed") == 0 || strcmp(status, "Purged") == 0 ||
         strcmp(status, "Cancelled") == 0;
}

void ab_receipt_name(const ab_journal_entry *list, size_t n, size_t i, char *out, size_t outsz) {
  (void) n;
  for (size_t j = 0; j < i; j++) {
    if (strcmp(list[j].name, list[i].name) == 0) {
      snprintf(out, outsz, "%s~%.8s.json", list[i].name, list[i].id);
      return;
    }
  }
  snprintf(out, outsz, "%s.json", list[i].name);
}

long ab_receipt_find(const ab_journal_entry *list, size_t n, const char *name) {
  char candidate[300];
  for (size_t i = 0; i < n; i++) {
    ab_receipt_name(list, n, i, candidate, sizeof(candidate));
    if (strcmp(candidate, name) == 0) {
      return (long) i;
    }
  }
  return -1;
}

static void iso_time(time_t t, char out[32]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

char *ab_receipt_render(const ab_journal_entry *e, const char *mount_path) {
  cJSON *o = cJSON_CreateObject();
  if (o == NULL) {
    return NULL;
  }
  char path[600], when[32];
  snprintf(path, sizeof(path), "%s/%s%s%s", mount_path, e->dir, e->dir[0] ? "/" : "", e->name);
  cJSON_AddStringToObject(o, "fileName", e->name);
  cJSON_AddStringToObject(o, "path", path);
  cJSON_AddStringToObject(o, "fileTransferId", e->id);
  cJSON_AddStringToObject(o, "status", e->status[0] ? e->status : "Unknown");
  cJSON_AddStringToObject(o, "statusText", e->status_text);
  cJSON_AddNumberToObject(o, "size", (double) e->size);
  cJSON_AddStringToObject(o, "md5", e->md5);
  cJSON_AddStringToObject(o, "sendersFileTransferReference", e->reference);
  iso_time(e->sent, when);
  cJSON_AddStringToObject(o, "sent", when);
  if (e->checked > 0) {
    iso_time(e->checked, when);
    cJSON_AddStringToObject(o, "checked", when);
  } else {
    cJSON_AddNullToObject(o, "checked");
  }
  cJSON *rcpts = cJSON_AddArrayToObject(o, "recipients");
  /* recipients "0192:a,0192:b"; statuses "0192:a=Initialized,..." */
  char list[sizeof(e->recipients)];
  snprintf(list, sizeof(list), "%s", e->recipients);
  char *save = NULL;
  for (char *r = strtok_r(list, ",", &save); r != NULL && rcpts != NULL; r = strtok_r(NULL, ",", &save)) {
    const char *status = "Unknown";
    char want[40];
    snprintf(want, sizeof(want), "%s=", r);
    const char *hit = strstr(e->recipient_status, want);
    char found[32] = "";
    if (hit != NULL) {
      hit += strlen(want);
      size_t len = strcspn(hit, ",");
      snprintf(found, sizeof(found), "%.*s", (int) len, hit);
      status = found;
    }
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "recipient", r);
    cJSON_AddStringToObject(item, "status", status);
    cJSON_AddItemToArray(rcpts, item);
  }
  if (e->duplicate_of[0] != '\0') {
    cJSON_AddStringToObject(o, "duplicateOf", e->duplicate_of);
  }
  cJSON_AddBoolToObject(o, "final", is_final(e->status));
  char *text = cJSON_Print(o);
  cJSON_Delete(o);
  if (text == NULL) {
    return NULL;
  }
  size_t len = strlen(text);
  char *out = malloc(len + 2);
  if (out != NULL) {
    memcpy(out, text, len);
    out[len] = '\n';
    out[len + 1] = '\0';
  }
  cJSON_free(text);
  return out;
}

int ab_receipt_stale(const ab_journal_entry *e, time_t now) {
  return !is_final(e->status) && now - e->checked >= AB_RECEIPT_REFRESH_S;
}

void ab_receipt_apply(ab_journal_entry *e, const ab_transfer *t, time_t now) {
  snprintf(e->status, sizeof(e->status), "%s", t->status);
  snprintf(e->status_text, sizeof(e->status_text), "%s", t->status_text);
  size_t o = 0;
  e->recipient_status[0] = '\0';
  for (size_t i = 0; i < t->n_recipients; i++) {
    int n = snprintf(e->recipient_status + o, sizeof(e->recipient_status) - o, "%s%s=%s",
                     i ? "," : "", t->recipients[i].recipient, t->recipients[i].status);
    if (n < 0 || (size_t) n >= sizeof(e->recipient_status) - o) {
      break;
    }
    o += (size_t) n;
  }
  e->checked = now;
}
