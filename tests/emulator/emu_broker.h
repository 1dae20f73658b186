/* emu_broker.h - pieces shared by the Broker endpoint modules: transfer
 * lookup, the PDP decisions (broker-api.md §7) and the JSON views. */
#ifndef EMU_BROKER_H
#define EMU_BROKER_H

#include <stdbool.h>

#include "emu_http.h"
#include "emu_store.h"

#define EMU_SCOPE_READ "altinn:broker.read"
#define EMU_SCOPE_WRITE "altinn:broker.write"

/* Finds r->id (store lock held); replies 404 BRO-00001 and returns NULL. */
emu_transfer *emu_broker_find(emu_request *r);

/* PDP "write" for the transfer's sender party: the caller acts for the
 * sender org and the resource grants that org write. */
bool emu_broker_is_sender(const emu_request *r, const emu_transfer *t);

/* PDP "read" as a recipient: index of the caller among the recipients when
 * the resource grants it read, else -1. */
long emu_broker_recipient(const emu_request *r, const emu_transfer *t);

/* Validates "NNNN:<9 digits>" or "urn:altinn:organization:identifier-no:<9
 * digits>" and extracts the organisation number. */
bool emu_broker_party(const char *s, char org[16]);

/* The bytes of t are in place (emu_store_file_path): records size and MD5
 * and moves t on. Published at once, unless a virus scan is due (knob
 * virusScan and useVirusScan) or, for TUS, a checksum must be verified
 * asynchronously: then UploadProcessing until the worker decides. */
void emu_broker_upload_stored(emu_transfer *t, int64_t size, const char md5[33], bool tus);

/* Overview (details=false) or details view of t (§3.4, §3.5). */
cJSON *emu_broker_transfer_json(const emu_transfer *t, bool details);

#endif
