/* emu_resource_api.c - PUT and GET /broker/api/v1/resource/{resourceId}
 * (broker-api.md §3.10), scope altinn:serviceowner.
 *
 * PUT, in the service's order: JSON model binding (ValidationProblemDetails,
 * including the class-level manifest-shim rule), then the resource: not in
 * the Resource Registry (config) -> 403 BRO-00005; caller is not its owner
 * -> 401 BRO-00006; first configuration of a resource whose service owner
 * was never initialized -> 400 BRO-00024; then each given value (11, 12,
 * 13 in production, 22; 14, 15; 17, 18). Only non-null values change
 * anything, all or nothing; success is 204 (Ok(null)).
 *
 * GET shows the settings with the service's quirk: durations in .NET
 * TimeSpan text ("30.00:00:00"), not ISO-8601. 400 BRO-00025 when the
 * resource was never configured, 401 BRO-00006 for anyone but its owner.
 */
#include <stdio.h>
#include <string.h>

#include "emu_clock.h"
#include "emu_endpoints.h"
#include "emu_problem.h"
#include "emu_registry.h"

#define SERVICEOWNER_SCOPE "altinn:serviceowner"
#define MAX_SCAN_SIZE ((int64_t)50 * 1000 * 1000 * 1000)    /* 50 GB */
#define MAX_UPLOAD_SIZE ((int64_t)32 * 50000 * 1024 * 1024) /* ~1.6 TB, "100GB" in the message */
#define MAX_TTL_US ((int64_t)365 * 86400 * 1000000)
#define MAX_GRACE_US ((int64_t)24 * 3600 * 1000000)

/* The values of one ResourceExt body; *_given = present and not null. */
typedef struct resource_ext {
  bool max_given, ttl_given, purge_given, grace_given, shim_given, code_given, edition_given,
      party_given;
  int64_t max_size;
  const char *ttl, *grace, *code, *party;
  bool purge, shim;
  int edition;
} resource_ext;

static void type_error(cJSON *errors, const cJSON *it, const char *type)
{
  char key[300], msg[400];
  snprintf(key, sizeof key, "$.%s", it->string);
  snprintf(msg, sizeof msg, "The JSON value could not be converted to %s. Path: $.%s", type,
           it->string);
  emu_problem_add(errors, key, msg);
}

/* A JSON integer (no fraction) within +-limit. */
static bool is_integer(const cJSON *it, double limit)
{
  double v = it->valuedouble;
  return cJSON_IsNumber(it) && v <= limit && v >= -limit && (double)(int64_t)v == v;
}

/* The property (any case) when present and not null. */
static const cJSON *item(const cJSON *body, const char *name)
{
  const cJSON *it = cJSON_GetObjectItem(body, name);
  return it && !cJSON_IsNull(it) ? it : NULL;
}

static void bind_body(const cJSON *body, resource_ext *x, cJSON *errors)
{
  const cJSON *it;
  if ((it = item(body, "maxFileTransferSize"))) {
    if (is_integer(it, 9.2e18)) {
      x->max_given = true;
      x->max_size = (int64_t)it->valuedouble;
    } else {
      type_error(errors, it, "System.Nullable`1[System.Int64]");
    }
  }
  const struct {
    const char *name;
    const char **out;
    bool *given;
  } strings[] = {{"fileTransferTimeToLive", &x->ttl, &x->ttl_given},
                 {"purgeFileTransferGracePeriod", &x->grace, &x->grace_given},
                 {"externalServiceCodeLegacy", &x->code, &x->code_given},
                 {"requiredParty", &x->party, &x->party_given}};
  for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
    if (!(it = item(body, strings[i].name)))
      continue;
    if (cJSON_IsString(it)) {
      *strings[i].out = it->valuestring;
      *strings[i].given = true;
    } else {
      type_error(errors, it, "System.String");
    }
  }
  const struct {
    const char *name;
    bool *out;
    bool *given;
  } bools[] = {{"purgeFileTransferAfterAllRecipientsConfirmed", &x->purge, &x->purge_given},
               {"useManifestFileShim", &x->shim, &x->shim_given}};
  for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
    if (!(it = item(body, bools[i].name)))
      continue;
    if (cJSON_IsBool(it)) {
      *bools[i].out = cJSON_IsTrue(it);
      *bools[i].given = true;
    } else {
      type_error(errors, it, "System.Nullable`1[System.Boolean]");
    }
  }
  if ((it = item(body, "externalServiceEditionCodeLegacy"))) {
    if (is_integer(it, 2147483647.0)) {
      x->edition = (int)it->valuedouble;
      x->edition_given = true;
    } else {
      type_error(errors, it, "System.Nullable`1[System.Int32]");
    }
  }
  /* [ValidateUseManifestFileShim] on the class: its errors have the key "" */
  if (cJSON_GetArraySize(errors) == 0 && x->shim_given && x->shim) {
    if (!x->code_given || !*x->code)
      emu_problem_add(errors, "", "ExternalServiceCodeLegacy must be set and not be an empty string.");
    else if (!x->edition_given || x->edition == 0)
      emu_problem_add(errors, "", "ExternalServiceEditionCodeLegacy must be set and not be zero.");
  }
}

/* The BRO code for the first bad value (0 when all are fine); new
 * settings in *s. */
static int validate(const resource_ext *x, emu_resource_settings *s)
{
  emu_knobs k;
  emu_knobs_get(&k);
  if (x->max_given) {
    if (x->max_size < 0)
      return 11;
    if (x->max_size == 0)
      return 12;
    if (k.production && !s->approved_without_scan && x->max_size > MAX_SCAN_SIZE)
      return 13;
    if (x->max_size > MAX_UPLOAD_SIZE)
      return 22;
    s->max_size = x->max_size;
  }
  int64_t us;
  if (x->ttl_given) {
    if (!emu_duration_parse_xs(x->ttl, &us))
      return 14;
    if (us > MAX_TTL_US)
      return 15;
    s->ttl_set = true;
    s->ttl_us = us;
  }
  if (x->grace_given) {
    if (!emu_duration_parse_xs(x->grace, &us))
      return 17;
    if (us > MAX_GRACE_US)
      return 18;
    s->grace_set = true;
    s->grace_us = us;
  }
  if (x->purge_given)
    s->purge_after_confirm = x->purge;
  if (x->code_given)
    snprintf(s->service_code, sizeof s->service_code, "%s", x->code);
  if (x->edition_given) {
    s->edition_set = true;
    s->edition = x->edition;
  }
  if (x->shim_given)
    s->manifest_shim = x->shim;
  if (x->party_given)
    snprintf(s->required_party, sizeof s->required_party, "%s", x->party);
  return 0;
}

static void put_finish(emu_request *r)
{
  if (!emu_http_consumes(r, "application/json"))
    return;
  cJSON *body = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  cJSON *errors = cJSON_CreateObject();
  resource_ext x = {0};
  if (r->body_len == 0) {
    emu_problem_add(errors, "", "A non-empty request body is required.");
  } else if (!cJSON_IsObject(body)) {
    emu_problem_add(errors, "$", "The JSON value could not be converted to Altinn.Broker.Models.ResourceExt.");
    emu_problem_add(errors, "resourceExt", "The resourceExt field is required.");
  } else {
    bind_body(body, &x, errors);
  }
  if (cJSON_GetArraySize(errors) > 0) {
    emu_problem_validation(r, errors);
    cJSON_Delete(body);
    return;
  }
  cJSON_Delete(errors);

  const emu_resource *res = emu_config_resource(r->cfg, r->sub);
  emu_resource_settings s;
  if (res)
    emu_registry_settings(res, &s);
  int code = 0;
  if (!res)
    emu_problem(r, 403, 5, NULL); /* not in the Resource Registry */
  else if (strcmp(res->owner, r->caller.org) != 0)
    emu_problem(r, 401, 6, NULL);
  else if (!s.configured && emu_registry_owner_state(res->owner) == EMU_OWNER_NONE)
    emu_problem(r, 400, 24, NULL);
  else if ((code = validate(&x, &s)) != 0)
    emu_problem(r, 400, code, NULL);
  else {
    s.configured = true;
    emu_registry_settings_set(res, &s);
    emu_reply_empty(r, 204);
  }
  cJSON_Delete(body);
}

const emu_endpoint emu_ep_resource_put = {
    .name = "resource",
    .method = "PUT",
    .flags = EMU_F_BROKER | EMU_F_JSON,
    .scope_a = SERVICEOWNER_SCOPE,
    .finish = put_finish,
};

static void add_duration(cJSON *o, const char *key, bool set, int64_t us)
{
  char text[48];
  if (!set) {
    cJSON_AddNullToObject(o, key);
    return;
  }
  emu_duration_timespan(us, text, sizeof text);
  cJSON_AddStringToObject(o, key, text);
}

static void add_string(cJSON *o, const char *key, const char *v)
{
  if (*v)
    cJSON_AddStringToObject(o, key, v);
  else
    cJSON_AddNullToObject(o, key);
}

static void get_finish(emu_request *r)
{
  const emu_resource *res = emu_config_resource(r->cfg, r->sub);
  emu_resource_settings s;
  if (res)
    emu_registry_settings(res, &s);
  if (!res || !s.configured) {
    emu_problem(r, 400, 25, NULL);
    return;
  }
  if (strcmp(res->owner, r->caller.org) != 0) {
    emu_problem(r, 401, 6, NULL);
    return;
  }
  /* ResourceExt, camelCase, nulls written out */
  cJSON *o = cJSON_CreateObject();
  if (s.max_size >= 0)
    cJSON_AddNumberToObject(o, "maxFileTransferSize", (double)s.max_size);
  else
    cJSON_AddNullToObject(o, "maxFileTransferSize");
  add_duration(o, "fileTransferTimeToLive", s.ttl_set, s.ttl_us);
  cJSON_AddBoolToObject(o, "purgeFileTransferAfterAllRecipientsConfirmed", s.purge_after_confirm);
  add_duration(o, "purgeFileTransferGracePeriod", s.grace_set, s.grace_us);
  if (s.manifest_shim < 0)
    cJSON_AddNullToObject(o, "useManifestFileShim");
  else
    cJSON_AddBoolToObject(o, "useManifestFileShim", s.manifest_shim);
  add_string(o, "externalServiceCodeLegacy", s.service_code);
  if (s.edition_set)
    cJSON_AddNumberToObject(o, "externalServiceEditionCodeLegacy", s.edition);
  else
    cJSON_AddNullToObject(o, "externalServiceEditionCodeLegacy");
  add_string(o, "requiredParty", s.required_party);
  emu_reply_json(r, 200, o);
}

const emu_endpoint emu_ep_resource_get = {
    .name = "resource",
    .method = "GET",
    .flags = EMU_F_BROKER | EMU_F_JSON,
    .scope_a = SERVICEOWNER_SCOPE,
    .finish = get_finish,
};
