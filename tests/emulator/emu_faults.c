/* emu_faults.c - see emu_faults.h. */
#include "emu_faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_util.h"

#define MAX_FAULTS 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static emu_fault faults[MAX_FAULTS];
static size_t nfaults;

static const char *kind_names[] = {
    [EMU_FAULT_NONE] = "none",         [EMU_FAULT_STATUS] = "status",
    [EMU_FAULT_LATENCY] = "latency",   [EMU_FAULT_RESET] = "reset",
    [EMU_FAULT_TRUNCATE] = "truncate", [EMU_FAULT_STALL] = "stall",
    [EMU_FAULT_BANDWIDTH] = "bandwidth",
};

static bool add_one(const cJSON *j, char *err, size_t errlen)
{
  emu_fault f = {0};
  const cJSON *it = cJSON_GetObjectItem(j, "endpoint");
  snprintf(f.endpoint, sizeof f.endpoint, "%s", cJSON_IsString(it) ? it->valuestring : "*");
  it = cJSON_GetObjectItem(j, "status");
  f.status = cJSON_IsNumber(it) ? it->valueint : 0;
  it = cJSON_GetObjectItem(j, "rate");
  f.rate = cJSON_IsNumber(it) ? it->valuedouble : 0;
  if (it && (!cJSON_IsNumber(it) || f.rate <= 0 || f.rate > 1)) {
    snprintf(err, errlen, "\"rate\" must be a number in (0, 1]");
    return false;
  }
  it = cJSON_GetObjectItem(j, "count");
  f.count = cJSON_IsNumber(it) ? it->valueint : f.rate > 0 ? -1 : 1;
  it = cJSON_GetObjectItem(j, "latencyMs");
  f.latency_ms = cJSON_IsNumber(it) ? (long)it->valuedouble : 0;
  it = cJSON_GetObjectItem(j, "afterBytes");
  f.after_bytes = cJSON_IsNumber(it) ? (int64_t)it->valuedouble : 0;
  it = cJSON_GetObjectItem(j, "bytesPerSecond");
  f.bytes_per_second = cJSON_IsNumber(it) ? (int64_t)it->valuedouble : 0;
  it = cJSON_GetObjectItem(j, "kind");
  if (cJSON_IsString(it)) {
    for (size_t k = 1; k < sizeof kind_names / sizeof kind_names[0]; k++)
      if (strcmp(it->valuestring, kind_names[k]) == 0)
        f.kind = (emu_fault_kind)k;
    if (f.kind == EMU_FAULT_NONE) {
      snprintf(err, errlen, "unknown fault kind \"%s\"", it->valuestring);
      return false;
    }
  } else {
    f.kind = f.status ? EMU_FAULT_STATUS : EMU_FAULT_LATENCY;
  }
  if (f.kind == EMU_FAULT_STATUS && (f.status < 100 || f.status > 599)) {
    snprintf(err, errlen, "\"status\" must be an HTTP status code");
    return false;
  }
  if (f.kind == EMU_FAULT_BANDWIDTH && f.bytes_per_second <= 0) {
    snprintf(err, errlen, "\"bytesPerSecond\" must be > 0");
    return false;
  }
  if (f.count <= 0 && f.count != -1) {
    snprintf(err, errlen, "\"count\" must be > 0");
    return false;
  }
  pthread_mutex_lock(&mu);
  bool room = nfaults < MAX_FAULTS;
  if (room)
    faults[nfaults++] = f;
  pthread_mutex_unlock(&mu);
  if (!room)
    snprintf(err, errlen, "too many faults queued");
  return room;
}

bool emu_faults_post(const cJSON *j, char *err, size_t errlen)
{
  if (cJSON_IsTrue(cJSON_GetObjectItem(j, "clear"))) {
    emu_faults_clear();
    return true;
  }
  if (cJSON_IsArray(j)) {
    const cJSON *it;
    cJSON_ArrayForEach(it, j) if (!add_one(it, err, errlen)) return false;
    return true;
  }
  if (!cJSON_IsObject(j)) {
    snprintf(err, errlen, "body must be a JSON object or array");
    return false;
  }
  return add_one(j, err, errlen);
}

void emu_faults_clear(void)
{
  pthread_mutex_lock(&mu);
  nfaults = 0;
  pthread_mutex_unlock(&mu);
}

bool emu_faults_take(const char *endpoint, emu_fault *out)
{
  bool found = false;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nfaults; i++) {
    if (strcmp(faults[i].endpoint, "*") != 0 && strcmp(faults[i].endpoint, endpoint) != 0)
      continue;
    if (faults[i].rate > 0 && drand48() >= faults[i].rate)
      continue; /* this request is spared */
    *out = faults[i];
    found = true;
    if (faults[i].count > 0 && --faults[i].count == 0) {
      memmove(&faults[i], &faults[i + 1], (nfaults - i - 1) * sizeof faults[0]);
      nfaults--;
    }
    break;
  }
  pthread_mutex_unlock(&mu);
  return found;
}

cJSON *emu_faults_json(void)
{
  cJSON *arr = cJSON_CreateArray();
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nfaults; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "endpoint", faults[i].endpoint);
    cJSON_AddStringToObject(o, "kind", kind_names[faults[i].kind]);
    cJSON_AddNumberToObject(o, "status", faults[i].status);
    cJSON_AddNumberToObject(o, "count", faults[i].count);
    cJSON_AddNumberToObject(o, "rate", faults[i].rate);
    cJSON_AddNumberToObject(o, "latencyMs", (double)faults[i].latency_ms);
    cJSON_AddNumberToObject(o, "afterBytes", (double)faults[i].after_bytes);
    cJSON_AddNumberToObject(o, "bytesPerSecond", (double)faults[i].bytes_per_second);
    cJSON_AddItemToArray(arr, o);
  }
  pthread_mutex_unlock(&mu);
  return arr;
}

bool emu_fault_pace(const emu_fault *f, int64_t before, int64_t after, int64_t started_ms)
{
  switch (f->kind) {
  case EMU_FAULT_RESET:
  case EMU_FAULT_TRUNCATE:
    (void)before; /* callers clip chunks at after_bytes, so "past it" is the test */
    return after <= f->after_bytes;
  case EMU_FAULT_STALL:
    if (before <= f->after_bytes && after > f->after_bytes)
      emu_sleep_ms(f->latency_ms);
    return true;
  case EMU_FAULT_BANDWIDTH: {
    /* sleep until the bytes so far fit the allowed rate */
    int64_t due_ms = started_ms + after * 1000 / f->bytes_per_second;
    int64_t now = emu_mono_ms();
    if (due_ms > now)
      emu_sleep_ms((long)(due_ms - now));
    return true;
  }
  default:
    return true;
  }
}
