/* emu_statistics.c - GET /broker/api/v1/statistics/monthly (broker-api.md
 * §3.11): the service owner's monthly CSV, scope altinn:serviceowner,
 * [Produces("text/csv")].
 *
 * ?year=&month=[&resourceId=][&includeEndUser=true][&includeVendor=false]
 * Errors: 400 BRO-06003 (year/month out of range), 400 BRO-06005 (both
 * include flags false), 400 BRO-00025 / 401 BRO-00006 for a resourceId
 * that is not configured / not the caller's. One row per (resource, sender,
 * recipient, sender vendor, recipient vendor) of the owner's transfers that
 * were published in the month or had recipient activity in it, counted the
 * way the service's rollup counts: transfers created in the month, uploads
 * published in it, DownloadStarted entries, and confirmations in it.
 * Vendors are the organisations of the clients that initialized the
 * transfer / last acted as the recipient.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "emu_endpoints.h"
#include "emu_problem.h"
#include "emu_registry.h"
#include "emu_store.h"

#define SERVICEOWNER_SCOPE "altinn:serviceowner"

typedef struct row {
  const char *resource;
  char sender[24], recipient[24], sender_vendor[24], recipient_vendor[24];
  long total, uploads, attempts, confirmed;
} row;

typedef struct table {
  row *rows;
  size_t n, cap;
} table;

static void with_prefix(char out[24], const char *org)
{
  if (org && *org)
    snprintf(out, 24, "0192:%s", org);
  else
    out[0] = '\0';
}

static row *row_for(table *tb, const row *key)
{
  for (size_t i = 0; i < tb->n; i++) {
    row *x = &tb->rows[i];
    if (strcmp(x->resource, key->resource) == 0 && strcmp(x->sender, key->sender) == 0 &&
        strcmp(x->recipient, key->recipient) == 0 &&
        strcmp(x->sender_vendor, key->sender_vendor) == 0 &&
        strcmp(x->recipient_vendor, key->recipient_vendor) == 0)
      return x;
  }
  if (tb->n == tb->cap) {
    size_t nc = tb->cap ? tb->cap * 2 : 16;
    row *nr = realloc(tb->rows, nc * sizeof *nr);
    if (!nr)
      return NULL;
    tb->rows = nr;
    tb->cap = nc;
  }
  tb->rows[tb->n] = *key;
  return &tb->rows[tb->n++];
}

static int cmp_row(const void *a, const void *b)
{
  const row *x = a, *y = b;
  int c;
  if ((c = strcmp(x->resource, y->resource)) || (c = strcmp(x->sender, y->sender)) ||
      (c = strcmp(x->sender_vendor, y->sender_vendor)) || (c = strcmp(x->recipient, y->recipient)))
    return c;
  return strcmp(x->recipient_vendor, y->recipient_vendor);
}

static bool in(int64_t at, int64_t from, int64_t to) { return at >= from && at < to; }

/* Adds t's (transfer, recipient) pairs active in [from, to) to tb. */
static void count_transfer(table *tb, const emu_transfer *t, int64_t from, int64_t to,
                           bool end_user, bool vendor)
{
  bool published = false;
  for (size_t h = 0; h < t->nhist; h++)
    published = published || (t->hist[h].status == EMU_FT_PUBLISHED && in(t->hist[h].at, from, to));
  for (size_t i = 0; i < t->nrecipients; i++) {
    bool active = false;
    long attempts = 0, confirmed = 0;
    const char *rvendor = "";
    int64_t rvendor_at = 0;
    for (size_t h = 0; h < t->nrhist; h++) {
      const emu_rstatus_entry *e = &t->rhist[h];
      if (e->recipient != i || !in(e->at, from, to))
        continue;
      active = true;
      attempts += e->status == EMU_RS_DOWNLOAD_STARTED;
      confirmed = confirmed || e->status == EMU_RS_DOWNLOAD_CONFIRMED;
      if (e->vendor[0] && e->at >= rvendor_at) {
        rvendor = e->vendor;
        rvendor_at = e->at;
      }
    }
    if (!active && !published)
      continue;
    row key = {.resource = t->resource->id};
    if (end_user) {
      with_prefix(key.sender, t->sender_org);
      with_prefix(key.recipient, t->recipients[i].org);
    }
    if (vendor) {
      with_prefix(key.sender_vendor, t->sender_vendor);
      with_prefix(key.recipient_vendor, rvendor);
    }
    row *x = row_for(tb, &key);
    if (!x)
      return;
    x->total += in(t->created, from, to);
    x->uploads += published;
    x->attempts += attempts;
    x->confirmed += confirmed;
  }
}

/* A query int as ASP.NET binds it; absent = 0. */
static bool query_int(const char *s, long *out)
{
  *out = 0;
  if (!s || !*s)
    return true;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*end || errno || v < -2147483648L || v > 2147483647L)
    return false;
  *out = v;
  return true;
}

static bool query_bool(const char *s, bool def, bool *out)
{
  *out = def;
  if (!s || !*s)
    return true;
  if (strcasecmp(s, "true") != 0 && strcasecmp(s, "false") != 0)
    return false;
  *out = strcasecmp(s, "true") == 0;
  return true;
}

static void invalid(cJSON *errors, const char *field, const char *value)
{
  char msg[300];
  snprintf(msg, sizeof msg, "The value '%.200s' is not valid for %s.", value, field);
  emu_problem_add(errors, field, msg);
}

static char *csv(const table *tb, long year, long month)
{
  size_t cap = 256 + tb->n * 512, len = 0;
  char *out = malloc(cap);
  if (!out)
    return NULL;
  len += (size_t)snprintf(out, cap,
                          "year,month,resourceId,senderVendor,recipientVendor,sender,recipient,"
                          "totalFileTransfers,uploadCount,totalTransferDownloadAttempts,"
                          "transfersWithDownloadConfirmed\n");
  for (size_t i = 0; i < tb->n; i++) {
    const row *x = &tb->rows[i];
    /* resource ids and org numbers never contain , " or newlines: no quoting */
    len += (size_t)snprintf(out + len, cap - len, "%ld,%ld,%s,%s,%s,%s,%s,%ld,%ld,%ld,%ld\n", year,
                            month, x->resource, x->sender_vendor, x->recipient_vendor, x->sender,
                            x->recipient, x->total, x->uploads, x->attempts, x->confirmed);
  }
  return out;
}

static void monthly_finish(emu_request *r)
{
  const char *s_year = emu_query(r, "year"), *s_month = emu_query(r, "month");
  const char *s_end_user = emu_query(r, "includeEndUser"), *s_vendor = emu_query(r, "includeVendor");
  const char *resource_id = emu_query(r, "resourceId");
  long year, month;
  bool end_user, vendor;
  cJSON *errors = cJSON_CreateObject();
  if (!query_int(s_year, &year))
    invalid(errors, "Year", s_year);
  if (!query_int(s_month, &month))
    invalid(errors, "Month", s_month);
  if (!query_bool(s_end_user, true, &end_user))
    invalid(errors, "IncludeEndUser", s_end_user);
  if (!query_bool(s_vendor, false, &vendor))
    invalid(errors, "IncludeVendor", s_vendor);
  if (cJSON_GetArraySize(errors) > 0) {
    emu_problem_validation(r, errors);
    return;
  }
  cJSON_Delete(errors);
  if (year < 1 || year > 9999 || month < 1 || month > 12 || (year == 9999 && month == 12)) {
    emu_problem(r, 400, 6003, NULL);
    return;
  }
  if (!end_user && !vendor) {
    emu_problem(r, 400, 6005, NULL);
    return;
  }
  if (!r->caller.org[0]) {
    emu_problem(r, 401, 6, NULL);
    return;
  }
  const emu_resource *only = NULL;
  if (resource_id && *resource_id) {
    only = emu_config_resource(r->cfg, resource_id);
    emu_resource_settings rs = {0};
    if (only)
      emu_registry_settings(only, &rs);
    if (!only || !rs.configured) {
      emu_problem(r, 400, 25, NULL);
      return;
    }
    if (strcmp(only->owner, r->caller.org) != 0) {
      emu_problem(r, 401, 6, NULL);
      return;
    }
  }

  struct tm tm = {.tm_year = (int)year - 1900, .tm_mon = (int)month - 1, .tm_mday = 1};
  int64_t from = (int64_t)timegm(&tm) * 1000000;
  tm = (struct tm){.tm_year = (int)year - 1900, .tm_mon = (int)month, .tm_mday = 1};
  int64_t to = (int64_t)timegm(&tm) * 1000000;
  table tb = {0};
  emu_store_lock();
  for (size_t i = 0; i < emu_store_count(); i++) {
    const emu_transfer *t = emu_store_at(i);
    if (strcmp(t->resource->owner, r->caller.org) == 0 && (!only || t->resource == only))
      count_transfer(&tb, t, from, to, end_user, vendor);
  }
  emu_store_unlock();
  qsort(tb.rows, tb.n, sizeof *tb.rows, cmp_row);
  char *text = csv(&tb, year, month);
  free(tb.rows);
  if (!text) {
    emu_problem(r, 500, 0, NULL);
    return;
  }
  char disp[512];
  snprintf(disp, sizeof disp,
           "attachment; filename=monthly_statistics_%s_%04ld-%02ld.csv; "
           "filename*=UTF-8''monthly_statistics_%s_%04ld-%02ld.csv",
           only ? only->id : "all-resources", year, month, only ? only->id : "all-resources", year,
           month);
  emu_reply(r, 200, "text/csv", text, strlen(text));
  MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
  free(text);
}

const emu_endpoint emu_ep_statistics_monthly = {
    .name = "statistics",
    .method = "GET",
    .flags = EMU_F_BROKER,
    .produces = "text/csv",
    .scope_a = SERVICEOWNER_SCOPE,
    .finish = monthly_finish,
};
