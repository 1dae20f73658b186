/* emu_registry.h - what service owners change at run time through the
 * Broker API (broker-api.md §3.9, §3.10): service owners and their storage
 * provisioning (POST /serviceowner), and each resource's Broker settings
 * (PUT /resource/{id}).
 *
 * The config seeds both: its serviceOwners exist with storage Ready, its
 * resources carry their settings (configured=false ones wait for a PUT).
 * The resource registry itself (which resources exist, their owner, PDP
 * access, access list) stays read-only config. POST /_emulator/reset goes
 * back to the config's state. All functions take the registry lock inside;
 * callers may hold the store lock (order: store, then registry).
 */
#ifndef EMU_REGISTRY_H
#define EMU_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "emu_config.h"

typedef enum {
  EMU_OWNER_NONE = 0,       /* never initialized: BRO-00002 / BRO-00024 */
  EMU_OWNER_DEPLOYING,      /* storage being provisioned: BRO-00021 */
  EMU_OWNER_READY,
} emu_owner_state;

/* A resource's Broker settings, as ResourceExt names them. */
typedef struct emu_resource_settings {
  bool configured;          /* PUT at least once (else BRO-00025) */
  int64_t max_size;         /* bytes; -1 = null (no resource cap) */
  bool ttl_set;             /* false: null, initialize uses 30 days */
  int64_t ttl_us;
  bool purge_after_confirm; /* never null, default true */
  bool grace_set;           /* false: null, confirm uses PT2H */
  int64_t grace_us;
  int manifest_shim;        /* -1 null, 0 false, 1 true */
  char service_code[128];   /* externalServiceCodeLegacy, "" = null */
  bool edition_set;
  int edition;              /* externalServiceEditionCodeLegacy */
  char required_party[64];  /* as given, "" = null */
  bool approved_without_scan; /* Altinn approved disableVirusScan (BRO-00013/00020) */
} emu_resource_settings;

#define EMU_DEFAULT_TTL_US ((int64_t)30 * 86400 * 1000000)
#define EMU_DEFAULT_GRACE_US ((int64_t)2 * 3600 * 1000000)

int emu_registry_init(const emu_config *cfg);
void emu_registry_shutdown(void);
/* Back to the config's service owners and resource settings. */
void emu_registry_reset(void);

/* Service owner org (9 digits) and how far its storage is. Provisioning
 * takes the knob serviceOwnerProvisioningMs on the emulated clock. */
emu_owner_state emu_registry_owner_state(const char *org);
/* Initializes org as a service owner; false when it already exists. */
bool emu_registry_owner_create(const char *org, const char *name);
/* ServiceOwnerOverviewExt of org, NULL when it is not a service owner. */
cJSON *emu_registry_owner_json(const char *org);

/* Copies res's current settings into out. */
void emu_registry_settings(const emu_resource *res, emu_resource_settings *out);
/* Replaces res's settings (PUT /resource validated them). */
void emu_registry_settings_set(const emu_resource *res, const emu_resource_settings *s);

/* Adds "serviceOwners" and "resources" (current settings) to the state document. */
void emu_registry_add_json(cJSON *obj);

#endif
