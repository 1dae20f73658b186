/* emu_broker_init.c - POST /broker/api/v1/filetransfer (broker-api.md §3.1).
 *
 * Order as in the service: model validation (ValidationProblemDetails with
 * every failing field), then PDP write for the sender party (401
 * BRO-00006, also for an unknown resource), resource configured (25),
 * service owner (2), virus-scan approval in production (20), storage
 * provisioned (503, 21), access list (28), requiredParty (27/26).
 * Recipients are stored as "0192:<orgnr>", the sender exactly as given.
 * The multipart initialize+upload (emu_broker_multipart.c) runs the same
 * steps through emu_broker_initialize().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_auth.h"
#include "emu_broker.h"
#include "emu_endpoints.h"
#include "emu_problem.h"

#define PARTY_MSG                                                                                 \
  "Organization numbers should be on the form countrycode:organizationnumber (e.g. "              \
  "0192:910753614) or urn:altinn:organization:identifier-no:organizationnumber"
#define RECIPIENT_MSG                                                                             \
  "Each recipient should be on the form countrycode:organizationnumber (e.g. 0192:910753614) or " \
  "urn:altinn:organization:identifier-no:organizationnumber"

/* Model error keys: C# property names, under "Metadata." for the form. */
static void add_error(cJSON *errors, const char *prefix, const char *field, const char *msg)
{
  char key[96];
  snprintf(key, sizeof key, "%s%s", prefix, field);
  emu_problem_add(errors, key, msg);
}

/* A string field: absent/null -> NULL; wrong JSON type -> conversion error. */
static const char *get_string(const cJSON *body, const char *name, cJSON *errors)
{
  const cJSON *it = cJSON_GetObjectItem(body, name);
  if (!it || cJSON_IsNull(it))
    return NULL;
  if (!cJSON_IsString(it)) {
    char path[64], msg[160];
    snprintf(path, sizeof path, "$.%s", name);
    snprintf(msg, sizeof msg, "The JSON value could not be converted to System.String. Path: $.%s",
             name);
    emu_problem_add(errors, path, msg);
    return NULL;
  }
  return it->valuestring;
}

static void check_length(cJSON *errors, const char *prefix, const char *field, const char *v,
                         size_t min, size_t max, bool required)
{
  char msg[200];
  if (!v || (!*v && required)) {
    if (required) {
      snprintf(msg, sizeof msg, "The %s field is required.", field);
      add_error(errors, prefix, field, msg);
      return;
    }
    v = ""; /* the model's default for an omitted optional string */
  }
  size_t n = strlen(v);
  if (n < min || n > max) {
    snprintf(msg, sizeof msg,
             "The field %s must be a string with a minimum length of %zu and a maximum length of "
             "%zu.",
             field, min, max);
    add_error(errors, prefix, field, msg);
  }
}

bool emu_broker_initialize(emu_request *r, const cJSON *body, cJSON *errors, const char *prefix,
                           char id_out[37])
{
  const char *file_name = get_string(body, "fileName", errors);
  const char *resource_id = get_string(body, "resourceId", errors);
  const char *ref = get_string(body, "sendersFileTransferReference", errors);
  const char *sender = get_string(body, "sender", errors);
  const char *checksum = get_string(body, "checksum", errors);
  check_length(errors, prefix, "FileName", file_name, 1, 255, true);
  check_length(errors, prefix, "ResourceId", resource_id, 1, 255, true);
  check_length(errors, prefix, "SendersFileTransferReference", ref, 1, 4096, false);

  /* resourceId: bare id or urn:altinn:resource:<id> */
  const char *res_id = resource_id;
  if (res_id && strncmp(res_id, "urn:altinn:resource:", 20) == 0)
    res_id += 20;
  if (res_id && *res_id && strchr(res_id, ':'))
    add_error(errors, prefix, "ResourceId",
                    "ResourceId must be the resource identifier or urn:altinn:resource:<identifier>");

  char sender_org[16] = "";
  if (!sender || !*sender)
    add_error(errors, prefix, "Sender", "The Sender field is required.");
  else if (!emu_broker_party(sender, sender_org))
    add_error(errors, prefix, "Sender", PARTY_MSG);

  const cJSON *recips = cJSON_GetObjectItem(body, "recipients");
  size_t nrecips = 0;
  if (recips && !cJSON_IsNull(recips) && !cJSON_IsArray(recips)) {
    emu_problem_add(errors, "$.recipients",
                    "The JSON value could not be converted to System.Collections.Generic.List`1[System.String]. Path: $.recipients");
  } else if (!cJSON_IsArray(recips) || cJSON_GetArraySize(recips) == 0) {
    add_error(errors, prefix, "Recipients", "One or more recipients are required");
  } else {
    const cJSON *it;
    bool bad = false;
    cJSON_ArrayForEach(it, recips)
    {
      char org[16];
      if (!cJSON_IsString(it) || !emu_broker_party(it->valuestring, org))
        bad = true;
      nrecips++;
    }
    if (bad)
      add_error(errors, prefix, "Recipients", RECIPIENT_MSG);
  }

  const cJSON *props = cJSON_GetObjectItem(body, "propertyList");
  if (props && !cJSON_IsNull(props)) {
    if (!cJSON_IsObject(props)) {
      emu_problem_add(errors, "$.propertyList",
                      "The JSON value could not be converted to System.Collections.Generic.Dictionary`2[System.String,System.String]. Path: $.propertyList");
    } else {
      if (cJSON_GetArraySize(props) > 10)
        add_error(errors, prefix, "PropertyList", "PropertyList can contain at most 10 properties");
      const cJSON *it;
      cJSON_ArrayForEach(it, props)
      {
        if (!cJSON_IsString(it)) {
          emu_problem_add(errors, "$.propertyList",
                          "The JSON value could not be converted to System.String. Path: $.propertyList");
          break;
        }
        if (strlen(it->string) > 50)
          add_error(errors, prefix, "PropertyList", "PropertyList keys can have a maximum length of 50 characters");
        if (strlen(it->valuestring) > 3000)
          add_error(errors, prefix, "PropertyList", "PropertyList values can have a maximum length of 3000 characters");
      }
    }
  }

  if (checksum && *checksum) {
    if (strlen(checksum) != 32) {
      add_error(errors, prefix, "Checksum",
                      "The checksum, if used, must be a MD5 hash with a length of 32 characters");
    } else {
      for (const char *p = checksum; *p; p++)
        if (*p >= 'A' && *p <= 'Z') {
          add_error(errors, prefix, "Checksum", "The checksum, if used, must be a MD5 hash in lower case");
          break;
        }
    }
  }
  const cJSON *dvs = cJSON_GetObjectItem(body, "disableVirusScan");
  if (dvs && !cJSON_IsNull(dvs) && !cJSON_IsBool(dvs))
    emu_problem_add(errors, "$.disableVirusScan",
                    "The JSON value could not be converted to System.Nullable`1[System.Boolean]. Path: $.disableVirusScan");

  if (cJSON_GetArraySize(errors) > 0) {
    emu_problem_validation(r, errors);
    return false;
  }
  cJSON_Delete(errors);

  if (!ref)
    ref = "";
  if (strlen(ref) > 500) {
    /* the attribute allows 4096 but the database column is varchar(500) */
    emu_problem(r, 500, 0, "An error occurred while processing your request.");
    return false;
  }

  const emu_resource *res = emu_config_resource(r->cfg, res_id);
  emu_resource_settings rs = {0};
  if (res)
    emu_registry_settings(res, &rs);
  const char *required = emu_strip_prefix(rs.required_party);
  bool disable_scan = cJSON_IsTrue(dvs);
  emu_knobs knobs;
  emu_knobs_get(&knobs);
  if (!res || strcmp(r->caller.org, sender_org) != 0 ||
      !(emu_resource_actions(res, r->caller.org) & EMU_ACT_WRITE)) {
    emu_problem(r, 401, 6, NULL);
  } else if (!rs.configured) {
    emu_problem(r, 400, 25, NULL);
  } else if (emu_registry_owner_state(res->owner) == EMU_OWNER_NONE) {
    emu_problem(r, 400, 2, NULL);
  } else if (disable_scan && knobs.production && !rs.approved_without_scan) {
    emu_problem(r, 400, 20, NULL);
  } else {
    emu_broker_storage_ready(r, res); /* 503 BRO-00021 while provisioning */
  }
  char (*orgs)[16] = calloc(nrecips ? nrecips : 1, sizeof *orgs);
  size_t norgs = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, recips)
  {
    char org[16];
    emu_broker_party(it->valuestring, org);
    bool dup = false;
    for (size_t i = 0; i < norgs; i++)
      dup = dup || strcmp(orgs[i], org) == 0;
    if (!dup)
      strcpy(orgs[norgs++], org);
  }
  for (size_t i = 0; !emu_replied(r) && i < norgs; i++)
    if (!emu_resource_in_access_list(res, orgs[i]))
      emu_problem(r, 400, 28, NULL);
  if (!emu_replied(r) && *required && strcmp(required, sender_org) != 0) {
    if (norgs != 1)
      emu_problem(r, 400, 27, NULL);
    else if (strcmp(orgs[0], required) != 0)
      emu_problem(r, 400, 26, NULL);
  }

  if (!emu_replied(r)) {
    emu_store_lock();
    emu_transfer *t = emu_store_new(res);
    if (t) {
      t->file_name = strdup(file_name);
      t->ref = strdup(ref);
      t->sender = strdup(sender);
      snprintf(t->sender_org, sizeof t->sender_org, "%s", sender_org);
      snprintf(t->sender_vendor, sizeof t->sender_vendor, "%s", r->caller.vendor);
      t->recipients = calloc(norgs, sizeof *t->recipients);
      for (size_t i = 0; i < norgs; i++) {
        char id[24];
        snprintf(id, sizeof id, "0192:%s", orgs[i]);
        t->recipients[i].id = strdup(id);
        snprintf(t->recipients[i].org, sizeof t->recipients[i].org, "%s", orgs[i]);
      }
      t->nrecipients = norgs;
      t->property_list = cJSON_IsObject(props) ? cJSON_Duplicate(props, 1) : cJSON_CreateObject();
      if (checksum && *checksum) {
        snprintf(t->checksum, sizeof t->checksum, "%s", checksum);
        t->checksum_given = true;
      }
      t->use_virus_scan = !disable_scan;
      emu_store_set_status(t, EMU_FT_INITIALIZED, NULL);
      for (size_t i = 0; i < norgs; i++)
        emu_store_set_recipient_status(t, i, EMU_RS_INITIALIZED, NULL);
      memcpy(id_out, t->id, 37);
    }
    emu_store_unlock();
    if (!t)
      emu_problem(r, 500, 0, NULL);
  }
  free(orgs);
  return !emu_replied(r);
}

static void initialize_finish(emu_request *r)
{
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  cJSON *errors = cJSON_CreateObject();
  char id[37];
  if (!cJSON_IsObject(body)) {
    emu_problem_add(errors, "request", "The request field is required.");
    if (r->body_len > 0)
      emu_problem_add(errors, "$", "The JSON value could not be converted to FileTransferInitalizeExt.");
    emu_problem_validation(r, errors);
  } else if (emu_broker_initialize(r, body, errors, "", id)) {
    cJSON *resp = cJSON_CreateObject();
    cJSON_AddStringToObject(resp, "fileTransferId", id);
    emu_reply_json(r, 200, resp);
  }
  cJSON_Delete(body);
}

const emu_endpoint emu_ep_initialize = {
    .name = "initialize",
    .method = "POST",
    .flags = EMU_F_BROKER | EMU_F_JSON | EMU_F_RATE,
    .scope_a = EMU_SCOPE_WRITE,
    .finish = initialize_finish,
};
