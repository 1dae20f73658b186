/* emu_inspect.c - test-only endpoints under /_emulator/ (no auth).
 *
 *   GET  /_emulator/state   transfers, counters, events, subscriptions, knobs
 *   POST /_emulator/reset   forget transfers, events, subscriptions, counters,
 *                           rate-limit windows and faults; service owners and
 *                           resource settings go back to the config
 *   POST /_emulator/faults  queue faults (emu_faults.h) or {"clear":true}
 *   GET  /_emulator/faults  queued faults
 *   POST /_emulator/knobs   change knobs at run time; GET shows them
 *   POST /_emulator/clock   {"advanceSeconds":N} or {"advance":"P30D"} moves
 *                           the emulated clock forward; answers {"now":...}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_clock.h"
#include "emu_endpoints.h"
#include "emu_events.h"
#include "emu_faults.h"
#include "emu_hostile.h"
#include "emu_ratelimit.h"
#include "emu_registry.h"
#include "emu_stats.h"
#include "emu_store.h"
#include "emu_tokens.h"

#define INSPECT_FLAGS (EMU_F_NOFAULT | EMU_F_NOCOUNT)

static void add_time(cJSON *o, const char *key, int64_t us)
{
  char iso[EMU_ISO_LEN];
  if (!us) {
    cJSON_AddNullToObject(o, key);
    return;
  }
  emu_clock_iso(us, iso);
  cJSON_AddStringToObject(o, key, iso);
}

static cJSON *transfer_state(const emu_transfer *t)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "fileTransferId", t->id);
  cJSON_AddStringToObject(o, "fileName", t->file_name);
  cJSON_AddStringToObject(o, "resourceId", t->resource->id);
  cJSON_AddStringToObject(o, "sender", t->sender);
  cJSON_AddStringToObject(o, "sendersFileTransferReference", t->ref);
  cJSON_AddItemToObject(o, "propertyList", cJSON_Duplicate(t->property_list, 1));
  if (t->checksum_given)
    cJSON_AddStringToObject(o, "checksum", t->checksum);
  else
    cJSON_AddNullToObject(o, "checksum");
  if (t->stored_md5[0])
    cJSON_AddStringToObject(o, "storedMd5", t->stored_md5);
  else
    cJSON_AddNullToObject(o, "storedMd5");
  cJSON_AddNumberToObject(o, "size", (double)t->size);
  cJSON_AddBoolToObject(o, "useVirusScan", t->use_virus_scan);
  cJSON_AddBoolToObject(o, "hasFile", t->has_file);
  cJSON_AddStringToObject(o, "status", emu_ft_status_name(t->status));
  cJSON_AddStringToObject(o, "statusText", t->status_text ? t->status_text : emu_ft_status_text(t->status));
  cJSON *h = cJSON_AddArrayToObject(o, "statusHistory");
  for (size_t i = 0; i < t->nhist; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "status", emu_ft_status_name(t->hist[i].status));
    cJSON_AddStringToObject(e, "text", t->hist[i].text ? t->hist[i].text : emu_ft_status_text(t->hist[i].status));
    add_time(e, "at", t->hist[i].at);
    cJSON_AddItemToArray(h, e);
  }
  cJSON *rs = cJSON_AddArrayToObject(o, "recipients");
  for (size_t i = 0; i < t->nrecipients; i++) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "recipient", t->recipients[i].id);
    cJSON_AddStringToObject(e, "status", emu_rs_status_name(t->recipients[i].status));
    cJSON_AddItemToArray(rs, e);
  }
  add_time(o, "created", t->created);
  add_time(o, "published", t->published);
  add_time(o, "expirationTime", t->expiration);
  add_time(o, "purgeDue", t->purge_due);
  return o;
}

static void state_finish(emu_request *r)
{
  cJSON *j = cJSON_CreateObject();
  char iso[EMU_ISO_LEN];
  emu_clock_iso(emu_clock_now_us(), iso);
  cJSON_AddStringToObject(j, "now", iso);
  cJSON *arr = cJSON_AddArrayToObject(j, "transfers");
  emu_store_lock();
  for (size_t i = 0; i < emu_store_count(); i++)
    cJSON_AddItemToArray(arr, transfer_state(emu_store_at(i)));
  emu_store_unlock();
  emu_stats_add_json(j);
  emu_events_add_json(j);
  emu_registry_add_json(j);
  cJSON_AddItemToObject(j, "knobs", emu_knobs_json());
  cJSON_AddItemToObject(j, "faults", emu_faults_json());
  emu_reply_json(r, 200, j);
}

const emu_endpoint emu_ep_state = {
    .name = "state", .method = "GET", .flags = INSPECT_FLAGS, .finish = state_finish,
};

static void reset_finish(emu_request *r)
{
  emu_store_lock();
  emu_store_reset();
  emu_store_unlock();
  emu_events_reset();
  emu_registry_reset();
  emu_stats_reset();
  emu_ratelimit_reset();
  emu_faults_clear();
  emu_tokens_reset();
  emu_hostile_clear();
  emu_reply_empty(r, 204);
}

const emu_endpoint emu_ep_reset = {
    .name = "reset", .method = "POST", .flags = INSPECT_FLAGS, .finish = reset_finish,
};

static void bad_request(emu_request *r, const char *msg)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "error", msg);
  emu_reply_json(r, 400, j);
}

static void faults_finish(emu_request *r)
{
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  char err[160] = "body must be JSON";
  if (body && emu_faults_post(body, err, sizeof err))
    emu_reply_json(r, 200, emu_faults_json());
  else
    bad_request(r, err);
  cJSON_Delete(body);
}

const emu_endpoint emu_ep_faults = {
    .name = "faults", .method = "POST", .flags = INSPECT_FLAGS, .finish = faults_finish,
};

static void faults_list_finish(emu_request *r) { emu_reply_json(r, 200, emu_faults_json()); }

const emu_endpoint emu_ep_faults_list = {
    .name = "faults", .method = "GET", .flags = INSPECT_FLAGS, .finish = faults_list_finish,
};

static void knobs_finish(emu_request *r)
{
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  if (!cJSON_IsObject(body)) {
    bad_request(r, "body must be a JSON object of knobs");
  } else {
    emu_knobs_update(body);
    emu_reply_json(r, 200, emu_knobs_json());
  }
  cJSON_Delete(body);
}

const emu_endpoint emu_ep_knobs = {
    .name = "knobs", .method = "POST", .flags = INSPECT_FLAGS, .finish = knobs_finish,
};

static void knobs_get_finish(emu_request *r) { emu_reply_json(r, 200, emu_knobs_json()); }

const emu_endpoint emu_ep_knobs_get = {
    .name = "knobs", .method = "GET", .flags = INSPECT_FLAGS, .finish = knobs_get_finish,
};

static void clock_finish(emu_request *r)
{
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  const cJSON *secs = cJSON_GetObjectItem(body, "advanceSeconds");
  const cJSON *dur = cJSON_GetObjectItem(body, "advance");
  int64_t us = 0;
  if (cJSON_IsNumber(secs) && secs->valuedouble >= 0)
    us = (int64_t)(secs->valuedouble * 1e6);
  else if (!(cJSON_IsString(dur) && emu_duration_parse(dur->valuestring, &us)) && body &&
           cJSON_GetArraySize(body) > 0) {
    bad_request(r, "use {\"advanceSeconds\":N} or {\"advance\":\"P30D\"}");
    cJSON_Delete(body);
    return;
  }
  cJSON_Delete(body);
  emu_clock_advance(us);
  char iso[EMU_ISO_LEN];
  emu_clock_iso(emu_clock_now_us(), iso);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "now", iso);
  emu_reply_json(r, 200, j);
}

const emu_endpoint emu_ep_clock = {
    .name = "clock", .method = "POST", .flags = INSPECT_FLAGS, .finish = clock_finish,
};
