/* ab_resource.h - a service owner's Broker settings for one resource
 * (broker-api.md §3.10: GET/PUT /broker/api/v1/resource/{id}, scope
 * altinn:serviceowner), for `altinn-broker resource show|configure`.
 *
 * Settings on the command line are name=value words, checked here before
 * anything is sent:
 *   max-file-size=SIZE          maxFileTransferSize: bytes, or with K/M/G/T
 *                               (binary: 1G = 1 GiB; KB/MB/GB/TB are decimal)
 *   ttl=DURATION                fileTransferTimeToLive, ISO-8601 ("P30D")
 *   purge-after-confirm=BOOL    purgeFileTransferAfterAllRecipientsConfirmed
 *   purge-grace=DURATION        purgeFileTransferGracePeriod ("PT2H")
 *   required-party=ORG          requiredParty (9 digits; 0192: accepted)
 *   manifest-shim=BOOL          useManifestFileShim
 *   service-code=TEXT           externalServiceCodeLegacy (Altinn 2)
 *   service-edition=N           externalServiceEditionCodeLegacy
 * BOOL is true|false|yes|no|on|off. Limits the Broker enforces (TTL at most
 * a year, grace at most a day, sizes) are left to it: its error names them.
 */
#ifndef AB_RESOURCE_H
#define AB_RESOURCE_H

#include <cjson/cJSON.h>

#include "ab_broker.h"
#include "ab_error.h"

/* GET: *out receives the ResourceExt object as the Broker sent it. */
int ab_broker_resource_get(ab_broker *b, const char *resource_id, cJSON **out,
                           ab_error *err);

/* PUT settings (an object of ResourceExt fields; only those are changed). */
int ab_broker_resource_put(ab_broker *b, const char *resource_id,
                           const cJSON *settings, ab_error *err);

/* Adds one "name=value" setting (see above) to settings, or fails with
 * EINVAL and a message that says what is expected. */
int ab_resource_setting(cJSON *settings, const char *arg, ab_error *err);

/* A duration as the Broker returns it (.NET TimeSpan "30.00:00:00",
 * "02:00:00") or as sent (ISO "P30D"), rewritten as ISO-8601 into out. */
void ab_resource_duration_iso(const char *in, char *out, size_t size);

#endif
