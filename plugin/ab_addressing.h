/* ab_addressing.h - what an uploaded file is, and where it goes, from the
 * conventions a legacy client can follow with nothing but file names:
 *
 *  - temporary names (WinSCP's "*.filepart", ProFTPD's ".in.NAME.", lftp's ".in.NAME", or the
 *    mount's temp-names=) are only spooled; the transfer is made when the
 *    file is renamed to its final name;
 *  - a subdirectory named by an organisation number, where the mount
 *    allows it (recipient-dirs=), sends to that organisation;
 *  - a sidecar "NAME.properties" (sidecars=yes), uploaded before NAME,
 *    gives NAME's propertyList ("key=value" lines) and, with the key
 *    sendersFileTransferReference, its reference;
 *  - otherwise the reference comes from the mount's template (reference=).
 */
#ifndef AB_ADDRESSING_H
#define AB_ADDRESSING_H

#include <stddef.h>
#include <time.h>

#include "ab_broker.h"
#include "ab_config_outbox.h"
#include "ab_error.h"

/* The Broker's limits on propertyList (broker-api.md §3.1). */
#define AB_MAX_PROPERTIES 10
#define AB_MAX_PROPERTY_KEY 50
#define AB_MAX_PROPERTY_VALUE 3000
#define AB_MAX_REFERENCE 500
/* A sidecar larger than this is not a sidecar. */
#define AB_MAX_SIDECAR 65536

/* 1 when name matches one of the outbox's temporary-name patterns. */
int ab_is_temp_name(const ab_outbox_cfg *o, const char *name);

/* 1 when name is a sidecar ("X.properties" with X non-empty) on an outbox
 * with sidecars=yes; *base_len then is the length of X. */
int ab_is_sidecar_name(const ab_outbox_cfg *o, const char *name, size_t *base_len);

/* Checks a recipient directory name: 0 and the "0192:<org>" party in out
 * when the mount allows org; -1 with err (ENOENT: not a directory here,
 * EACCES: an organisation the admin did not allow). */
int ab_recipient_dir(const ab_outbox_cfg *o, const char *dir, char out[16], ab_error *err);

/* What a sidecar gives its file. */
typedef struct ab_sidecar {
  ab_property props[AB_MAX_PROPERTIES]; /* key/value point into text */
  size_t n_props;
  const char *reference;                /* NULL unless given */
  char *text;                           /* owned */
} ab_sidecar;

/* Parses sidecar text (len bytes; UTF-8, "key=value" per line, blank lines
 * and lines starting with '#' ignored, keys and values trimmed). Fails with
 * EINVAL and a message naming the line for anything the Broker would
 * refuse: more than 10 properties, a key over 50 or a value over 3000
 * characters, a line without '=', control characters, a reference over
 * 500 characters. */
int ab_sidecar_parse(const char *data, size_t len, ab_sidecar *out, ab_error *err);
void ab_sidecar_free(ab_sidecar *s);

/* Expands the reference template: %u user, %n file name, %t UTC time
 * (20260818T114051Z), %i upload id, %% a percent sign. The result is cut
 * to 500 bytes on a UTF-8 boundary. */
void ab_reference_expand(const char *tmpl, const char *user, const char *name,
                         time_t when, const char *upload_id, char *out, size_t outsz);

#endif
