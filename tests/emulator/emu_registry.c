/* emu_registry.c - see emu_registry.h. */
#include "emu_registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_clock.h"

typedef struct owner {
  char org[16];
  char *name;
  int64_t ready_at;         /* emulated time the storage providers are Ready */
} owner;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static const emu_config *cfg;
static owner *owners;
static size_t nowners, capowners;
static emu_resource_settings *settings; /* parallel to cfg->resources */

static void seed_locked(void)
{
  for (size_t i = 0; i < nowners; i++)
    free(owners[i].name);
  nowners = 0;
  free(owners);
  capowners = cfg->nservice_owners + 8;
  owners = calloc(capowners, sizeof *owners);
  for (size_t i = 0; owners && i < cfg->nservice_owners; i++) {
    owner *o = &owners[nowners++];
    snprintf(o->org, sizeof o->org, "%s", cfg->service_owners[i].org);
    o->name = strdup(cfg->service_owners[i].name);
    o->ready_at = 0; /* configured owners were provisioned long ago */
  }
  for (size_t i = 0; settings && i < cfg->nresources; i++) {
    const emu_resource *r = &cfg->resources[i];
    emu_resource_settings *s = &settings[i];
    memset(s, 0, sizeof *s);
    s->configured = r->configured;
    s->max_size = r->max_size;
    s->ttl_set = r->ttl_set;
    s->ttl_us = r->ttl_set ? r->ttl_us : EMU_DEFAULT_TTL_US;
    s->purge_after_confirm = r->purge_after_confirm;
    s->grace_set = r->grace_set;
    s->grace_us = r->grace_set ? r->grace_us : EMU_DEFAULT_GRACE_US;
    s->manifest_shim = -1;
    snprintf(s->required_party, sizeof s->required_party, "%s",
             r->required_party ? r->required_party : "");
    s->approved_without_scan = r->approved_without_scan;
  }
}

int emu_registry_init(const emu_config *c)
{
  cfg = c;
  settings = calloc(c->nresources + 1, sizeof *settings);
  if (!settings)
    return -1;
  pthread_mutex_lock(&mu);
  seed_locked();
  pthread_mutex_unlock(&mu);
  return owners ? 0 : -1;
}

void emu_registry_reset(void)
{
  pthread_mutex_lock(&mu);
  seed_locked();
  pthread_mutex_unlock(&mu);
}

void emu_registry_shutdown(void)
{
  pthread_mutex_lock(&mu);
  for (size_t i = 0; i < nowners; i++)
    free(owners[i].name);
  free(owners);
  owners = NULL;
  nowners = capowners = 0;
  free(settings);
  settings = NULL;
  pthread_mutex_unlock(&mu);
}

static owner *find_owner(const char *org)
{
  for (size_t i = 0; org && i < nowners; i++)
    if (strcmp(owners[i].org, org) == 0)
      return &owners[i];
  return NULL;
}

emu_owner_state emu_registry_owner_state(const char *org)
{
  pthread_mutex_lock(&mu);
  const owner *o = find_owner(org);
  emu_owner_state st = !o ? EMU_OWNER_NONE
                       : emu_clock_now_us() >= o->ready_at ? EMU_OWNER_READY
                                                          : EMU_OWNER_DEPLOYING;
  pthread_mutex_unlock(&mu);
  return st;
}

bool emu_registry_owner_create(const char *org, const char *name)
{
  emu_knobs k;
  emu_knobs_get(&k);
  bool created = false;
  pthread_mutex_lock(&mu);
  if (!find_owner(org)) {
    if (nowners == capowners) {
      size_t nc = capowners ? capowners * 2 : 8;
      owner *no = realloc(owners, nc * sizeof *no);
      if (no) {
        owners = no;
        capowners = nc;
      }
    }
    if (nowners < capowners) {
      owner *o = &owners[nowners++];
      snprintf(o->org, sizeof o->org, "%s", org);
      o->name = strdup(name ? name : "");
      o->ready_at = emu_clock_now_us() + (int64_t)k.owner_provisioning_ms * 1000;
      created = true;
    }
  }
  pthread_mutex_unlock(&mu);
  return created;
}

cJSON *emu_registry_owner_json(const char *org)
{
  emu_knobs k;
  emu_knobs_get(&k);
  cJSON *j = NULL;
  pthread_mutex_lock(&mu);
  const owner *o = find_owner(org);
  if (o) {
    /* both providers (with and without virus scan) are deployed together */
    const char *status = emu_clock_now_us() >= o->ready_at ? "Ready" : "DeployingResources";
    static const char *types[] = {"AltinnAzure", "AltinnAzureWithoutVirusScan"};
    j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", o->name);
    cJSON *arr = cJSON_AddArrayToObject(j, "storageProviders");
    for (size_t i = 0; i < 2; i++) {
      cJSON *p = cJSON_CreateObject();
      cJSON_AddStringToObject(p, "type", types[i]);
      cJSON_AddStringToObject(p, "deploymentStatus", status);
      /* ASP.NET environment name: TT02 runs as Staging */
      cJSON_AddStringToObject(p, "deploymentEnvironment", k.production ? "Production" : "Staging");
      cJSON_AddItemToArray(arr, p);
    }
  }
  pthread_mutex_unlock(&mu);
  return j;
}

static size_t index_of(const emu_resource *res)
{
  return (size_t)(res - cfg->resources);
}

void emu_registry_settings(const emu_resource *res, emu_resource_settings *out)
{
  pthread_mutex_lock(&mu);
  *out = settings[index_of(res)];
  pthread_mutex_unlock(&mu);
}

void emu_registry_settings_set(const emu_resource *res, const emu_resource_settings *s)
{
  pthread_mutex_lock(&mu);
  settings[index_of(res)] = *s;
  pthread_mutex_unlock(&mu);
}

void emu_registry_add_json(cJSON *obj)
{
  cJSON *so = cJSON_AddArrayToObject(obj, "serviceOwners");
  cJSON *rs = cJSON_AddArrayToObject(obj, "resources");
  pthread_mutex_lock(&mu);
  int64_t now = emu_clock_now_us();
  for (size_t i = 0; i < nowners; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "orgNumber", owners[i].org);
    cJSON_AddStringToObject(o, "name", owners[i].name);
    cJSON_AddBoolToObject(o, "ready", now >= owners[i].ready_at);
    cJSON_AddItemToArray(so, o);
  }
  for (size_t i = 0; i < cfg->nresources; i++) {
    const emu_resource_settings *s = &settings[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", cfg->resources[i].id);
    cJSON_AddStringToObject(o, "owner", cfg->resources[i].owner);
    cJSON_AddBoolToObject(o, "configured", s->configured);
    if (s->max_size >= 0)
      cJSON_AddNumberToObject(o, "maxFileTransferSize", (double)s->max_size);
    else
      cJSON_AddNullToObject(o, "maxFileTransferSize");
    cJSON_AddNumberToObject(o, "ttlSeconds", (double)(s->ttl_us / 1000000));
    cJSON_AddBoolToObject(o, "purgeFileTransferAfterAllRecipientsConfirmed", s->purge_after_confirm);
    cJSON_AddNumberToObject(o, "graceSeconds", (double)(s->grace_us / 1000000));
    if (s->required_party[0])
      cJSON_AddStringToObject(o, "requiredParty", s->required_party);
    else
      cJSON_AddNullToObject(o, "requiredParty");
    cJSON_AddItemToArray(rs, o);
  }
  pthread_mutex_unlock(&mu);
}
