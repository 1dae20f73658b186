/* emu_broker.h - pieces shared by the Broker endpoint modules: transfer
 * lookup, the PDP decisions (broker-api.md §7) and the JSON views. */
#ifndef EMU_BROKER_H
#define EMU_BROKER_H

#include <stdbool.h>

#include "emu_http.h"
#include "emu_registry.h"
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

/* Initializes a transfer as POST /filetransfer does (§3.1) from body (JSON
 * property names, any case). errors (taken) may already hold binding
 * errors; prefix goes before the model error keys ("Metadata." for the
 * multipart form). True with the new id in id_out; false after replying. */
bool emu_broker_initialize(emu_request *r, const cJSON *body, cJSON *errors, const char *prefix,
                           char id_out[37]);

/* The storage of res's service owner can take files: otherwise replies
 * 400 BRO-00002 (no service owner) or 503 BRO-00021 (storage still being
 * provisioned) and returns false. */
bool emu_broker_storage_ready(emu_request *r, const emu_resource *res);

/* len bytes fit t's resource cap and, for scanned transfers, the 50 GB scan
 * cap; otherwise replies 400 BRO-00016 and returns false. */
bool emu_broker_size_ok(emu_request *r, const emu_transfer *t, int64_t len);

/* The bytes of t are in place (emu_store_file_path): records size and MD5
 * and moves t on. Published at once, unless a virus scan is due (knob
 * virusScan and useVirusScan) or, for TUS, a checksum must be verified
 * asynchronously: then UploadProcessing until the worker decides. */
void emu_broker_upload_stored(emu_transfer *t, int64_t size, const char md5[33], bool tus);

/* A streamed upload to t is complete in temp_path (size bytes, MD5 md5):
 * checks the checksum given at initialize (mismatch: Failed "Checksum
 * mismatch", 400 BRO-00009), renames the bytes into place, moves t on
 * (emu_broker_upload_stored) and replies 200 {"fileTransferId"}. Store lock
 * held; temp_path is gone afterwards either way. */
void emu_broker_upload_complete(emu_request *r, emu_transfer *t, const char *temp_path, int64_t size,
                                const char md5[33]);

/* Overview (details=false) or details view of t (§3.4, §3.5). */
cJSON *emu_broker_transfer_json(const emu_transfer *t, bool details);

#endif
