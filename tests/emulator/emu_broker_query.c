/* emu_broker_query.c - overview, details and search (broker-api.md §3.4-3.6). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_broker.h"
#include "emu_clock.h"
#include "emu_endpoints.h"
#include "emu_problem.h"

#define SEARCH_MAX 100

static void view(emu_request *r, bool details)
{
  cJSON *j = NULL;
  emu_store_lock();
  emu_transfer *t = emu_broker_find(r);
  if (t) {
    if (emu_broker_is_sender(r, t) || emu_broker_recipient(r, t) >= 0)
      j = emu_broker_transfer_json(t, details);
    else
      emu_problem(r, 401, 6, NULL);
  }
  emu_store_unlock();
  if (j)
    emu_reply_json(r, 200, j);
}

static void overview_finish(emu_request *r) { view(r, false); }
static void details_finish(emu_request *r) { view(r, true); }

const emu_endpoint emu_ep_overview = {
    .name = "overview",
    .method = "GET",
    .flags = EMU_F_BROKER | EMU_F_JSON | EMU_F_RATE,
    .scope_a = EMU_SCOPE_WRITE,
    .scope_b = EMU_SCOPE_READ,
    .finish = overview_finish,
};

const emu_endpoint emu_ep_details = {
    .name = "details",
    .method = "GET",
    .flags = EMU_F_BROKER | EMU_F_JSON | EMU_F_RATE,
    .scope_a = EMU_SCOPE_WRITE,
    .scope_b = EMU_SCOPE_READ,
    .finish = details_finish,
};

/* ---- search ---- */

typedef struct hit {
  int64_t at;
  uint64_t seq;
  char id[37];
} hit;

static int cmp_hit(const void *a, const void *b, void *arg)
{
  bool order_asc = *(const bool *)arg;
  const hit *x = a, *y = b;
  int c = x->at < y->at ? -1 : x->at > y->at ? 1 : (x->seq < y->seq ? -1 : x->seq > y->seq);
  return order_asc ? c : -c;
}

/* Time the transfer last entered status, 0 if never. */
static int64_t entered(const emu_transfer *t, int status)
{
  for (size_t i = t->nhist; i > 0; i--)
    if (t->hist[i - 1].status == status)
      return t->hist[i - 1].at;
  return 0;
}

static bool parse_bool(const char *s, bool *out)
{
  if (strcasecmp(s, "true") == 0)
    *out = true;
  else if (strcasecmp(s, "false") == 0)
    *out = false;
  else
    return false;
  return true;
}

static void invalid_value(cJSON *errors, const char *field, const char *value)
{
  char msg[256];
  snprintf(msg, sizeof msg, "The value '%.200s' is not valid.", value);
  emu_problem_add(errors, field, msg);
}

static void search_finish(emu_request *r)
{
  cJSON *errors = cJSON_CreateObject();
  const char *resource_id = emu_query(r, "resourceId");
  const char *s_status = emu_query(r, "status");
  const char *s_rstatus = emu_query(r, "recipientStatus");
  const char *s_from = emu_query(r, "from");
  const char *s_to = emu_query(r, "to");
  const char *s_asc = emu_query(r, "orderAscending");
  const char *s_role = emu_query(r, "role");
  int status = -1, rstatus = -1, role = -1; /* role: 0 Sender, 1 Recipient */
  int64_t from = 0, to = 0;
  bool asc = false;
  if (!resource_id || !*resource_id)
    emu_problem_add(errors, "resourceId", "The resourceId field is required.");
  if (s_status && *s_status && (status = emu_ft_status_parse(s_status)) < 0)
    invalid_value(errors, "status", s_status);
  if (s_rstatus && *s_rstatus && (rstatus = emu_rs_status_parse(s_rstatus)) < 0)
    invalid_value(errors, "recipientStatus", s_rstatus);
  if (s_from && *s_from && !emu_clock_parse_iso(s_from, &from))
    invalid_value(errors, "from", s_from);
  if (s_to && *s_to && !emu_clock_parse_iso(s_to, &to))
    invalid_value(errors, "to", s_to);
  if (s_asc && *s_asc && !parse_bool(s_asc, &asc))
    invalid_value(errors, "orderAscending", s_asc);
  if (s_role && *s_role) {
    if (strcasecmp(s_role, "Sender") == 0 || strcmp(s_role, "0") == 0)
      role = 0;
    else if (strcasecmp(s_role, "Recipient") == 0 || strcmp(s_role, "1") == 0)
      role = 1;
    else
      invalid_value(errors, "role", s_role);
  }
  if (cJSON_GetArraySize(errors) > 0) {
    emu_problem_validation(r, errors);
    return;
  }
  cJSON_Delete(errors);
  bool has_from = s_from && *s_from, has_to = s_to && *s_to;

  const emu_resource *res = emu_config_resource(r->cfg, resource_id);
  if (!res) {
    emu_problem(r, 403, 5, NULL);
    return;
  }
  unsigned acts = emu_resource_actions(res, r->caller.org);
  if (!r->caller.org[0] || (acts & (EMU_ACT_READ | EMU_ACT_WRITE)) != (EMU_ACT_READ | EMU_ACT_WRITE)) {
    emu_problem(r, 401, 6, NULL);
    return;
  }
  char actor[24];
  snprintf(actor, sizeof actor, "0192:%s", r->caller.org);

  emu_store_lock();
  size_t n = emu_store_count(), nh = 0;
  hit *hits = calloc(n ? n : 1, sizeof *hits);
  for (size_t i = 0; hits && i < n; i++) {
    const emu_transfer *t = emu_store_at(i);
    if (strcmp(t->resource->id, res->id) != 0)
      continue;
    long ri = emu_store_recipient_index(t, r->caller.org);
    if (rstatus >= 0) {
      /* recipient-only query on the caller's own recipient status */
      if (ri < 0 || t->recipients[ri].status != rstatus)
        continue;
    } else {
      bool as_sender = strcmp(t->sender, actor) == 0; /* literal: URN senders are not found */
      bool as_recipient = ri >= 0;
      if (role == 0 ? !as_sender : role == 1 ? !as_recipient : !(as_sender || as_recipient))
        continue;
    }
    if (status >= 0 && t->status != status)
      continue;
    int64_t at = status >= 0 ? entered(t, status) : t->created;
    if (has_from && has_to ? (at < from || at > to) : has_from ? at <= from : has_to ? at >= to : false)
      continue;
    hits[nh].at = at;
    hits[nh].seq = t->seq;
    memcpy(hits[nh].id, t->id, sizeof hits[nh].id);
    nh++;
  }
  emu_store_unlock();
  if (hits)
    qsort_r(hits, nh, sizeof *hits, cmp_hit, &asc);
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; i < nh && i < SEARCH_MAX; i++)
    cJSON_AddItemToArray(arr, cJSON_CreateString(hits[i].id));
  free(hits);
  emu_reply_json(r, 200, arr);
}

const emu_endpoint emu_ep_search = {
    .name = "search",
    .method = "GET",
    .flags = EMU_F_BROKER | EMU_F_JSON | EMU_F_RATE,
    .scope_a = EMU_SCOPE_WRITE,
    .scope_b = EMU_SCOPE_READ,
    .finish = search_finish,
};
