/* emu_problem.c - see emu_problem.h. */
#include "emu_problem.h"

#include <stdio.h>
#include <string.h>

static const struct {
  unsigned status;
  const char *title;
  const char *section;
} titles[] = {
    {400, "Bad Request", "15.5.1"},       {401, "Unauthorized", "15.5.2"},
    {403, "Forbidden", "15.5.4"},         {404, "Not Found", "15.5.5"},
    {405, "Method Not Allowed", "15.5.6"}, {409, "Conflict", "15.5.10"},
    {413, "Content Too Large", "15.5.14"}, {415, "Unsupported Media Type", "15.5.16"},
    {416, "Range Not Satisfiable", "15.5.17"},
    {429, "Too Many Requests", "6.6"},    {500, "Internal Server Error", "15.6.1"},
    {502, "Bad Gateway", "15.6.3"},       {503, "Service Unavailable", "15.6.4"},
    {504, "Gateway Timeout", "15.6.5"},
};

static const char *texts[] = {
    [1] = "The requested file transfer was not found",
    [2] = "Service owner needs to be configured to use the broker API",
    [3] = "No file uploaded yet",
    [4] = "A file transfer has already been, or attempted to be, created. Create a new file "
          "transfer resource to try again.",
    [5] = "The resource needs to be registered as an Altinn 3 resource and it has to be "
          "associated with a service owner",
    [6] = "You must use a bearer token that represents a system user with access to the resource "
          "in the Resource Rights Registry",
    [7] = "The requested file transfer's file is not ready for download. See file transfer status.",
    [8] = "Error occurred while uploading file See /details for more information.",
    [9] = "The checksum of uploaded file did not match the checksum specified in initialize call.",
    [10] = "A file transfer can only be confirmed to be downloaded when it is published. See file "
           "transfer status.",
    [11] = "Max file transfer size cannot be negative",
    [12] = "Max file transfer size cannot be zero",
    [13] = "Max file transfer size cannot be set higher than 50GB in production unless the resource "
           "has been pre-approved for disabled virus scan. Contact us @ Slack.",
    [14] = "Invalid file transfer time to live format. Should follow ISO8601 standard for duration. "
           "Example: 'P30D' for 30 days.",
    [15] = "Time to live cannot exceed 365 days",
    [16] = "File size exceeds maximum",
    [17] = "Invalid grace period format. Should follow ISO8601 standard for duration. Example: "
           "'PT2H' for 2 hours.",
    [18] = "Grace period cannot exceed 24 hours",
    [19] = "Cannot confirm before the files have been downloaded",
    [20] = "In order to use file transfers without virus scan the service resource needs to be "
           "approved by Altinn. Please contact us @ Slack.",
    [21] = "Storage provider is not ready yet. Please try again later.",
    [22] = "Max file transfer size cannot be set higher than 100GB in production because it has "
           "not yet been tested for it. Contact us @ Slack if you need it.",
    [24] = "The service owner associated with the resource has not been configured.",
    [25] = "The resource has not been configured.",
    [26] = "The resource requires the service owner party to be present as part of the "
           "transaction.",
    [27] = "When required party is specified and the required party is not the sender, the number "
           "of recipients can only be one.",
    [28] = "All recipients need to be in the access list of the resource.",
    [29] = "The requested byte range is not satisfiable.",
};

/* Statistics (60xx) and service-owner (70xx) errors the emulator can give. */
static const struct {
  int code;
  const char *text;
} more_texts[] = {
    {6003, "Invalid year or month. Provide a valid year and a month between 1 and 12."},
    {6005, "At least one of includeEndUser or includeVendor must be true."},
    {7001, "Caller organization id could not be determined"},
    {7002, "Service owner already exists"},
    {7004, "Service owner not found"},
};

const char *emu_problem_text(int code)
{
  if (code > 0 && (size_t)code < sizeof texts / sizeof texts[0] && texts[code])
    return texts[code];
  for (size_t i = 0; i < sizeof more_texts / sizeof more_texts[0]; i++)
    if (more_texts[i].code == code)
      return more_texts[i].text;
  return "An error occurred while processing your request.";
}

static void title_for(unsigned status, const char **title, char *type, size_t typelen)
{
  *title = "Error";
  const char *section = "15";
  for (size_t i = 0; i < sizeof titles / sizeof titles[0]; i++) {
    if (titles[i].status == status) {
      *title = titles[i].title;
      section = titles[i].section;
    }
  }
  if (status == 429)
    snprintf(type, typelen, "https://tools.ietf.org/html/rfc6585#section-%s", section);
  else
    snprintf(type, typelen, "https://tools.ietf.org/html/rfc9110#section-%s", section);
}

static void reply_problem_json(emu_request *r, unsigned status, cJSON *j)
{
  /* JSON endpoints answer application/json, the rest application/problem+json */
  const char *ctype = r->ep && (r->ep->flags & EMU_F_JSON) ? "application/json; charset=utf-8"
                                                           : "application/problem+json; charset=utf-8";
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  emu_reply(r, status, ctype, text ? text : "{}", text ? strlen(text) : 2);
  cJSON_free(text);
}

void emu_problem(emu_request *r, unsigned status, int code, const char *detail)
{
  if (emu_replied(r))
    return;
  const char *title;
  char type[96];
  title_for(status, &title, type, sizeof type);
  if (status == 500 && code == 0)
    title = "An error occurred while processing your request.";
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "type", type);
  cJSON_AddStringToObject(j, "title", title);
  cJSON_AddNumberToObject(j, "status", status);
  cJSON_AddStringToObject(j, "detail", detail ? detail : emu_problem_text(code));
  if (code > 0) {
    char c[16];
    snprintf(c, sizeof c, "BRO-%05d", code);
    cJSON_AddStringToObject(j, "code", c);
  }
  cJSON_AddStringToObject(j, "traceId", r->trace_id);
  reply_problem_json(r, status, j);
}

void emu_problem_status(emu_request *r, unsigned status)
{
  if (emu_replied(r))
    return;
  const char *title;
  char type[96];
  title_for(status, &title, type, sizeof type);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "type", type);
  cJSON_AddStringToObject(j, "title", title);
  cJSON_AddNumberToObject(j, "status", status);
  cJSON_AddStringToObject(j, "traceId", r->trace_id);
  reply_problem_json(r, status, j);
}

void emu_problem_validation(emu_request *r, cJSON *errors)
{
  if (emu_replied(r)) {
    cJSON_Delete(errors);
    return;
  }
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "type", "https://tools.ietf.org/html/rfc9110#section-15.5.1");
  cJSON_AddStringToObject(j, "title", "One or more validation errors occurred.");
  cJSON_AddNumberToObject(j, "status", 400);
  cJSON_AddItemToObject(j, "errors", errors);
  cJSON_AddStringToObject(j, "traceId", r->trace_id);
  reply_problem_json(r, 400, j);
}

void emu_problem_add(cJSON *errors, const char *field, const char *message)
{
  cJSON *arr = cJSON_GetObjectItemCaseSensitive(errors, field);
  if (!arr)
    arr = cJSON_AddArrayToObject(errors, field);
  cJSON_AddItemToArray(arr, cJSON_CreateString(message));
}
