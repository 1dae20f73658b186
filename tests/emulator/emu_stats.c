/* emu_stats.c - see emu_stats.h. Counters live in cJSON objects (name ->
 * number) because their only consumer is the JSON state document. */
#include "emu_stats.h"

#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static cJSON *grants, *exchanges, *requests;
static double rate_limited;

static void bump(cJSON **map, const char *key)
{
  if (!key)
    key = "";
  pthread_mutex_lock(&mu);
  if (!*map)
    *map = cJSON_CreateObject();
  cJSON *n = cJSON_GetObjectItemCaseSensitive(*map, key);
  if (n)
    cJSON_SetNumberValue(n, n->valuedouble + 1);
  else
    cJSON_AddNumberToObject(*map, key, 1);
  pthread_mutex_unlock(&mu);
}

void emu_stats_request(const char *endpoint) { bump(&requests, endpoint); }
void emu_stats_grant(const char *client_id) { bump(&grants, client_id); }
void emu_stats_exchange(const char *client_id) { bump(&exchanges, client_id); }

void emu_stats_rate_limited(void)
{
  pthread_mutex_lock(&mu);
  rate_limited++;
  pthread_mutex_unlock(&mu);
}

static cJSON *copy_or_empty(const cJSON *m)
{
  return m ? cJSON_Duplicate(m, 1) : cJSON_CreateObject();
}

void emu_stats_add_json(cJSON *obj)
{
  pthread_mutex_lock(&mu);
  cJSON_AddItemToObject(obj, "grants", copy_or_empty(grants));
  cJSON_AddItemToObject(obj, "exchanges", copy_or_empty(exchanges));
  cJSON_AddItemToObject(obj, "requests", copy_or_empty(requests));
  cJSON_AddNumberToObject(obj, "rateLimited", rate_limited);
  pthread_mutex_unlock(&mu);
}

void emu_stats_reset(void)
{
  pthread_mutex_lock(&mu);
  cJSON_Delete(grants);
  cJSON_Delete(exchanges);
  cJSON_Delete(requests);
  grants = exchanges = requests = NULL;
  rate_limited = 0;
  pthread_mutex_unlock(&mu);
}
