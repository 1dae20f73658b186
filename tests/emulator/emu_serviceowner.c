/* emu_serviceowner.c - POST and GET /broker/api/v1/serviceowner
 * (broker-api.md §3.9), scope altinn:serviceowner.
 *
 * POST initializes the caller's organisation as a service owner and starts
 * provisioning its storage (emu_registry.c): until that is Ready, the
 * owner's resources answer initialize/upload with 503 BRO-00021. The body
 * is {"name": ...}; unknown properties (the published example's
 * "DeletionTime") are ignored, as System.Text.Json does.
 */
#include <string.h>

#include "emu_endpoints.h"
#include "emu_problem.h"
#include "emu_registry.h"

#define SERVICEOWNER_SCOPE "altinn:serviceowner"

static void create_finish(emu_request *r)
{
  if (!emu_http_consumes(r, "application/json"))
    return;
  cJSON *body = r->body_len ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  const cJSON *name = cJSON_GetObjectItem(body, "name");
  cJSON *errors = cJSON_CreateObject();
  if (r->body_len == 0) {
    emu_problem_add(errors, "", "A non-empty request body is required.");
  } else if (!cJSON_IsObject(body)) {
    emu_problem_add(errors, "$", "The JSON value could not be converted to "
                                 "Altinn.Broker.Models.ServiceOwner.ServiceOwnerInitializeExt.");
    emu_problem_add(errors, "serviceOwnerInitializeExt",
                    "The serviceOwnerInitializeExt field is required.");
  } else if (!name) {
    emu_problem_add(errors, "$", "JSON deserialization for type "
                                 "'Altinn.Broker.Models.ServiceOwner.ServiceOwnerInitializeExt' "
                                 "was missing required properties, including the following: name");
  } else if (!cJSON_IsNull(name) && !cJSON_IsString(name)) {
    emu_problem_add(errors, "$.name", "The JSON value could not be converted to System.String. "
                                      "Path: $.name");
  } else if (!cJSON_IsString(name) || !*name->valuestring) {
    emu_problem_add(errors, "Name", "The Name field is required.");
  }
  if (cJSON_GetArraySize(errors) > 0) {
    emu_problem_validation(r, errors);
  } else {
    cJSON_Delete(errors);
    if (!r->caller.org[0])
      emu_problem(r, 400, 7001, NULL);
    else if (!emu_registry_owner_create(r->caller.org, name->valuestring))
      emu_problem(r, 409, 7002, NULL);
    else
      emu_reply_empty(r, 200);
  }
  cJSON_Delete(body);
}

const emu_endpoint emu_ep_serviceowner_create = {
    .name = "serviceowner",
    .method = "POST",
    .flags = EMU_F_BROKER, /* no [Produces]: no Accept check */
    .scope_a = SERVICEOWNER_SCOPE,
    .finish = create_finish,
};

static void get_finish(emu_request *r)
{
  if (!r->caller.org[0]) {
    emu_problem(r, 400, 7001, NULL);
    return;
  }
  cJSON *j = emu_registry_owner_json(r->caller.org);
  if (j)
    emu_reply_json(r, 200, j);
  else
    emu_problem(r, 404, 7004, NULL);
}

const emu_endpoint emu_ep_serviceowner_get = {
    .name = "serviceowner",
    .method = "GET",
    .flags = EMU_F_BROKER | EMU_F_JSON,
    .scope_a = SERVICEOWNER_SCOPE,
    .finish = get_finish,
};
