/* emu_config.c - see emu_config.h; the file format is documented in README.md. */
#include "emu_config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "emu_clock.h"
#include "emu_util.h"

static pthread_mutex_t knobs_mu = PTHREAD_MUTEX_INITIALIZER;
static emu_knobs knobs = {
    .virus_scan = false,
    .upload_processing_delay_ms = 0,
    .rate_limits = true,
    .limit_default = 120, /* broker-api.md §9 */
    .limit_details = 15,
    .limit_search = 10,
    .clock_speed = 1.0,
    .altinn_token_lifetime_s = 1800, /* JwtValidityMinutes 30 */
    .production = false,
    .owner_provisioning_ms = 5000,
};

static bool fail(const char *what, const char *detail)
{
  fprintf(stderr, "altinn-emulator: config: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  return false;
}

static const char *str_item(const cJSON *o, const char *key)
{
  const cJSON *it = cJSON_GetObjectItem(o, key);
  return cJSON_IsString(it) ? it->valuestring : NULL;
}

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

/* Copies a JSON array of strings; missing = empty list. */
static bool str_array(const cJSON *arr, char ***out, size_t *n, const char *what)
{
  *out = NULL;
  *n = 0;
  if (!arr || cJSON_IsNull(arr))
    return true;
  if (!cJSON_IsArray(arr))
    return fail(what, "must be an array of strings");
  size_t cnt = (size_t)cJSON_GetArraySize(arr);
  *out = calloc(cnt + 1, sizeof(char *));
  const cJSON *it;
  cJSON_ArrayForEach(it, arr)
  {
    if (!cJSON_IsString(it))
      return fail(what, "must be an array of strings");
    (*out)[(*n)++] = strdup(it->valuestring);
  }
  return true;
}

static EVP_PKEY *load_public_key(const char *path)
{
  size_t len;
  char *pem = emu_read_file(path, &len);
  if (!pem)
    return NULL;
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  EVP_PKEY *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  if (!k) {
    /* also accept a certificate, whose key is what grants are signed with */
    BIO_reset(bio);
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x) {
      k = X509_get_pubkey(x);
      X509_free(x);
    }
  }
  BIO_free(bio);
  free(pem);
  return k;
}

static X509 *load_cert(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return NULL;
  X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  return x;
}

static bool parse_orgs(const cJSON *arr, emu_org **out, size_t *n, const char *what)
{
  *out = NULL;
  *n = 0;
  if (!arr)
    return true;
  if (!cJSON_IsArray(arr))
    return fail(what, "must be an array");
  *out = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof(emu_org));
  const cJSON *it;
  cJSON_ArrayForEach(it, arr)
  {
    const char *org = str_item(it, "orgNumber");
    if (!org)
      return fail(what, "entry without \"orgNumber\"");
    (*out)[*n].org = strdup(org);
    (*out)[*n].name = strdup(str_item(it, "name") ? str_item(it, "name") : org);
    (*out)[*n].parent = dup_or_null(str_item(it, "parent"));
    (*out)[*n].code = dup_or_null(str_item(it, "orgCode"));
    (*n)++;
  }
  return true;
}

static bool parse_client(emu_config *cfg, const cJSON *j, emu_client *c)
{
  const char *id = str_item(j, "clientId");
  const char *org = str_item(j, "org");
  if (!id || !org)
    return fail("client", "needs \"clientId\" and \"org\"");
  c->client_id = strdup(id);
  c->org = strdup(org);
  /* keys: either "kid"+"publicKey" or "keys":[{"kid","publicKey"}] (rotation) */
  const cJSON *keys = cJSON_GetObjectItem(j, "keys");
  size_t cap = (keys && cJSON_IsArray(keys) ? (size_t)cJSON_GetArraySize(keys) : 0) + 1;
  c->keys = calloc(cap, sizeof(emu_client_key));
  const cJSON *single[1] = {j};
  size_t nsrc = keys && cJSON_IsArray(keys) ? 0 : 1;
  const cJSON *k;
  if (keys && cJSON_IsArray(keys)) {
    cJSON_ArrayForEach(k, keys)
    {
      const char *kid = str_item(k, "kid"), *pub = str_item(k, "publicKey");
      if (!kid || !pub)
        return fail("client key", "needs \"kid\" and \"publicKey\"");
      char *path = emu_path_join(cfg->dir, pub);
      EVP_PKEY *pk = load_public_key(path);
      if (!pk) {
        fail("cannot read public key", path);
        free(path);
        return false;
      }
      free(path);
      c->keys[c->nkeys].kid = strdup(kid);
      c->keys[c->nkeys++].pub = pk;
    }
  }
  for (size_t i = 0; i < nsrc; i++) {
    const char *kid = str_item(single[i], "kid"), *pub = str_item(single[i], "publicKey");
    if (!kid && !pub)
      continue;
    if (!kid || !pub)
      return fail("client", "\"kid\" and \"publicKey\" go together");
    char *path = emu_path_join(cfg->dir, pub);
    EVP_PKEY *pk = load_public_key(path);
    if (!pk) {
      fail("cannot read public key", path);
      free(path);
      return false;
    }
    free(path);
    c->keys[c->nkeys].kid = strdup(kid);
    c->keys[c->nkeys++].pub = pk;
  }
  const char *cert = str_item(j, "certificate");
  if (cert) {
    char *path = emu_path_join(cfg->dir, cert);
    c->cert = load_cert(path);
    if (!c->cert) {
      fail("cannot read certificate", path);
      free(path);
      return false;
    }
    free(path);
  }
  if (!str_array(cJSON_GetObjectItem(j, "scopes"), &c->scopes, &c->nscopes, "client scopes") ||
      !str_array(cJSON_GetObjectItem(j, "systemUserOrgs"), &c->system_user_orgs,
                 &c->nsystem_user_orgs, "client systemUserOrgs") ||
      !str_array(cJSON_GetObjectItem(j, "consumerOrgs"), &c->consumer_orgs, &c->nconsumer_orgs,
                 "client consumerOrgs"))
    return false;
  const cJSON *lt = cJSON_GetObjectItem(j, "accessTokenLifetime");
  c->token_lifetime_s = cJSON_IsNumber(lt) && lt->valuedouble > 0 ? (int)lt->valuedouble : 120;
  return true;
}

static unsigned parse_actions(const cJSON *arr)
{
  unsigned a = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, arr)
  {
    if (!cJSON_IsString(it))
      continue;
    if (strcasecmp(it->valuestring, "read") == 0)
      a |= EMU_ACT_READ;
    else if (strcasecmp(it->valuestring, "write") == 0)
      a |= EMU_ACT_WRITE;
    else if (strcasecmp(it->valuestring, "subscribe") == 0)
      a |= EMU_ACT_SUBSCRIBE;
  }
  return a;
}

static bool parse_duration_item(const cJSON *j, const char *key, int64_t def, int64_t *out,
                                bool *set)
{
  const cJSON *it = cJSON_GetObjectItem(j, key);
  *set = it && !cJSON_IsNull(it);
  if (!*set) {
    *out = def;
    return true;
  }
  if (!cJSON_IsString(it) || !emu_duration_parse(it->valuestring, out))
    return fail(key, "must be an ISO-8601 duration such as \"P30D\" or \"PT2H\"");
  return true;
}

static bool parse_resource(const cJSON *j, emu_resource *r)
{
  const char *id = str_item(j, "id");
  const char *owner = str_item(j, "owner");
  if (!id || !owner)
    return fail("resource", "needs \"id\" and \"owner\"");
  r->id = strdup(id);
  r->owner = strdup(owner);
  const cJSON *conf = cJSON_GetObjectItem(j, "configured");
  r->configured = !cJSON_IsFalse(conf);
  const cJSON *max = cJSON_GetObjectItem(j, "maxFileTransferSize");
  r->max_size = cJSON_IsNumber(max) ? (int64_t)max->valuedouble : -1;
  if (cJSON_IsNumber(max) && max->valuedouble <= 0)
    return fail("resource maxFileTransferSize", "must be > 0 or null");
  if (!parse_duration_item(j, "fileTransferTimeToLive", (int64_t)30 * 86400 * 1000000, &r->ttl_us,
                           &r->ttl_set) ||
      !parse_duration_item(j, "purgeFileTransferGracePeriod", (int64_t)2 * 3600 * 1000000,
                           &r->grace_us, &r->grace_set))
    return false;
  r->approved_without_scan = cJSON_IsTrue(cJSON_GetObjectItem(j, "approvedForDisabledVirusScan"));
  const cJSON *purge = cJSON_GetObjectItem(j, "purgeFileTransferAfterAllRecipientsConfirmed");
  r->purge_after_confirm = !cJSON_IsFalse(purge);
  const cJSON *access = cJSON_GetObjectItem(j, "access");
  if (access && !cJSON_IsObject(access))
    return fail("resource access", "must be an object org -> [actions]");
  r->access = calloc((size_t)cJSON_GetArraySize(access) + 1, sizeof(emu_access));
  const cJSON *it;
  cJSON_ArrayForEach(it, access)
  {
    r->access[r->naccess].org = strdup(it->string);
    r->access[r->naccess++].actions = parse_actions(it);
  }
  const cJSON *al = cJSON_GetObjectItem(j, "accessList");
  r->access_list_enabled = cJSON_IsArray(al);
  if (!str_array(al, &r->access_list, &r->naccess_list, "resource accessList"))
    return false;
  r->required_party = dup_or_null(str_item(j, "requiredParty"));
  return true;
}

void emu_knobs_update(const cJSON *j)
{
  if (!j)
    return;
  pthread_mutex_lock(&knobs_mu);
  const cJSON *it;
  if ((it = cJSON_GetObjectItem(j, "virusScan")) && cJSON_IsBool(it))
    knobs.virus_scan = cJSON_IsTrue(it);
  if ((it = cJSON_GetObjectItem(j, "uploadProcessingDelayMs")) && cJSON_IsNumber(it))
    knobs.upload_processing_delay_ms = (long)it->valuedouble;
  if ((it = cJSON_GetObjectItem(j, "rateLimits")) && cJSON_IsBool(it))
    knobs.rate_limits = cJSON_IsTrue(it);
  const cJSON *lim = cJSON_GetObjectItem(j, "rateLimitPerMinute");
  if (cJSON_IsObject(lim)) {
    if ((it = cJSON_GetObjectItem(lim, "default")) && cJSON_IsNumber(it) && it->valuedouble >= 1)
      knobs.limit_default = (int)it->valuedouble;
    if ((it = cJSON_GetObjectItem(lim, "details")) && cJSON_IsNumber(it) && it->valuedouble >= 1)
      knobs.limit_details = (int)it->valuedouble;
    if ((it = cJSON_GetObjectItem(lim, "search")) && cJSON_IsNumber(it) && it->valuedouble >= 1)
      knobs.limit_search = (int)it->valuedouble;
  }
  if ((it = cJSON_GetObjectItem(j, "clockSpeed")) && cJSON_IsNumber(it) && it->valuedouble > 0) {
    knobs.clock_speed = it->valuedouble;
    emu_clock_set_speed(it->valuedouble);
  }
  if ((it = cJSON_GetObjectItem(j, "altinnTokenLifetimeSeconds")) && cJSON_IsNumber(it) &&
      it->valuedouble >= 1)
    knobs.altinn_token_lifetime_s = (int)it->valuedouble;
  if ((it = cJSON_GetObjectItem(j, "production")) && cJSON_IsBool(it))
    knobs.production = cJSON_IsTrue(it);
  if ((it = cJSON_GetObjectItem(j, "webhookAllowHttp")) && cJSON_IsBool(it))
    knobs.webhook_allow_http = cJSON_IsTrue(it);
  if ((it = cJSON_GetObjectItem(j, "serviceOwnerProvisioningMs")) && cJSON_IsNumber(it) &&
      it->valuedouble >= 0)
    knobs.owner_provisioning_ms = (long)it->valuedouble;
  pthread_mutex_unlock(&knobs_mu);
}

void emu_knobs_get(emu_knobs *out)
{
  pthread_mutex_lock(&knobs_mu);
  *out = knobs;
  pthread_mutex_unlock(&knobs_mu);
}

cJSON *emu_knobs_json(void)
{
  emu_knobs k;
  emu_knobs_get(&k);
  cJSON *j = cJSON_CreateObject();
  cJSON_AddBoolToObject(j, "virusScan", k.virus_scan);
  cJSON_AddNumberToObject(j, "uploadProcessingDelayMs", (double)k.upload_processing_delay_ms);
  cJSON_AddBoolToObject(j, "rateLimits", k.rate_limits);
  cJSON *lim = cJSON_AddObjectToObject(j, "rateLimitPerMinute");
  cJSON_AddNumberToObject(lim, "default", k.limit_default);
  cJSON_AddNumberToObject(lim, "details", k.limit_details);
  cJSON_AddNumberToObject(lim, "search", k.limit_search);
  cJSON_AddNumberToObject(j, "clockSpeed", emu_clock_speed());
  cJSON_AddNumberToObject(j, "altinnTokenLifetimeSeconds", k.altinn_token_lifetime_s);
  cJSON_AddBoolToObject(j, "production", k.production);
  cJSON_AddBoolToObject(j, "webhookAllowHttp", k.webhook_allow_http);
  cJSON_AddNumberToObject(j, "serviceOwnerProvisioningMs", (double)k.owner_provisioning_ms);
  return j;
}

static char *dirname_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  if (!slash)
    return strdup(".");
  if (slash == path)
    return strdup("/");
  return strndup(path, (size_t)(slash - path));
}

static char *read_pem(const emu_config *cfg, const char *rel, const char *what)
{
  char *path = emu_path_join(cfg->dir, rel);
  char *pem = emu_read_file(path, NULL);
  if (!pem)
    fprintf(stderr, "altinn-emulator: config: cannot read %s %s: %s\n", what, path, strerror(errno));
  free(path);
  return pem;
}

emu_config *emu_config_load(const char *path, int port_override, const char *data_dir_override)
{
  size_t len;
  char *text = emu_read_file(path, &len);
  if (!text) {
    fprintf(stderr, "altinn-emulator: cannot read config %s: %s\n", path, strerror(errno));
    return NULL;
  }
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  if (!cJSON_IsObject(j)) {
    fprintf(stderr, "altinn-emulator: config %s is not a JSON object\n", path);
    cJSON_Delete(j);
    return NULL;
  }
  emu_config *cfg = calloc(1, sizeof *cfg);
  bool ok = false;
  cfg->dir = dirname_of(path);

  const cJSON *listen = cJSON_GetObjectItem(j, "listen");
  const char *addr = str_item(listen, "address");
  cfg->listen_address = strdup(addr ? addr : "127.0.0.1");
  const cJSON *port = cJSON_GetObjectItem(listen, "port");
  cfg->port = cJSON_IsNumber(port) ? (int)port->valueint : 0;
  if (port_override >= 0)
    cfg->port = port_override;
  if (cfg->port < 0 || cfg->port > 65535) {
    fail("listen.port", "out of range");
    goto out;
  }

  const cJSON *tls = cJSON_GetObjectItem(j, "tls");
  const char *cert = str_item(tls, "cert"), *key = str_item(tls, "key");
  cfg->cert_pem = read_pem(cfg, cert ? cert : "server.pem", "TLS certificate");
  cfg->key_pem = read_pem(cfg, key ? key : "server.key", "TLS key");
  if (!cfg->cert_pem || !cfg->key_pem)
    goto out;

  const char *base = str_item(j, "baseUrl");
  if (base) {
    cfg->base_url = strdup(base);
    size_t n = strlen(cfg->base_url);
    while (n > 0 && cfg->base_url[n - 1] == '/')
      cfg->base_url[--n] = '\0';
    cfg->base_url_explicit = true;
  }
  cfg->mp_issuer = dup_or_null(str_item(j, "maskinportenIssuer"));

  const char *data = data_dir_override ? data_dir_override : str_item(j, "dataDir");
  cfg->data_dir = emu_path_join(cfg->dir, data ? data : "data");
  const char *sk = str_item(j, "signingKey");
  cfg->signing_key_path = sk ? emu_path_join(cfg->dir, sk) : NULL;

  if (!parse_orgs(cJSON_GetObjectItem(j, "organizations"), &cfg->orgs, &cfg->norgs, "organizations") ||
      !parse_orgs(cJSON_GetObjectItem(j, "serviceOwners"), &cfg->service_owners,
                  &cfg->nservice_owners, "serviceOwners"))
    goto out;

  const char *eca = str_item(j, "enterpriseCa");
  if (eca) {
    char *eca_path = emu_path_join(cfg->dir, eca);
    cfg->enterprise_ca = X509_STORE_new();
    if (!cfg->enterprise_ca || X509_STORE_load_file(cfg->enterprise_ca, eca_path) != 1) {
      fail("cannot read enterpriseCa", eca_path);
      free(eca_path);
      goto out;
    }
    free(eca_path);
  }

  const cJSON *clients = cJSON_GetObjectItem(j, "clients");
  cfg->clients = calloc((size_t)cJSON_GetArraySize(clients) + 1, sizeof(emu_client));
  const cJSON *it;
  cJSON_ArrayForEach(it, clients)
  {
    if (!parse_client(cfg, it, &cfg->clients[cfg->nclients++]))
      goto out;
  }
  const cJSON *resources = cJSON_GetObjectItem(j, "resources");
  cfg->resources = calloc((size_t)cJSON_GetArraySize(resources) + 1, sizeof(emu_resource));
  cJSON_ArrayForEach(it, resources)
  {
    if (!parse_resource(it, &cfg->resources[cfg->nresources++]))
      goto out;
  }
  emu_knobs_update(cJSON_GetObjectItem(j, "knobs"));
  ok = true;
out:
  cJSON_Delete(j);
  if (!ok) {
    emu_config_free(cfg);
    return NULL;
  }
  return cfg;
}

int emu_config_set_port(emu_config *cfg, int port)
{
  cfg->port = port;
  if (!cfg->base_url_explicit) {
    free(cfg->base_url);
    char buf[300];
    snprintf(buf, sizeof buf, "https://%s:%d", cfg->listen_address, port);
    cfg->base_url = strdup(buf);
  }
  if (!cfg->mp_issuer) {
    size_t n = strlen(cfg->base_url) + 2;
    cfg->mp_issuer = malloc(n);
    snprintf(cfg->mp_issuer, n, "%s/", cfg->base_url);
  }
  free(cfg->altinn_issuer);
  size_t n = strlen(cfg->base_url) + 40;
  cfg->altinn_issuer = malloc(n);
  snprintf(cfg->altinn_issuer, n, "%s/authentication/api/v1/openid/", cfg->base_url);
  return 0;
}

static void free_strv(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void emu_config_free(emu_config *cfg)
{
  if (!cfg)
    return;
  for (size_t i = 0; i < cfg->nclients; i++) {
    emu_client *c = &cfg->clients[i];
    free(c->client_id);
    free(c->org);
    for (size_t k = 0; k < c->nkeys; k++) {
      free(c->keys[k].kid);
      EVP_PKEY_free(c->keys[k].pub);
    }
    free(c->keys);
    X509_free(c->cert);
    free_strv(c->scopes, c->nscopes);
    free_strv(c->system_user_orgs, c->nsystem_user_orgs);
    free_strv(c->consumer_orgs, c->nconsumer_orgs);
  }
  free(cfg->clients);
  for (size_t i = 0; i < cfg->nresources; i++) {
    emu_resource *r = &cfg->resources[i];
    free(r->id);
    free(r->owner);
    for (size_t a = 0; a < r->naccess; a++)
      free(r->access[a].org);
    free(r->access);
    free_strv(r->access_list, r->naccess_list);
    free(r->required_party);
  }
  free(cfg->resources);
  for (size_t i = 0; i < cfg->norgs; i++) {
    free(cfg->orgs[i].org);
    free(cfg->orgs[i].name);
    free(cfg->orgs[i].parent);
    free(cfg->orgs[i].code);
  }
  free(cfg->orgs);
  for (size_t i = 0; i < cfg->nservice_owners; i++) {
    free(cfg->service_owners[i].org);
    free(cfg->service_owners[i].name);
    free(cfg->service_owners[i].parent);
    free(cfg->service_owners[i].code);
  }
  free(cfg->service_owners);
  X509_STORE_free(cfg->enterprise_ca);
  free(cfg->dir);
  free(cfg->listen_address);
  free(cfg->cert_pem);
  free(cfg->key_pem);
  free(cfg->base_url);
  free(cfg->mp_issuer);
  free(cfg->altinn_issuer);
  free(cfg->data_dir);
  free(cfg->signing_key_path);
  free(cfg);
}

const emu_client *emu_config_client(const emu_config *cfg, const char *client_id)
{
  for (size_t i = 0; client_id && i < cfg->nclients; i++)
    if (strcmp(cfg->clients[i].client_id, client_id) == 0)
      return &cfg->clients[i];
  return NULL;
}

const emu_resource *emu_config_resource(const emu_config *cfg, const char *id)
{
  for (size_t i = 0; id && i < cfg->nresources; i++)
    if (strcmp(cfg->resources[i].id, id) == 0)
      return &cfg->resources[i];
  return NULL;
}

const char *emu_config_parent_org(const emu_config *cfg, const char *org)
{
  for (size_t i = 0; org && i < cfg->norgs; i++)
    if (strcmp(cfg->orgs[i].org, org) == 0)
      return cfg->orgs[i].parent;
  return NULL;
}

const char *emu_config_org_code(const emu_config *cfg, const char *org)
{
  for (size_t i = 0; org && i < cfg->norgs; i++)
    if (strcmp(cfg->orgs[i].org, org) == 0)
      return cfg->orgs[i].code;
  return NULL;
}

unsigned emu_resource_actions(const emu_resource *r, const char *org)
{
  for (size_t i = 0; r && org && i < r->naccess; i++)
    if (strcmp(r->access[i].org, org) == 0)
      return r->access[i].actions;
  return 0;
}

bool emu_resource_in_access_list(const emu_resource *r, const char *org)
{
  if (!r->access_list_enabled)
    return true;
  for (size_t i = 0; i < r->naccess_list; i++)
    if (strcmp(r->access_list[i], org) == 0)
      return true;
  return false;
}
