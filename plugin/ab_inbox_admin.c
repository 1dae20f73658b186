/* ab_inbox_admin.c - see ab_inbox_admin.h. */
#include "ab_inbox_admin.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ab_vfs_internal.h"

int ab_inbox_admin_target(ab_vfs *vfs, const char *path, ab_broker **broker,
                          const char **org, const char **resource_id, ab_error *err) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') {
    n--;
  }
  for (size_t i = 0; i < vfs->n_mounts; i++) {
    ab_mount *m = &vfs->mounts[i];
    if (strlen(m->cfg->path) == n && strncmp(m->cfg->path, path, n) == 0) {
      if (m->cfg->direction != AB_INBOX) {
        return ab_error_set(err, EINVAL, "%s is an outbox; events are about inboxes", m->cfg->path);
      }
      *broker = &m->client->broker;
      *org = m->client->cfg->org;
      *resource_id = m->cfg->resource_id;
      return 0;
    }
  }
  return ab_error_set(err, EINVAL, "%.*s is not a mount in the configuration", (int) n, path);
}

int ab_inbox_admin_event(ab_vfs *vfs, const cJSON *event, ab_error *err) {
  cJSON *req = cJSON_CreateObject();
  if (req == NULL || !cJSON_AddStringToObject(req, "op", "inbox_event") ||
      !cJSON_AddItemToObject(req, "event", cJSON_Duplicate(event, 1))) {
    cJSON_Delete(req);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  cJSON *reply = ab_shared_call(vfs->shared, req, err);
  if (reply == NULL) {
    return -1;
  }
  const cJSON *n = cJSON_GetObjectItem(reply, "feeds");
  int feeds = cJSON_IsNumber(n) ? n->valueint : 0;
  cJSON_Delete(reply);
  return feeds;
}

int ab_inbox_admin_work(ab_vfs *vfs, long wait_ms, int *background, ab_error *err) {
  cJSON *req = cJSON_CreateObject();
  if (req == NULL || !cJSON_AddStringToObject(req, "op", "inbox_work") ||
      !cJSON_AddNumberToObject(req, "wait_ms", (double) wait_ms)) {
    cJSON_Delete(req);
    return ab_error_set(err, ENOMEM, "out of memory");
  }
  cJSON *reply = ab_shared_call(vfs->shared, req, err);
  if (reply == NULL) {
    return -1;
  }
  const cJSON *due = cJSON_GetObjectItem(reply, "due_s");
  *background = cJSON_IsTrue(cJSON_GetObjectItem(reply, "background"));
  int d = cJSON_IsNumber(due) ? due->valueint : 1;
  cJSON_Delete(reply);
  return d;
}

static void format_age(char *out, size_t outsz, double when, time_t now) {
  if (when <= 0) {
    snprintf(out, outsz, "never");
  } else {
    snprintf(out, outsz, "%lds ago", (long) (now - (time_t) when));
  }
}

void ab_inbox_admin_status(ab_vfs *vfs, size_t i, char *out, size_t outsz) {
  out[0] = '\0';
  if (i >= vfs->n_mounts || vfs->mounts[i].cfg->direction != AB_INBOX) {
    return;
  }
  ab_mount *m = &vfs->mounts[i];
  cJSON *req = cJSON_CreateObject();
  if (req == NULL || !cJSON_AddStringToObject(req, "op", "inbox_status") ||
      !cJSON_AddStringToObject(req, "org", m->client->cfg->org) ||
      !cJSON_AddStringToObject(req, "resource", m->cfg->resource_id)) {
    cJSON_Delete(req);
    return;
  }
  ab_error err;
  cJSON *reply = ab_shared_call(vfs->shared, req, &err);
  if (reply == NULL) {
    snprintf(out, outsz, "status unknown: %s", err.message);
    return;
  }
  time_t now = time(NULL);
  char sweep[32], events[32];
  format_age(sweep, sizeof(sweep), cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "lastSweep")), now);
  format_age(events, sizeof(events), cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "lastEvents")), now);
  const char *mode = cJSON_GetStringValue(cJSON_GetObjectItem(reply, "events"));
  int pull = mode != NULL && strcmp(mode, "pull") == 0;
  snprintf(out, outsz, "%.0f listed, %.0f waiting for metadata; last reconciliation %s; "
           "events: %s%s%s", cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "listed")),
           cJSON_GetNumberValue(cJSON_GetObjectItem(reply, "pending")), sweep,
           mode ? mode : "?", pull ? ", last pulled " : "", pull ? events : "");
  cJSON_Delete(reply);
}
