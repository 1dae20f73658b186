/* ab_problem.c - ProblemDetails parsing and errno mapping (see ab_problem.h). */
#include "ab_problem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "ab_json.h"

/* Appends "text" to dst (joined with sep when dst is not empty), truncating. */
static void append(char *dst, size_t dst_len, const char *sep, const char *text) {
  size_t used = strlen(dst);
  if (used + 1 >= dst_len) {
    return;
  }
  if (used > 0) {
    snprintf(dst + used, dst_len - used, "%s", sep);
    used = strlen(dst);
  }
  ab_json_copy_text(dst + used, dst_len - used, text);
}

/* Joins a ValidationProblemDetails `errors` map: "Field: msg; Field2: msg". */
static void join_validation_errors(const cJSON *errors, char *dst, size_t dst_len) {
  const cJSON *field = NULL;
  cJSON_ArrayForEach(field, errors) {
    const char *name = field->string != NULL ? field->string : "";
    if (cJSON_IsString(field)) {
      char one[400];
      snprintf(one, sizeof(one), "%s: %s", name, field->valuestring);
      append(dst, dst_len, "; ", one);
      continue;
    }
    const cJSON *msg = NULL;
    cJSON_ArrayForEach(msg, field) {
      if (cJSON_IsString(msg)) {
        char one[400];
        snprintf(one, sizeof(one), "%s: %s", name, msg->valuestring);
        append(dst, dst_len, "; ", one);
      }
    }
  }
}

int ab_problem_parse(const char *body, size_t len, ab_problem *out) {
  memset(out, 0, sizeof(*out));
  if (body == NULL || len == 0) {
    return 0;
  }
  cJSON *root = cJSON_ParseWithLength(body, len);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    return 0;
  }
  ab_json_copy_string(root, "code", out->code, sizeof(out->code));
  /* A code is an identifier: keep only printable ASCII, drop it otherwise. */
  for (const char *p = out->code; *p != '\0'; p++) {
    if (*p <= ' ' || *p > '~') {
      out->code[0] = '\0';
      break;
    }
  }
  ab_json_copy_string(root, "title", out->title, sizeof(out->title));
  const cJSON *errors = cJSON_GetObjectItem(root, "errors");
  if (cJSON_IsObject(errors)) {
    join_validation_errors(errors, out->detail, sizeof(out->detail));
  }
  if (out->detail[0] == '\0') {
    ab_json_copy_string(root, "detail", out->detail, sizeof(out->detail));
  }
  cJSON_Delete(root);
  return 1;
}

int ab_problem_errno(long status, const char *code) {
  switch (status) {
  case 400:
    return (code != NULL && strcmp(code, "BRO-00016") == 0) ? EFBIG : EINVAL;
  case 401:
  case 403:
    return EACCES;
  case 404:
    return ENOENT;
  case 409:
    return EEXIST;
  case 413:
    return EFBIG;
  case 416:
    return EINVAL;
  default:
    return EIO;
  }
}

/* A short, single-line, printable excerpt of a plain-text body. */
static void text_excerpt(const ab_http_response *resp, char *dst, size_t dst_len) {
  dst[0] = '\0';
  if (resp->body == NULL || resp->body_len == 0 ||
      strncasecmp(resp->content_type, "text/plain", 10) != 0) {
    return;
  }
  size_t n = resp->body_len < dst_len - 1 ? resp->body_len : dst_len - 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)resp->body[i];
    dst[i] = (c < ' ' || c == 0x7f) ? ' ' : (char)c;
  }
  dst[n] = '\0';
}

int ab_problem_set_error(ab_error *err, const char *op, const ab_http_response *resp) {
  ab_problem p;
  ab_problem_parse(resp->body, resp->body_len, &p);
  long status = resp->status;
  int e = ab_problem_errno(status, p.code);
  const char *what = p.detail[0] != '\0' ? p.detail : p.title;
  char excerpt[200];
  if (what[0] == '\0') {
    text_excerpt(resp, excerpt, sizeof(excerpt));
    what = excerpt;
  }
  if (what[0] == '\0') {
    switch (status) {
    case 401:
      what = "the access token was rejected";
      break;
    case 403:
      what = "access denied (the token lacks the scope altinn:broker.read or altinn:broker.write)";
      break;
    case 429:
      what = "rate limit exceeded";
      break;
    default:
      what = "no error details";
      break;
    }
  }
  char codepart[40] = "";
  if (p.code[0] != '\0') {
    snprintf(codepart, sizeof(codepart), " %s", p.code);
  }
  if (status == 429) {
    ab_error_set_http(err, e, (int)status, p.code,
                      "Broker refused %s (HTTP 429%s): %s; retry after %s s",
                      op, codepart, what,
                      resp->retry_after[0] != '\0' ? resp->retry_after : "?");
  } else {
    ab_error_set_http(err, e, (int)status, p.code, "Broker refused %s (HTTP %ld%s): %s",
                      op, status, codepart, what);
  }
  if (err != NULL && (status == 429 || status == 503)) {
    /* delta-seconds only; an HTTP-date or junk counts as absent */
    char *end = NULL;
    long s = strtol(resp->retry_after, &end, 10);
    if (resp->retry_after[0] != '\0' && *end == '\0' && s > 0 && s < 86400) {
      err->retry_after_s = (int)s;
    }
  }
  return -1;
}
