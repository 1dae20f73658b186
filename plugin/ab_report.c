/* ab_report.c - one record per transfer: the log line an admin greps for,
 * the metrics an operator graphs, and the ab_report the gateway puts in its
 * own transfer log. Every upload, download and confirm goes through
 * ab_vfs_report exactly once, so the three always agree. */
#include "ab_vfs_internal.h"

#include <stdio.h>
#include <string.h>

void ab_vfs_set_reporter(ab_vfs *vfs, ab_report_fn fn, void *ctx) {
  vfs->report = fn;
  vfs->report_ctx = ctx;
}

void ab_vfs_set_progress(ab_vfs *vfs, void (*fn)(void *ctx, long long sent, long long total),
                         void *ctx) {
  ab_http_set_progress(vfs->http, fn, ctx);
}

/* The failure's cause as a short, stable token for a metrics label and a
 * log field: the service's code when it gave one, else the HTTP status,
 * else the errno's name. */
static void cause_of(const ab_error *err, char *out, size_t size) {
  if (err->code[0] != '\0') {
    snprintf(out, size, "%s", err->code);
  } else if (err->http_status != 0) {
    snprintf(out, size, "http_%d", err->http_status);
  } else {
    const char *name = strerrorname_np(err->err_no);
    snprintf(out, size, "%s", name != NULL ? name : "unknown");
  }
}

void ab_vfs_report(ab_vfs *vfs, const char *op, const char *outcome, const ab_mount *m,
                   const char *name, const char *id, long long bytes, const ab_error *err) {
  const char *org = m->client->cfg->org;
  const char *resource = m->cfg->resource_id;
  char cause[32] = "";
  if (err != NULL) {
    cause_of(err, cause, sizeof(cause));
  }
  /* key=value, so the line can be parsed; the file name is quoted because
   * it is the client's (or another organisation's) choice. */
  ab_vfs_logf(vfs, err != NULL ? AB_LOG_ERROR : AB_LOG_NOTICE,
              "transfer %s %s: user=%s mount=%s file=\"%s\" fileTransferId=%s org=%s resource=%s "
              "bytes=%lld%s%s%s%s%s", op, outcome, vfs->user ? vfs->user : "-", m->cfg->path, name,
              id != NULL && id[0] != '\0' ? id : "-", org, resource, bytes,
              err != NULL ? " cause=" : "", cause, err != NULL ? " reason=\"" : "",
              err != NULL ? err->message : "", err != NULL ? "\"" : "");
  ab_metrics_count(vfs->metrics, "altinn_broker_transfers_total", 1, "op", op, "outcome", outcome,
                   "org", org, "resource", resource, NULL);
  if (bytes > 0) {
    ab_metrics_count(vfs->metrics, "altinn_broker_transfer_bytes_total", (double) bytes,
                     "op", op, "org", org, "resource", resource, NULL);
  }
  if (err != NULL) {
    ab_metrics_count(vfs->metrics, "altinn_broker_transfer_failures_total", 1, "op", op,
                     "cause", cause, "org", org, NULL);
  }
  if (vfs->report != NULL) {
    ab_report r = {
      .op = op, .outcome = outcome, .mount = m->cfg->path, .name = name,
      .file_transfer_id = id != NULL ? id : "", .org = org, .resource = resource,
      .bytes = bytes, .cause = cause, .reason = err != NULL ? err->message : "",
    };
    vfs->report(vfs->report_ctx, &r);
  }
  ab_vfs_flush_metrics(vfs);
}

void ab_vfs_flush_metrics(ab_vfs *vfs) {
  if (vfs->shared == NULL || ab_metrics_empty(vfs->metrics)) {
    return;
  }
  cJSON *req = cJSON_CreateObject();
  cJSON *counts = ab_metrics_to_json(vfs->metrics);
  if (req == NULL || counts == NULL) {
    cJSON_Delete(req);
    cJSON_Delete(counts);
    return;
  }
  cJSON_AddStringToObject(req, "op", "metrics_add");
  cJSON_AddItemToObject(req, "counts", counts);
  ab_error err;
  cJSON *reply = ab_shared_call(vfs->shared, req, &err);
  if (reply == NULL) {
    /* Counts are not worth failing or retrying a transfer for; they stay
     * here and go with the next flush. */
    ab_vfs_logf(vfs, AB_LOG_DEBUG, "metrics not handed to the agent: %s", err.message);
    return;
  }
  cJSON_Delete(reply);
  ab_metrics_clear(vfs->metrics);
}
