/* emu_tokens.c - token clock offset and revocation (see emu_tokens.h). */
#include "emu_tokens.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "emu_endpoints.h"
#include "emu_util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long offset_s;
static double revoked_at;  /* tokens with iat <= this are revoked; 0 = none */
static double last_issued; /* latest iat handed out, so a revocation covers it
                            * whatever the offset was when it was issued */

double emu_token_now(void)
{
  pthread_mutex_lock(&mu);
  long off = offset_s;
  pthread_mutex_unlock(&mu);
  return (double)(emu_real_now_us() / 1000000 + off);
}

double emu_token_issue_time(void)
{
  double now = emu_token_now();
  pthread_mutex_lock(&mu);
  double after = revoked_at > 0 ? revoked_at + 1 : 0;
  double iat = now > after ? now : after;
  if (iat > last_issued)
    last_issued = iat;
  pthread_mutex_unlock(&mu);
  return iat;
}

bool emu_token_revoked(double iat)
{
  pthread_mutex_lock(&mu);
  bool r = revoked_at > 0 && iat <= revoked_at;
  pthread_mutex_unlock(&mu);
  return r;
}

void emu_tokens_date_header(struct MHD_Response *resp)
{
  pthread_mutex_lock(&mu);
  long off = offset_s;
  pthread_mutex_unlock(&mu);
  if (off == 0 || !resp)
    return;
  time_t t = (time_t)emu_token_now();
  struct tm tm;
  char date[64];
  gmtime_r(&t, &tm);
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_DATE, date);
}

void emu_tokens_reset(void)
{
  pthread_mutex_lock(&mu);
  offset_s = 0;
  revoked_at = 0;
  last_issued = 0;
  pthread_mutex_unlock(&mu);
}

static cJSON *tokens_json(void)
{
  cJSON *j = cJSON_CreateObject();
  pthread_mutex_lock(&mu);
  cJSON_AddNumberToObject(j, "clockOffsetSeconds", (double)offset_s);
  cJSON_AddNumberToObject(j, "revokedBefore", revoked_at);
  pthread_mutex_unlock(&mu);
  cJSON_AddNumberToObject(j, "now", emu_token_now());
  return j;
}

static void tokens_finish(emu_request *r)
{
  cJSON *body = r->body ? cJSON_ParseWithLength(r->body, r->body_len) : NULL;
  const cJSON *off = cJSON_GetObjectItem(body, "clockOffsetSeconds");
  const cJSON *revoke = cJSON_GetObjectItem(body, "revoke");
  if (!cJSON_IsObject(body) || (off && !cJSON_IsNumber(off)) || (revoke && !cJSON_IsBool(revoke)) ||
      (!off && !revoke)) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "error", "use {\"clockOffsetSeconds\":N} and/or {\"revoke\":true}");
    emu_reply_json(r, 400, e);
    cJSON_Delete(body);
    return;
  }
  if (off) {
    pthread_mutex_lock(&mu);
    offset_s = (long)off->valuedouble;
    pthread_mutex_unlock(&mu);
  }
  if (cJSON_IsTrue(revoke)) {
    double now = emu_token_now();
    pthread_mutex_lock(&mu);
    revoked_at = now > last_issued ? now : last_issued;
    pthread_mutex_unlock(&mu);
  }
  cJSON_Delete(body);
  emu_reply_json(r, 200, tokens_json());
}

static void tokens_get_finish(emu_request *r) { emu_reply_json(r, 200, tokens_json()); }

const emu_endpoint emu_ep_tokens = {
    .name = "tokens", .method = "POST", .flags = EMU_F_NOFAULT | EMU_F_NOCOUNT,
    .finish = tokens_finish,
};

const emu_endpoint emu_ep_tokens_get = {
    .name = "tokens", .method = "GET", .flags = EMU_F_NOFAULT | EMU_F_NOCOUNT,
    .finish = tokens_get_finish,
};
