/* emu_config.h - the emulator's configuration (JSON file, see README.md).
 *
 * Loaded once at start-up and then read-only, except the knobs, which tests
 * may change at run time through POST /_emulator/knobs and which are
 * therefore only reached through emu_knobs_get()/emu_knobs_update().
 */
#ifndef EMU_CONFIG_H
#define EMU_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* PDP actions a resource policy can grant an organisation. */
enum { EMU_ACT_READ = 1, EMU_ACT_WRITE = 2, EMU_ACT_SUBSCRIBE = 4 };

typedef struct emu_client_key {
  char *kid;
  EVP_PKEY *pub;
} emu_client_key;

typedef struct emu_client {
  char *client_id;
  char *org;                  /* 9-digit organisation number of the client's owner */
  emu_client_key *keys;
  size_t nkeys;
  X509 *cert;                 /* optional: enterprise certificate accepted in x5c */
  char **scopes;
  size_t nscopes;
  char **system_user_orgs;    /* customers this client has a system user for */
  size_t nsystem_user_orgs;
  char **consumer_orgs;       /* orgs that delegated to this client (consumer_org) */
  size_t nconsumer_orgs;
  int token_lifetime_s;       /* Maskinporten access_token lifetime */
} emu_client;

typedef struct emu_access {
  char *org;
  unsigned actions;           /* EMU_ACT_* */
} emu_access;

typedef struct emu_resource {
  char *id;
  char *owner;
  bool configured;            /* false: known to the registry, not PUT to Broker (BRO-00025) */
  int64_t max_size;           /* bytes; -1 = no resource cap */
  bool ttl_set;               /* fileTransferTimeToLive given (else null: 30 days) */
  int64_t ttl_us;
  bool purge_after_confirm;
  bool grace_set;             /* purgeFileTransferGracePeriod given (else null: PT2H) */
  int64_t grace_us;
  bool approved_without_scan; /* approvedForDisabledVirusScan */
  emu_access *access;
  size_t naccess;
  bool access_list_enabled;
  char **access_list;
  size_t naccess_list;
  char *required_party;       /* NULL = none */
} emu_resource;

typedef struct emu_org {
  char *org;
  char *name;
  char *parent;             /* main unit of a subunit ("parent"), NULL = none */
  char *code;               /* Altinn service-owner code ("orgCode", e.g. "digdir"), NULL = none */
} emu_org;

/* Run-time adjustable behaviour. */
typedef struct emu_knobs {
  bool virus_scan;            /* scanned transfers pass through UploadProcessing */
  long upload_processing_delay_ms; /* emulated-clock ms in UploadProcessing */
  bool rate_limits;
  int limit_default;          /* per org, per endpoint, per minute */
  int limit_details;
  int limit_search;
  double clock_speed;
  int altinn_token_lifetime_s;
  bool production;            /* disableVirusScan needs approval (BRO-00020) */
  bool webhook_allow_http;    /* accept http:// webhook endpoints (real Events: https only) */
  long owner_provisioning_ms; /* emulated-clock ms a new service owner's storage takes */
} emu_knobs;

typedef struct emu_config {
  char *dir;                  /* directory of the config file (relative paths) */
  char *listen_address;
  int port;
  char *cert_pem;             /* contents, for MHD */
  char *key_pem;
  char *base_url;             /* no trailing slash */
  char *mp_issuer;            /* Maskinporten issuer = grant aud, with trailing slash */
  char *altinn_issuer;        /* <base>/authentication/api/v1/openid/ */
  char *data_dir;
  char *signing_key_path;     /* optional; generated at start when NULL */
  emu_org *orgs;
  size_t norgs;
  emu_org *service_owners;
  size_t nservice_owners;
  emu_client *clients;
  size_t nclients;
  emu_resource *resources;
  size_t nresources;
  X509_STORE *enterprise_ca;  /* issuers of enterprise certificates (x5c), NULL = none */
  bool base_url_explicit;
} emu_config;

/* The settings below (configured, sizes, durations, requiredParty) are the
 * start values only: emu_registry.h owns them at run time (PUT /resource). */

/* Loads path; port_override/data_dir_override win over the file when set
 * (port_override < 0 = not set). On error prints why to stderr, returns NULL. */
emu_config *emu_config_load(const char *path, int port_override, const char *data_dir_override);
void emu_config_free(emu_config *cfg);

/* Called once the real port is known (port 0 = ephemeral) to derive the URLs
 * that were not given explicitly. */
int emu_config_set_port(emu_config *cfg, int port);

const emu_client *emu_config_client(const emu_config *cfg, const char *client_id);
const emu_resource *emu_config_resource(const emu_config *cfg, const char *id);
/* Main unit of org per "organizations[].parent", NULL when it is none's subunit. */
const char *emu_config_parent_org(const emu_config *cfg, const char *org);
/* Service-owner code of org per "organizations[].orgCode", or NULL. */
const char *emu_config_org_code(const emu_config *cfg, const char *org);
/* Actions the resource policy grants org (0 when none). */
unsigned emu_resource_actions(const emu_resource *r, const char *org);
bool emu_resource_in_access_list(const emu_resource *r, const char *org);

void emu_knobs_get(emu_knobs *out);
/* Applies the keys present in j (same names as the config's "knobs"). */
void emu_knobs_update(const cJSON *j);
cJSON *emu_knobs_json(void);

#endif
